import { registerSecret } from './leak-guard';

/**
 * The worst provider for redaction: one that quotes the credentials it was sent in every error body. Fakes run every
 * error answer through {@link echoCredentials}, so every contract and integration test that sees an error also checks
 * that no message, log line or CLI output repeats a credential: each echoed value is registered with the leak guard.
 *
 * Written apart from `lambda/providers/redact.ts` on purpose: a fake echoing what the code under test thinks a
 * provider could echo would hide the forms the code forgot.
 */

/** Headers that carry credentials in the providers keyrelay speaks to. */
const CREDENTIAL_HEADERS = ['authorization', 'dd-api-key', 'dd-application-key', 'x-api-key'];

/** The credentials in `headers` as a careless provider would quote them: raw values, and Basic decoded. */
export function echoedCredentials(headers: Headers | Record<string, string | string[] | undefined>): string[] {
  const get = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const v = headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const out: string[] = [];
  for (const name of CREDENTIAL_HEADERS) {
    const value = get(name);
    if (!value) continue;
    const basic = /^Basic (.+)$/i.exec(value);
    out.push(basic?.[1] ? Buffer.from(basic[1], 'base64').toString('utf8') : value);
  }
  return out;
}

/**
 * `body` with a sentence quoting `credentials` appended to every error text in it (`message` strings at any depth,
 * string items of an `errors` list), registering each credential with the leak guard. Codes and other fields stay,
 * so the body still matches the provider's documented error shape.
 */
export function echoCredentials(body: unknown, credentials: string[]): unknown {
  if (credentials.length === 0) return body;
  for (const c of credentials) registerSecret(c);
  const echo = ` (request credentials: ${credentials.join(' | ')})`;
  const walk = (node: unknown, key?: string): unknown => {
    if (typeof node === 'string') return key === 'message' || key === 'errors' ? node + echo : node;
    if (Array.isArray(node)) return node.map((item) => walk(item, key));
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, k)]));
  };
  // A body without any error text (a bare 5xx, or text) gets one, in the most common shape.
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { message: echo.trim() };
  const echoed = walk(body);
  return JSON.stringify(echoed) === JSON.stringify(body) ? { ...body, message: echo.trim() } : echoed;
}

/** A `fetch` whose error answers quote the request's credentials (see {@link echoCredentials}). */
export function echoingFetch(inner: typeof fetch): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    if (res.ok) return res;
    const credentials = echoedCredentials(new Headers(init?.headers));
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = { message: text };
    }
    const headers = new Headers(res.headers);
    headers.delete('content-length');
    headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(echoCredentials(body, credentials)), { status: res.status, statusText: res.statusText, headers });
  };
}
