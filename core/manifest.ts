import * as z from 'zod/mini';
import './zod-mini';
import { ConfigError, KeyRelayError } from './errors';
import type { KeySettings, ManagedSecret } from './state';

/**
 * The deploy's list of the keys it manages: secret name -> settings (provider type and settings, admin secret,
 * lifecycle). Generated from `keyrelay.config.json` at synth (`lib/manifest.ts`) and shipped inside both functions'
 * code asset as {@link MANIFEST_FILE}, next to `index.js`; the local stack builds the same one from the config it
 * runs. Only a deploy writes it. The functions act on a secret only when the manifest names it, take its settings
 * from here, and treat the secret's `keyrelay:*` tags as a readable mirror (docs/security.md).
 */
export interface Manifest {
  version: typeof MANIFEST_VERSION;
  /** Settings by secret name (a Map: a key named `__proto__` is a key like any other). */
  keys: Map<string, KeySettings>;
  /** Exact origins a `baseUrl` may name beyond the providers' documented hosts (the local loopback provider). */
  allowedOrigins: string[];
}

/** File name of the manifest in each function's code asset. */
export const MANIFEST_FILE = 'manifest.json';
/** Format version of {@link Manifest}. */
export const MANIFEST_VERSION = 1;

// zod/mini: this is parsed at every cold start (docs/benchmarks.md).
const seconds = z.int().check(z.minimum(0));
const name = z.string().check(z.minLength(1));
const KeySettingsSchema: z.ZodMiniType<KeySettings> = z.strictObject({
  provider: name,
  providerSettings: z.record(z.string(), z.string()),
  adminSecret: z.optional(name),
  gracePeriod: seconds,
  rotateEvery: z.optional(seconds),
  usageQuiet: z.optional(seconds),
  usageMaxHold: z.optional(seconds),
  observation: z.optional(seconds),
  revoker: z.optional(name),
  replicaRegions: z.optional(z.array(name)),
  canaryEvery: z.optional(seconds),
  autoEmergency: z.optional(z.literal(false)),
});
const ManifestSchema = z.strictObject({
  version: z.literal(MANIFEST_VERSION),
  // Not z.record: it rebuilds the object by assignment, which turns a key named `__proto__` into a prototype.
  keys: z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object of keys'),
  allowedOrigins: z.array(z.string()),
});

/** The manifest as JSON (what the asset holds). */
export function manifestJson(manifest: Manifest): string {
  const keys = [...manifest.keys].sort(([a], [b]) => a.localeCompare(b));
  // defineProperty: a plain assignment of `__proto__` would set the prototype instead of a key.
  const out: Record<string, KeySettings> = {};
  for (const [name, settings] of keys) Object.defineProperty(out, name, { value: settings, enumerable: true });
  return `${JSON.stringify({ version: manifest.version, keys: out, allowedOrigins: manifest.allowedOrigins }, null, 1)}\n`;
}

/**
 * Parses a manifest. Its base URLs were checked when it was built (`lib/manifest.ts`, at synth and by the local stack),
 * and the functions never load the provider adapters at init to check them again (cold start).
 * @throws ConfigError naming what is wrong and where it came from (`source`).
 */
export function parseManifest(text: string, source: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`manifest '${source}' is not JSON: redeploy keyrelay`, { cause: err });
  }
  const top = ManifestSchema.safeParse(raw);
  if (!top.success) throw new ConfigError(`manifest '${source}' is invalid (${top.error.issues[0]?.message ?? '?'}): redeploy keyrelay`);
  const keys = new Map<string, KeySettings>();
  for (const [name, value] of Object.entries(top.data.keys)) {
    const settings = KeySettingsSchema.safeParse(value);
    if (!settings.success) throw new ConfigError(`manifest '${source}': key '${name}' is invalid (${settings.error.issues[0]?.message ?? '?'})`);
    keys.set(name, settings.data);
  }
  return { version: MANIFEST_VERSION, keys, allowedOrigins: top.data.allowedOrigins };
}

/** The functions were asked to act on a secret their deploy did not declare (or in another account or region). */
export class UndeclaredSecretError extends KeyRelayError {
  constructor(message: string) {
    super('SecretNotDeclared', message);
  }
}

/** Where the functions run, to refuse secrets of other accounts and regions. */
export interface Home {
  account?: string;
  region?: string;
}

/** Settings fields whose tag mirror differs from the manifest (empty when they agree). */
export function mirrorDifferences(declared: KeySettings, tagged: KeySettings): string[] {
  const fields = Object.keys(KEY_SETTINGS_FIELDS) as Array<keyof KeySettings>;
  const same = (a: unknown, b: unknown) =>
    JSON.stringify(a && typeof a === 'object' ? Object.entries(a).sort() : a) === JSON.stringify(b && typeof b === 'object' ? Object.entries(b).sort() : b);
  return fields.filter((f) => !same(declared[f], tagged[f]));
}
const KEY_SETTINGS_FIELDS: Record<keyof KeySettings, true> = {
  provider: true, providerSettings: true, adminSecret: true, gracePeriod: true, rotateEvery: true,
  usageQuiet: true, usageMaxHold: true, observation: true, revoker: true, replicaRegions: true, canaryEvery: true,
  autoEmergency: true,
};

/** What the functions trust about a secret: the deploy's manifest, never its tags. */
export interface SecretTrust {
  /**
   * The secret with its settings replaced by the manifest's. Tags that differ are reported (`onMismatch`) and ignored.
   * @throws UndeclaredSecretError when the manifest does not name the secret, or it lives in another account/region.
   */
  settle(secret: ManagedSecret): ManagedSecret;
  /** Whether the manifest names a secret. */
  declares(name: string): boolean;
}

/**
 * The {@link SecretTrust} of a manifest. `onMismatch` raises the alarm (metric `SettingsMismatch` and an error log
 * line) for a declared secret whose tags differ, and for an undeclared secret wearing keyrelay's tags (fields
 * `['declared']`).
 */
export function manifestTrust(manifest: Manifest, home: Home, onMismatch: (secret: string, fields: string[]) => void): SecretTrust {
  return {
    declares: (name) => manifest.keys.has(name),
    settle(secret) {
      const arn = /^arn:[^:]+:secretsmanager:([^:]*):([^:]*):secret:/.exec(secret.arn);
      if (!arn || (home.region && arn[1] !== home.region) || (home.account && arn[2] !== home.account)) {
        throw new UndeclaredSecretError(
          `secret '${secret.arn}' is not in this deployment's account and region (${home.account ?? '?'}/${home.region ?? '?'}); keyrelay acts only on its own`,
        );
      }
      const declared = manifest.keys.get(secret.name);
      if (!declared) {
        onMismatch(secret.name, ['declared']);
        throw new UndeclaredSecretError(
          `secret '${secret.name}' wears keyrelay's tags but this deployment does not declare it; nothing is done with it. ` +
            'If it is yours, add it to keyrelay.config.json and deploy; otherwise find who created it',
        );
      }
      const differs = mirrorDifferences(declared, secret.settings);
      if (differs.length > 0) onMismatch(secret.name, differs);
      return { ...secret, settings: declared };
    },
  };
}
