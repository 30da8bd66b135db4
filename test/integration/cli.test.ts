import { spawn, spawnSync } from 'node:child_process';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/errors';
import { parseSecretValue } from '../../core/secret-value';
import { leakedSecrets, registerSecret } from '../support/leak-guard';
import type { FixedPrincipal } from '../../local/iam/principals';
import { runCli, type CliRun } from '../support/cli';
import { FAST_LOCAL_STACK, useLocalStack } from '../support/local-stack';

// Quiet functions: their logs are not what these tests read.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const local = useLocalStack(FAST_LOCAL_STACK);

/** util-linux `script` gives a child a pseudo-terminal. */
const hasScript = spawnSync('script', ['--version']).status === 0;

/** Everything any CLI run of this file printed, scanned at the end. */
const everything: string[] = [];

/** The CLI as on-call (the deployed on-call policy, judged by the local endpoint), or as another principal. */
async function cli(argv: string[], stdin = '', as: FixedPrincipal = 'oncall'): Promise<CliRun> {
  const run = await runCli(local.stack.endpoint, argv, { stdin, as });
  everything.push(run.stdout, run.stderr);
  return run;
}

async function currentApiKey(name: string): Promise<string> {
  const got = await local.sm().send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
  return parseSecretValue(got.SecretString, name).apiKey;
}

async function whoamiStatus(apiKey: string): Promise<number> {
  const res = await fetch(`${local.stack.providerUrl}/v1/whoami`, { headers: { authorization: `Bearer ${apiKey}` } });
  await res.arrayBuffer();
  return res.status;
}

function outage(on: boolean): void {
  if (on) local.stack.provider.faults.set({ outage: '503', match: { path: '/v1/keys' } });
  else local.stack.provider.faults.clear();
}

