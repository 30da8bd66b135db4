import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../../lib/config';
import type { Deployment, PolicyDocument } from './policies';
import type { TargetEnv } from './templates';

/**
 * Synthesized deployments kept on disk (`node_modules/.cache/keyrelay-iam/`), so a local stack starts without
 * loading aws-cdk-lib and synthesizing again: every test file starts one. The key is the config, the target and
 * every source the templates could depend on (`lib/`, `lambda/`, cdk.json, the lockfile) or that reads them
 * (`local/iam/`, `local/function-settings.ts`): any change synthesizes anew.
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const DIR = join(ROOT, 'node_modules', '.cache', 'keyrelay-iam');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

let sources: string | undefined;
/** A digest of everything the synthesized templates may depend on, once per process. */
function sourcesDigest(): string {
  if (sources === undefined) {
    const hash = createHash('sha256');
    // local/iam and the function settings read the templates: what they keep changes with them.
    const readers = [...sourceFiles('local/iam'), join(ROOT, 'local', 'function-settings.ts')];
    for (const file of [...sourceFiles('lib'), ...sourceFiles('lambda'), ...readers, join(ROOT, 'cdk.json'), join(ROOT, 'package-lock.json')]) {
      hash.update(file).update(readFileSync(file));
    }
    sources = hash.digest('hex');
  }
  return sources;
}

type Stored = Omit<Deployment, 'secretPolicies'> & { secretPolicies: Array<[string, PolicyDocument]> };

/** The deployment for `config` in `env`: from the cache, or `synthesize()` (then cached). */
export async function cachedDeployment(config: ResolvedConfig, env: TargetEnv, synthesize: () => Promise<Deployment>): Promise<Deployment> {
  const key = createHash('sha256').update(sourcesDigest()).update(JSON.stringify([config, env])).digest('hex');
  const file = join(DIR, `${key}.json`);
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Stored;
    return { ...stored, secretPolicies: new Map(stored.secretPolicies) };
  } catch {
    // Not cached yet (or unreadable): synthesize.
  }
  const deployment = await synthesize();
  const stored: Stored = { ...deployment, secretPolicies: [...deployment.secretPolicies] };
  mkdirSync(DIR, { recursive: true });
  // Written aside and renamed: test files start stacks in parallel.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(stored));
  renameSync(temp, file);
  return deployment;
}
