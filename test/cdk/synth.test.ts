import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleDir } from '../../lib/bundles';

/**
 * The one real synth: the CDK CLI on the example keyrelay.config.json, offline, with CloudFormation validation and
 * cdk-nag AwsSolutions, then cfn-lint on every template; once environment-agnostic (no credentials) and once per
 * region with an account, as `cdk deploy` runs the app when it has credentials (the CLI sets CDK_DEFAULT_ACCOUNT and
 * CDK_DEFAULT_REGION, and `bin/keyrelay.ts` makes them the stacks' env). Everything else about the templates is
 * asserted in test/unit/cdk.
 */

const root = join(import.meta.dirname, '..', '..');
const env = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: '1', CDK_DEFAULT_ACCOUNT: '', CDK_DEFAULT_REGION: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' };
const ACCOUNT = '111111111111';
/** Regions synthesized with an account: the CLI's fallback region and others (the ARNs differ per region). */
const REGIONS = ['us-east-1', 'eu-west-1'] as const;

type Run = { status: number | null; stdout: string; stderr: string };

/** `cdk synth` into `out`; without `region`, environment-agnostic. Runs concurrently with the others. */
function cdkSynth(out: string, region?: string, config?: string): Promise<Run> {
  // The CLI replaces CDK_DEFAULT_REGION with its own region (AWS_REGION here) and keeps a given account.
  const runEnv = region ? { ...env, CDK_DEFAULT_ACCOUNT: ACCOUNT, AWS_REGION: region } : env;
  const args = ['cdk', 'synth', '--quiet', '--output', out, ...(config ? ['-c', `config=${config}`] : [])];
  const child = spawn('npx', args, { cwd: root, env: runEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

type Report = { pluginReports: Array<{ pluginName: string; conclusion: string; violations: unknown[]; suppressedViolations?: Array<{ ruleName: string }> }> };

describe('CLI: cdk synth', () => {
  const work = mkdtempSync(join(tmpdir(), 'keyrelay-synth-'));
  const out = join(work, 'cdk.out');
  const regionOut = (region: string) => join(work, `cdk.${region}.out`);
  let run: Run;
  const regionRuns = new Map<string, Run>();
  /** A config with replicas (docs/replicas.md): stacks in two more regions. */
  const replicated = join(work, 'cdk.replicas.out');
  let replicatedRun: Run;

  beforeAll(async () => {
    const config = join(work, 'replicas.json');
    writeFileSync(config, JSON.stringify({
      defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/reference' },
      keys: { 'payments/reference-api': { rotateEvery: '7d', replicaRegions: ['us-west-2', 'eu-central-1'] }, 'search/reference-api': {} },
      readers: [{ principal: 'arn:aws:iam::222222222222:role/payments-app', keys: ['payments/*'] }],
    }));
    const runs = await Promise.all([cdkSynth(out), ...REGIONS.map((r) => cdkSynth(regionOut(r), r)), cdkSynth(replicated, 'eu-west-1', config)]);
    run = runs[0]!;
    for (const [i, r] of REGIONS.entries()) regionRuns.set(r, runs[i + 1]!);
    replicatedRun = runs[REGIONS.length + 1]!;
  }, 480_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('synthesizes the example config with zero unacknowledged cdk-nag findings', () => {
    // Assess
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8')) as Report;
    const nag = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
    expect(nag?.conclusion).toBe('success');
    expect(nag?.violations).toEqual([]);
    // Every acknowledgment is deliberate: a new suppressed rule needs a reason in lib/engine/ (acknowledgeWildcard) and a look here.
    expect(new Set(nag?.suppressedViolations?.map((v) => v.ruleName.replace(/\[.*$/, '')))).toEqual(new Set(['AwsSolutions-IAM5']));
  });

  it.each(REGIONS)('synthesizes with an account and region %s (as cdk deploy does) with zero unacknowledged cdk-nag findings', (region) => {
    // Prepare
    const regionRun = regionRuns.get(region)!;
    const dir = regionOut(region);
    // Assess
    expect(regionRun.status, regionRun.stderr).toBe(0);
    expect(regionRun.stderr).not.toContain('Synthesis finished with errors');
    const report = JSON.parse(readFileSync(join(dir, 'validation-report.json'), 'utf8')) as Report;
    const nag = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
    expect(nag?.conclusion).toBe('success');
    expect(nag?.violations).toEqual([]);
    // The stacks really are bound to the account and region: their ARNs are literal, so the acknowledgments had to be.
    const engine = readFileSync(join(dir, 'KeyRelay.template.json'), 'utf8');
    expect(engine).toContain(`arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:*`);
    expect(nag?.suppressedViolations?.map((v) => v.ruleName)).toContain(`AwsSolutions-IAM5[Resource::arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:*]`);
  });

  it('synthesizes a config with replicas: a stack per replica region, zero unacknowledged cdk-nag findings, zero cfn-lint errors', () => {
    // Assess
    expect(replicatedRun.status, replicatedRun.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(replicated, 'validation-report.json'), 'utf8')) as Report;
    const nag = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
    expect(nag?.violations).toEqual([]);
    const templates = readdirSync(replicated).filter((f) => f.endsWith('.template.json')).sort();
    expect(templates).toEqual(['KeyRelay-Keys0.template.json', 'KeyRelay-Replica-eu-central-1.template.json', 'KeyRelay-Replica-us-west-2.template.json', 'KeyRelay.template.json']);
    const lint = spawnSync('cfn-lint', ['--format', 'parseable', ...templates.map((t) => join(replicated, t))], { encoding: 'utf8' });
    expect(lint.error).toBeUndefined();
    expect(lint.stdout.split('\n').filter((l) => /:E\d{4}:/.test(l))).toEqual([]);
  });

  it('passes cfn-lint with zero errors on every template', () => {
    // Prepare
    const templates = readdirSync(out).filter((f) => f.endsWith('.template.json'));
    expect(templates.sort()).toEqual(['KeyRelay-Keys0.template.json', 'KeyRelay.template.json']);
    // Act: one cfn-lint process for all templates (its start-up dominates).
    const lint = spawnSync('cfn-lint', ['--format', 'parseable', ...templates.map((t) => join(out, t))], { encoding: 'utf8' });
    // Assess: cfn-lint ran (a missing binary gives status null, which `& 2` would read as "no errors"), and exit code
    // bit 2, errors, is clear (4 warnings, 8 informational).
    expect(lint.error, 'cfn-lint must be on PATH: pip install "cfn-lint==1.51.*"').toBeUndefined();
    expect(lint.status).not.toBeNull();
    expect(lint.status! & 2, lint.stdout).toBe(0);
    expect(lint.stdout.split('\n').filter((l) => /:E\d{4}:/.test(l))).toEqual([]);
  });

  it('deploys the bundles of lib/bundles.ts as built, each beside the manifest of the declared keys: AWS SDK inside, minified, no source map', () => {
    // Prepare
    const assets = readdirSync(out).filter((f) => f.startsWith('asset.'));
    // Assess
    expect(assets).toHaveLength(2);
    const deployed = assets.map((a) => {
      expect(readdirSync(join(out, a)).sort()).toEqual(['index.js', 'manifest.json']);
      expect(Object.keys((JSON.parse(readFileSync(join(out, a, 'manifest.json'), 'utf8')) as { keys: object }).keys).length).toBeGreaterThan(0);
      return readFileSync(join(out, a, 'index.js'), 'utf8');
    });
    // Byte for byte the files the local stack runs (the synth rebuilt them; the build is deterministic).
    expect(new Set(deployed)).toEqual(new Set((['rotation', 'revoker'] as const).map((n) => readFileSync(join(bundleDir(n), 'index.js'), 'utf8'))));
    for (const code of deployed) {
      // The clients are inside (only the SDK's optional CRT signer stays a guarded require, as in node_modules).
      expect(code).not.toMatch(/require\("@aws-sdk\/client-/);
      expect(code).toContain('SecretsManagerClient');
      expect(code).not.toContain('sourceMappingURL');
      // Minified: about 1.2 MB with the SDK clients, not the many megabytes of the unminified sources.
      expect(code.length).toBeLessThan(2_000_000);
    }
  });

  it('fails on a bad config, naming the key and the field', () => {
    // Prepare
    const bad = join(work, 'bad.json');
    writeFileSync(bad, JSON.stringify({ keys: { 'payments/stripe': { provider: { type: 'reference' }, adminSecret: 'a', gracePeriod: '40d' } } }));
    // Act: the app itself (what `cdk synth` runs), without the CLI's start-up.
    const failed = spawnSync('npx', ['tsx', 'bin/keyrelay.ts'], {
      cwd: root,
      env: { ...env, KEYRELAY_CONFIG: bad, CDK_OUTDIR: join(work, 'bad.out') },
      encoding: 'utf8',
    });
    // Assess
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("keyrelay: key 'payments/stripe': gracePeriod must be shorter than rotateEvery (got 40 days vs 30 days)");
    expect(failed.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
