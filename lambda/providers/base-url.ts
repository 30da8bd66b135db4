import { providerDefinition } from './index';

/**
 * Where a provider's `baseUrl` may point: the admin credential goes there, so this is the line between the deploy and
 * anyone who can write a setting (docs/security.md). `https:` only; no credentials, query or fragment in the URL; no
 * IP literal (169.254.169.254, 127.1, [::1]) and no `localhost`; and the host must be one of the provider's documented
 * API hosts (`apiHosts` of its adapter), or, for a provider whose service the config names (generic-http), any
 * host the deploy's config names. `allowedOrigins` lists exact origins a deploy allows beyond that: the local stack's
 * loopback reference provider, nothing on AWS.
 * @returns what is wrong, or undefined when the setting is allowed (or absent: the adapter's default host).
 */
export function baseUrlProblem(type: string, settings: Readonly<Record<string, string>>, allowedOrigins: readonly string[] = []): string | undefined {
  const raw = settings.baseUrl;
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `baseUrl '${raw}' is not a URL`;
  }
  if (allowedOrigins.includes(url.origin) && !url.username && !url.password) return undefined;
  if (url.protocol !== 'https:') return `baseUrl '${url.origin}' must use https:`;
  if (url.username || url.password) return 'baseUrl must not carry credentials (user:password@); the admin secret holds them';
  if (url.search || url.hash) return `baseUrl '${url.origin}${url.pathname}' must not carry a query or fragment`;
  const host = url.hostname.toLowerCase();
  if (/^\d+(\.\d+){3}$/.test(host) || host.startsWith('[')) return `baseUrl host '${host}' is an IP address; name the provider's API host`;
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.')) return `baseUrl host '${host}' is not a public API host`;
  const allowed = providerDefinition(type).apiHosts;
  if (allowed === 'config' || allowed.includes(host)) return undefined;
  return (
    `baseUrl host '${host}' is not one of provider '${type}''s documented API hosts` +
    (allowed.length > 0 ? ` (${allowed.join(', ')})` : ' (it has none: leave baseUrl out)')
  );
}
