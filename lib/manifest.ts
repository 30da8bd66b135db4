import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors';
import { MANIFEST_FILE, MANIFEST_VERSION, manifestJson, type Manifest } from '../core/manifest';
import type { KeySettings } from '../core/state';
import { baseUrlProblem } from '../lambda/providers/base-url';
import { keySettings, type ResolvedKey } from './config';

/**
 * Builds the deploy's manifest (`core/manifest.ts`) from resolved keys: one code path for the CDK app and the
 * local stack, so what the local functions trust is what a deploy ships.
 * @param revoker name of the revoker function serving these keys (also their `keyrelay:revoker` tag).
 * @param allowedOrigins exact origins a `baseUrl` may name beyond the providers' documented hosts (the local stack's
 *   loopback reference provider; nothing on AWS). @default []
 * @throws ConfigError naming the key whose `baseUrl` breaks the rules (`lambda/providers/base-url.ts`).
 */
export function buildManifest(keys: readonly ResolvedKey[], revoker: string, allowedOrigins: readonly string[] = []): Manifest {
  const manifest: Manifest = { version: MANIFEST_VERSION, keys: new Map(), allowedOrigins: [...allowedOrigins] };
  for (const key of keys) addToManifest(manifest, key, revoker);
  return manifest;
}

/** Adds (or replaces) one key. @throws ConfigError as {@link buildManifest}. */
export function addToManifest(manifest: Manifest, key: ResolvedKey, revoker: string): void {
  const settings = keySettings(key, { revoker });
  checkManifestKey(key.name, settings, manifest.allowedOrigins);
  manifest.keys.set(key.name, settings);
}

/**
 * @throws ConfigError when `key` is not declared in `manifest` with the same settings (a key stack built for an engine
 * that does not ship it: its functions would refuse the secret).
 */
export function mirrorsManifest(manifest: Manifest, key: ResolvedKey, revoker: string): void {
  const declared = manifest.keys.get(key.name);
  if (!declared || JSON.stringify(declared) !== JSON.stringify(keySettings(key, { revoker }))) {
    throw new ConfigError(
      `key '${key.name}' is not declared in the engine's manifest with these settings: pass it in KeyRelayEngine's \`keys\` ` +
        '(buildKeyRelay does), or the deployed functions refuse its secret',
    );
  }
}

/**
 * Checks one key's settings against the deploy-wide rules (base URLs, `lambda/providers/base-url.ts`).
 * @throws ConfigError naming the key.
 */
export function checkManifestKey(name: string, settings: KeySettings, allowedOrigins: readonly string[]): void {
  const problem = baseUrlProblem(settings.provider, settings.providerSettings, allowedOrigins);
  if (problem) throw new ConfigError(`key '${name}': provider '${settings.provider}': ${problem}`);
}

/**
 * Stages a function's code asset: its prebuilt bundle (`index.js` of `lib/bundles.ts`) plus `manifest.json`, in
 * `outDir`. The asset hash therefore changes with every key change, and the functions are redeployed with it.
 * @returns `outDir`.
 */
export function stageFunctionCode(bundleDir: string, manifest: Manifest, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  // The bundle file alone: a build running beside this synth may have a temporary file in its directory.
  copyFileSync(join(bundleDir, 'index.js'), join(outDir, 'index.js'));
  writeFileSync(join(outDir, MANIFEST_FILE), manifestJson(manifest));
  return outDir;
}
