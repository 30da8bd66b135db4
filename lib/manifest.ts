import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkManifestKey, MANIFEST_FILE, MANIFEST_VERSION, manifestJson, type Manifest } from '../lambda/core/manifest';
import { keySettings, type ResolvedKey } from './config';

/**
 * Builds the deploy's manifest (`lambda/core/manifest.ts`) from resolved keys: one code path for the CDK app and the
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
 * Stages a function's code asset: its prebuilt bundle directory (`lib/bundles.ts`) plus `manifest.json`, in
 * `outDir`. The asset hash therefore changes with every key change, and the functions are redeployed with it.
 * @returns `outDir`.
 */
export function stageFunctionCode(bundleDir: string, manifest: Manifest, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  cpSync(bundleDir, outDir, { recursive: true });
  writeFileSync(join(outDir, MANIFEST_FILE), manifestJson(manifest));
  return outDir;
}