describe('CLI against the local stack', () => {
  it("status: a fresh key is ok (exit 0), --json parses, and the noted fingerprint is the value's (--fingerprints)", async () => {
    // Prepare
    const name = await local.addKey('cli-status');

    // Act
    const plain = await cli(['status', name, '--json']);
    const oncallFingerprints = await cli(['status', name, '--json', '--fingerprints']);
    const withFingerprints = await cli(['status', name, '--json', '--fingerprints'], '', 'admin');

    // Assess
    expect(plain.code).toBe(EXIT.ok);
    // on-call never reads a live key: --fingerprints needs a read grant on top of the on-call policy
    expect(oncallFingerprints.code).toBe(EXIT.attention);
    expect(JSON.parse(oncallFingerprints.stdout).keys[0].current.error).toMatch(/access denied/);
    const report = JSON.parse(plain.stdout);
    expect(report.keys[0]).toMatchObject({ name, provider: 'reference', attention: [] });
    expect(withFingerprints.code).toBe(EXIT.ok);
    const read = JSON.parse(withFingerprints.stdout).keys[0].current.fingerprint;
    expect(read).toMatch(/^sha256:[0-9a-f]{12}$/);
    // Without reading any value, status shows the fingerprint finishSecret noted: it must be the value's.
    expect(report.keys[0].current.fingerprint).toBe(read);
  });

  it('rotate: moves AWSCURRENT and reports each step; an unknown key is refused, pointing at keyrelay status', async () => {
    // Prepare
    const name = await local.addKey('cli-rotate');
    const before = await currentApiKey(name);

    // Act
    const ok = await cli(['rotate', name]);
    const unknown = await cli(['rotate', 'cli-no-such-key']);

    // Assess
    expect(ok.code).toBe(EXIT.ok);
    expect(ok.stderr).toContain(`${name}: new key is AWSCURRENT`);
    expect(await currentApiKey(name)).not.toBe(before);
    // As on AWS: on-call may describe only this deployment's secrets (a tag condition), so an unknown name is refused
    // before existence is checked; the hint must say so instead of blaming the caller's identity alone.
    expect(unknown.code).toBe(EXIT.failed);
    expect(unknown.stderr).toContain("error [AccessDenied]: key 'cli-no-such-key'");
    expect(unknown.stderr).toContain('`keyrelay status` lists');
  });

  it('rotate --emergency: the typed name confirms; old key answers 401, the timeline is printed, history says by whom (the proven caller)', async () => {
    // Prepare
    const name = await local.addKey('cli-emergency');
    const old = await currentApiKey(name);
    expect(await whoamiStatus(old)).toBe(200);

    // Act
    const run = await cli(['--operator', 'Ana María <ana@example.com>', 'rotate', '--emergency', name, '--reason', 'leaked in a log'], `${name}\n`);
    const history = await cli(['history', name]);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/T\+\d+\.\d s {2}new key current/);
    expect(run.stdout).toMatch(/T\+\d+\.\d s {2}old key revoked \(.+\)/);
    expect(await whoamiStatus(old)).toBe(401);
    expect(await whoamiStatus(await currentApiKey(name))).toBe(200);
    // The revoker records the caller STS proves (the CLI runs as the on-call principal), not --operator.
    expect(history.stdout).toMatch(/revoked +key \S+: revoked \(emergency; by arn:aws:iam::\d{12}:user\/keyrelay-oncall\)/);
  });

  it('rotate --emergency: refused without confirmation (end of input, wrong name), nothing changes', async () => {
    // Prepare
    const name = await local.addKey('cli-refuse');
    const old = await currentApiKey(name);

    // Act
    const eof = await cli(['rotate', '--emergency', name, '--reason', 'x'], '');
    const wrong = await cli(['rotate', '--emergency', name, '--reason', 'x'], 'something-else\n');

    // Assess
    expect([eof.code, wrong.code]).toEqual([EXIT.refused, EXIT.refused]);
    expect(await currentApiKey(name)).toBe(old);
    expect(await whoamiStatus(old)).toBe(200);
  });

  it('stuck rotation: status flags it (exit 3), cancel abandons it, status is ok again', async () => {
    // Prepare
    const name = await local.addKey('cli-stuck');
    outage(true);
    const rotate = await cli(['rotate', name, '--timeout', '2s', '--json']);
    outage(false);

    // Act
    const stuck = await cli(['status', name, '--json']);
    const cancel = await cli(['cancel', name, '--reason', 'provider 503']);
    const after = await cli(['status', name]);

    // Assess
    expect(rotate.code).toBe(EXIT.failed);
    expect(JSON.parse(rotate.stdout).rotated[0].error.code).toBe('RotationTimeout');
    expect(stuck.code).toBe(EXIT.attention);
    expect(JSON.parse(stuck.stdout).keys[0].attention.map((a: { code: string }) => a.code)).toContain('rotation-pending');
    expect(cancel.code).toBe(EXIT.ok);
    expect(cancel.stdout).toContain('AWSPENDING removed');
    expect(after.code).toBe(EXIT.ok);
  });

  it('provider down: plan exits 3 naming the problem; revoke fails with the revoker code', async () => {
    // Prepare
    const name = await local.addKey('cli-down');
    outage(true);

    // Act
    const plan = await cli(['plan', name, '--json']);
    const revoke = await cli(['revoke', name, '--key-id', 'k-nope', '--reason', 'test', '--yes']);
    outage(false);

    // Assess
    expect(plan.code).toBe(EXIT.attention);
    expect(JSON.parse(plan.stdout).plan[0].problems.join(' ')).toMatch(/ProviderUnavailable|503|unavailable/i);
    expect(revoke.code).toBe(EXIT.failed);
    expect(revoke.stderr).toMatch(/error \[\w+\]: revoker 'keyrelay-revoker' failed revokeNow/);
  });

  it('freeze: visible in status, rotate refused; unfreeze resumes', async () => {
    // Prepare
    const name = await local.addKey('cli-freeze');

    // Act
    const freeze = await cli(['freeze', name, '--reason', 'INC-1 provider outage']);
    const status = await cli(['status', name]);
    const rotate = await cli(['rotate', name]);
    const unfreeze = await cli(['unfreeze', name]);
    const again = await cli(['status', name]);

    // Assess
    expect(freeze.code).toBe(EXIT.ok);
    expect(status.code).toBe(EXIT.attention);
    expect(status.stdout).toContain('rotation frozen:');
    // The operator is the caller identity (moto's STS), not $USER
    expect(status.stdout).toContain('user/moto: INC-1 provider outage');
    expect(rotate.code).toBe(EXIT.failed);
    expect(rotate.stdout).toContain('failed [SecretFrozen]');
    expect([unfreeze.code, again.code]).toEqual([EXIT.ok, EXIT.ok]);
  });

  it('rollback makes the previous key current; history shows the versions with key ids', async () => {
    // Prepare
    const name = await local.addKey('cli-rollback');
    const first = await currentApiKey(name);
    await cli(['rotate', name]);

    // Act
    const rollback = await cli(['rollback', name], `${name}\n`);
    const history = await cli(['history', name, '--json']);

    // Assess
    expect(rollback.code).toBe(EXIT.ok);
    expect(await currentApiKey(name)).toBe(first);
    expect(history.code).toBe(EXIT.ok);
    const parsed = JSON.parse(history.stdout);
    const current = parsed.versions.find((v: { stages: string[] }) => v.stages.includes('AWSCURRENT'));
    const previous = parsed.versions.find((v: { stages: string[] }) => v.stages.includes('AWSPREVIOUS'));
    expect(current.key.keyId).toMatch(/\S/);
    expect(previous.key.keyId).toMatch(/\S/);
    expect(current.key.keyId).not.toBe(previous.key.keyId);
    expect(rollback.stdout).toContain(`key ${current.key.keyId} kept: AWSCURRENT again`);
    expect(rollback.stdout).toContain(`key ${previous.key.keyId} kept`);
  });

  it('import: adopts a key from piped stdin, never echoing it', async () => {
    // Prepare
    // A key made by hand at the provider (the revoker refuses one labelled for another secret), as apps already use it
    const name = await local.addKey('cli-import', undefined, { issue: false });
    const made = await fetch(`${local.stack.providerUrl}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${local.stack.provider.adminKeys[0] ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'made by hand' }),
    });
    const { id: keyId, key: adopted } = (await made.json()) as { id: string; key: string };
    registerSecret(adopted);

    // Act
    const run = await cli(['import', name, '--key-id', keyId], `${adopted}\n`);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(await currentApiKey(name)).toBe(adopted);
    expect(run.stdout).toMatch(/is now AWSCURRENT/);
  });

  it.skipIf(!hasScript)('confirms through a pseudo-terminal in a real `npx keyrelay` process', async () => {
    // Prepare
    const name = await local.addKey('cli-pty');
    const old = await currentApiKey(name);
    const command = `npx --no-install keyrelay rotate --emergency ${name} --reason pty --endpoint-url ${local.stack.endpoint}`;

    // Act: `script` gives the CLI a terminal; the name is typed into it as a person would
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, USER: 'oncall-pty' } });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    let typed = false;
    child.stdout.on('data', () => {
      if (!typed && Buffer.concat(chunks).toString().includes('to confirm:')) {
        typed = true;
        child.stdin.write(`${name}\r`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const text = Buffer.concat(chunks).toString();
    everything.push(text);

    // Assess
    expect(text).toContain(`Type '${name}' to confirm`);
    expect(code).toBe(0);
    expect(text).toMatch(/old key revoked/);
    expect(await whoamiStatus(old)).toBe(401);
  }, 60_000);

  it('printed no key value in any CLI output of this file', async () => {
    // Prepare: a key value we know exists and was registered by the stack
    const name = await local.addKey('cli-scan');
    const value = await currentApiKey(name);
    await cli(['status', name]);
    await cli(['history', name]);

    // Act
    const all = everything.join('');

    // Assess
    expect(everything.length).toBeGreaterThan(20);
    expect(all).not.toContain(value);
    expect(leakedSecrets(all)).toEqual([]);
    expect(leakedSecrets(`x ${value} y`)).toHaveLength(1);
  });
});
