import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `cdk synth` at 10, 100 and 1,000 keys: wall time of the real CLI (bundling, CloudFormation validation, cdk-nag),
 * stacks, resources per stack, per key and in the engine. Run: `npx tsx bench/synth.ts [sizes...]`.
 */

const root = join(import.meta.dirname, '..');
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const env = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: '1' };

function config(keys: number, withReaders: boolean): object {
  const entries: Record<string, object> = {};
  for (let i = 0; i < keys; i++) entries[`team${i % 40}/service-${i}`] = { rotateEvery: ['7d', '30d', '1d'][i % 3], gracePeriod: '12h' };
  return {
    defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/reference' },
    keys: entries,
    alarms: { email: ['oncall@example.com'] },
    ...(withReaders ? { readers: [{ principal: '111111111111', keys: ['team1/*'] }] } : {}),
    // About 170 keys per shard on average, under 450 resources even for the fullest shard.
    stacks: { shards: Math.max(1, Math.ceil(keys / 170)) },
  };
}

function resourcesOf(template: string): Record<string, number> {
  const json = JSON.parse(readFileSync(template, 'utf8')) as { Resources: Record<string, { Type: string }> };
  const out: Record<string, number> = {};
  for (const r of Object.values(json.Resources)) out[r.Type] = (out[r.Type] ?? 0) + 1;
  return out;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

const work = mkdtempSync(join(tmpdir(), 'keyrelay-bench-'));
try {
  for (const keys of sizes.length > 0 ? sizes : [10, 100, 1000]) {
    const path = join(work, `config-${keys}.json`);
    writeFileSync(path, JSON.stringify(config(keys, true)));
    const out = join(work, `out-${keys}`);
    const started = performance.now();
    const run = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', out, '-c', `config=${path}`], { cwd: root, env, encoding: 'utf8' });
    const seconds = (performance.now() - started) / 1000;
    if (run.status !== 0) throw new Error(`cdk synth failed for ${keys} keys:\n${run.stderr}`);
    const templates = readdirSync(out).filter((f) => f.endsWith('.template.json'));
    const perStack = templates.map((t) => ({ stack: t.replace('.template.json', ''), counts: resourcesOf(join(out, t)) }));
    const engine = perStack.find((s) => s.stack === 'KeyRelay')!;
    const keyStacks = perStack.filter((s) => s !== engine);
    const secrets = keyStacks.reduce((a, s) => a + (s.counts['AWS::SecretsManager::Secret'] ?? 0), 0);
    const keyResources = keyStacks.reduce((a, s) => a + total(s.counts) - (s.counts['AWS::CDK::Metadata'] ?? 0), 0);
    console.log(
      JSON.stringify({
        keys,
        synthSeconds: Number(seconds.toFixed(1)),
        stacks: templates.length,
        engineResources: total(engine.counts) - (engine.counts['AWS::CDK::Metadata'] ?? 0),
        resourcesPerKey: Number((keyResources / secrets).toFixed(2)),
        largestKeyStack: Math.max(...keyStacks.map((s) => total(s.counts))),
        keyStackSizes: keyStacks.map((s) => total(s.counts)),
      }),
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
