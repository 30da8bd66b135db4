import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordedCall } from './enforcer';
import { LOCAL_REGION } from '../stack';

/**
 * `npm run record:iam-calls [-- <vitest filters> | --from FILE]`: runs the integration suite (default `test/integration`) with the
 * local IAM recording every authorization it judges (`KEYRELAY_IAM_RECORD`), keeps the allowed calls of the
 * principals whose policies keyrelay writes (the function roles, the scheduler role, on-call, and the services
 * invoking the functions), makes them independent of the run (random names, key ids, versions, tag values) and
 * writes them, deduplicated and sorted, to the call-replay fixture `test/cdk/fixtures/iam-calls.json`.
 */

/** The fixture the call-replay test (test/cdk/iam-replay.test.ts) reads. */
export interface CallFixture {
  about: string;
  /** Admin credential secrets the calls read: the replay's config names them, as the recording's configs did. */
  adminSecrets: string[];
  /** Regions of replicas the calls reached (docs/replicas.md): the replay's config replicates to them. */
  replicaRegions: string[];
  calls: Array<Omit<RecordedCall, 'result'>>;
}

const KEPT = new Set(['rotation', 'revoker', 'scheduler', 'oncall', 'secretsmanager.amazonaws.com', 'scheduler.amazonaws.com', 'events.amazonaws.com']);
const FIXTURE = new URL('../../test/cdk/fixtures/iam-calls.json', import.meta.url);

/** A secret name or ARN without the run's random parts: `uniqueName`'s 8 hex digits, the ARN's 6 characters. */
function stable(text: string): string {
  return text
    .replace(/-[0-9a-f]{8}(?=-[A-Za-z0-9]{6}$|$|\b)/g, '-00000000')
    .replace(/(:secret:[^:]+)-[A-Za-z0-9]{6}$/, '$1-AAAAAA')
    .replace(/keyrelay:key:[\w-]+/g, 'keyrelay:key:KEY')
    .replace(/\/kr-[\w-]+$/, '/kr-SCHEDULE');
}

/** Tags whose values the policies read: the deployment a secret belongs to, and the managed marker. */
const POLICY_TAGS = new Set(['aws:ResourceTag/keyrelay:revoker', 'aws:ResourceTag/keyrelay:managed']);

/**
 * The call without what differs from run to run; undefined for one the fixture does not keep. A managed secret
 * (tagged with a revoker) is judged by its tags, not its name: all of them become `managed-key`.
 */
function normalize(call: RecordedCall): Omit<RecordedCall, 'result'> | undefined {
  if (call.result !== 'Allowed' || !KEPT.has(call.principal)) return undefined;
  const managed = call.context['aws:ResourceTag/keyrelay:revoker'] !== undefined;
  const name = (arn: string) => (managed ? arn.replace(/:secret:.+$/, ':secret:managed-key-AAAAAA') : stable(arn));
  const context: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(call.context)) {
    // Key records and the state notes (current key, canary verdict, last automatic emergency): their values are
    // timestamps and ids no policy reads, and whether a secret has them yet depends on what ran before.
    if (/^aws:ResourceTag\/keyrelay:(key:|current$|canary$|last-auto-emergency$)/.test(key)) continue;
    const k = stable(key);
    if (key === 'secretsmanager:VersionId') context[k] = 'VERSION';
    else if (key === 'secretsmanager:SecretId') context[k] = name(String(value));
    else if (/^aws:(Request|Resource)Tag\//.test(key) && !POLICY_TAGS.has(key)) context[k] = 'VALUE';
    else context[k] = Array.isArray(value) ? [...new Set(value.map(stable))].sort() : stable(value);
  }
  const sorted = Object.fromEntries(Object.entries(context).sort(([a], [b]) => a.localeCompare(b)));
  return { principal: call.principal, action: call.action, resource: name(call.resource), context: sorted };
}

function main(): number {
  const dir = mkdtempSync(join(tmpdir(), 'keyrelay-iam-'));
  const args = process.argv.slice(2);
  // `--from FILE`: a recording made already (KEYRELAY_IAM_RECORD=FILE during any run), instead of running the tests.
  const from = args[0] === '--from' ? args[1] : undefined;
  const file = from ?? join(dir, 'calls.jsonl');
  let status: number | null = 0;
  if (!from) {
    writeFileSync(file, '');
    const run = spawnSync('npx', ['vitest', 'run', ...(args.length > 0 ? args : ['test/integration'])], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, KEYRELAY_IAM_RECORD: file },
    });
    status = run.status;
  }
  const seen = new Map<string, Omit<RecordedCall, 'result'>>();
  const adminSecrets = new Set<string>();
  const replicaRegions = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const call = normalize(JSON.parse(line) as RecordedCall);
    if (!call) continue;
    const admin = /:secret:(keyrelay\/admin\/[^:]+)-AAAAAA$/.exec(call.resource)?.[1];
    if (admin && call.context['aws:ResourceTag/keyrelay:revoker'] === undefined) adminSecrets.add(admin);
    const region = /^arn:aws:secretsmanager:([^:]+):/.exec(call.resource)?.[1];
    if (region && region !== LOCAL_REGION) replicaRegions.add(region);
    seen.set(JSON.stringify(call), call);
  }
  rmSync(dir, { recursive: true, force: true });
  const fixture: CallFixture = {
    about: 'Every AWS call keyrelay made in the integration suite, as the local IAM judged it. Regenerate: npm run record:iam-calls',
    adminSecrets: [...adminSecrets].sort(),
    replicaRegions: [...replicaRegions].sort(),
    calls: [...seen.keys()].sort().map((k) => seen.get(k) as Omit<RecordedCall, 'result'>),
  };
  writeFileSync(FIXTURE, `${JSON.stringify(fixture, null, 1)}\n`);
  process.stdout.write(`record-iam-calls: ${fixture.calls.length} distinct calls written to test/cdk/fixtures/iam-calls.json\n`);
  if (status === 0) return 0;
  // The calls made are real either way; a failed test may have stopped before some.
  process.stderr.write(`record-iam-calls: the tests failed (exit ${status ?? 'signal'}): the fixture may lack the calls of what failed; review its diff\n`);
  return 1;
}

process.exitCode = main();
