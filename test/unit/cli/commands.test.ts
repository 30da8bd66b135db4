import {
  BatchGetSecretValueCommand,
  CancelRotateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { resolveOperator } from '../../../cli/context';
import { EXIT } from '../../../cli/errors';
import { CALLER_PROOF_FIELD, requestBinding } from '../../../core/caller-proof';
import type { KeyOutcome, RevokerRequest } from '../../../lambda/revoker/protocol';
import { currentKeyTag } from '../../../core/state';
import { arnOf, entry, harness, keyValue, revokerAnswer, type SecretFixture } from './harness';

const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

function withSecrets(h: ReturnType<typeof harness>, fixtures: SecretFixture[]) {
  h.mocks.sm.on(ListSecretsCommand).resolves({ SecretList: fixtures.map(entry) });
  for (const f of fixtures) {
    h.mocks.sm.on(DescribeSecretCommand, { SecretId: f.name }).resolves(entry(f));
    h.mocks.sm.on(DescribeSecretCommand, { SecretId: arnOf(f.name) }).resolves(entry(f));
  }
}

/** The payloads the CLI sent the revoker. */
function payloads(h: ReturnType<typeof harness>): Array<Record<string, unknown>> {
  return h.mocks.lambda.commandCalls(InvokeCommand).map((c) => JSON.parse(new TextDecoder().decode(c.args[0].input.Payload as Uint8Array)) as Record<string, unknown>);
}

/** The revoker requests the CLI sent, without their caller proofs. */
function invoked(h: ReturnType<typeof harness>): RevokerRequest[] {
  return payloads(h).map(({ [CALLER_PROOF_FIELD]: _proof, ...request }) => request as unknown as RevokerRequest);
}

const ok = (action: RevokerRequest['action'], keys: Array<{ keyId: string; outcome: KeyOutcome['outcome']; detail?: string }> = []) =>
  revokerAnswer({ action, keys: keys.map((k) => ({ secretName: 'x', ...k })) });

describe('Command: status', () => {
  it('exits 0 for healthy keys without reading any key value', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'payments/api' }]);

    // Act
    const code = await h.run('status');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(h.stdout()).toContain('payments/api  reference  version v-cur');
    expect(h.mocks.sm.commandCalls(BatchGetSecretValueCommand)).toHaveLength(0);
    expect(h.mocks.sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('shows fingerprints with --fingerprints, never key values', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'payments/api' }]);
    const k = keyValue('k-1');
    h.mocks.sm.on(BatchGetSecretValueCommand).resolves({ SecretValues: [{ ARN: arnOf('payments/api'), VersionId: 'v-cur', SecretString: k.text }] });

    // Act
    const code = await h.run('status', '--fingerprints');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(h.stdout()).toMatch(/payments\/api {2}reference {2}sha256:[0-9a-f]{12} \(k-1\)/);
    expect(h.stdout()).not.toContain(k.value.apiKey);
  });

  it('exits 3 with parseable JSON on stdout when a rotation is stuck or an alarm fires', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/stuck', versions: { 'v-cur': ['AWSCURRENT'], 'v-new': ['AWSPENDING'] } }]);
    h.mocks.sm.on(BatchGetSecretValueCommand).resolves({ SecretValues: [{ ARN: arnOf('a/stuck'), VersionId: 'v-cur', SecretString: keyValue('k-2').text }] });
    h.mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'keyrelay-RotationFailed', StateReason: 'failed' }] });

    // Act
    const code = await h.run('status', '--json');

    // Assess
    expect(code).toBe(EXIT.attention);
    const parsed = JSON.parse(h.stdout());
    expect(parsed.attention).toBe(true);
    expect(parsed.keys[0].attention[0].code).toBe('rotation-pending');
    expect(parsed.alarms.firing[0].name).toBe('keyrelay-RotationFailed');
    expect(h.mocks.cloudwatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toMatchObject({ AlarmNamePrefix: 'KeyRelay', StateValue: 'ALARM' });
  });

  it('reads a stale batch answer again by version id (moto can answer an old version)', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/stale' }]);
    h.mocks.sm.on(BatchGetSecretValueCommand).resolves({ SecretValues: [{ ARN: arnOf('a/stale'), VersionId: 'v-old', SecretString: keyValue('k-old').text }] });
    h.mocks.sm.on(GetSecretValueCommand).resolves({ VersionId: 'v-cur', SecretString: keyValue('k-cur').text });

    // Act
    await h.run('status', '--json', '--fingerprints');

    // Assess
    expect(JSON.parse(h.stdout()).keys[0].current.keyId).toBe('k-cur');
    expect(h.mocks.sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: arnOf('a/stale'), VersionId: 'v-cur' });
  });

  it('reports an unknown name as needing attention', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, []);

    // Act
    const code = await h.run('status', 'no/such');

    // Assess
    expect(code).toBe(EXIT.attention);
    expect(h.stdout()).toContain("no/such: no managed key named 'no/such'");
  });
});

describe('Command: rotate', () => {
  it('rotates, polls until AWSCURRENT moves, and shows each step on stderr', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/1' }]);
    let token = '';
    h.mocks.sm.on(RotateSecretCommand).callsFake((input: { ClientRequestToken: string }) => {
      token = input.ClientRequestToken;
      return { VersionId: token };
    });
    let polls = 0;
    h.mocks.sm.on(DescribeSecretCommand, { SecretId: arnOf('a/1') }).callsFake(() => {
      polls++;
      return { VersionIdsToStages: polls < 3 ? { 'v-cur': ['AWSCURRENT'], [token]: ['AWSPENDING'] } : { 'v-cur': ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] } };
    });

    // Act
    const code = await h.run('rotate', 'a/1', '--json');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(h.stdout()).rotated[0]).toMatchObject({ name: 'a/1', ok: true, versionId: token });
    expect(h.stderr()).toContain('a/1: rotation started');
    expect(h.stderr()).toContain('a/1: new version labelled AWSPENDING');
    expect(h.stderr()).toContain('a/1: new key is AWSCURRENT; previous version v-cur is AWSPREVIOUS');
  });

  it('backs off and retries RotateSecret on ThrottlingException', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/1' }]);
    let token = '';
    h.mocks.sm
      .on(RotateSecretCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }))
      .callsFake((input: { ClientRequestToken: string }) => {
        token = input.ClientRequestToken;
        return {};
      });
    h.mocks.sm.on(DescribeSecretCommand, { SecretId: arnOf('a/1') }).callsFake(() => ({ VersionIdsToStages: { [token]: ['AWSCURRENT'] } }));
    const before = h.clock.now();

    // Act
    const code = await h.run('rotate', 'a/1');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(h.mocks.sm.commandCalls(RotateSecretCommand)).toHaveLength(2);
    expect(h.clock.now()).toBeGreaterThanOrEqual(before);
  });

  it('refuses a frozen key and exits 1 with the code and next step', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/frozen', frozen: '2026-11-22T09:00:00Z alice: incident' }]);

    // Act
    const code = await h.run('rotate', 'a/frozen');

    // Assess
    expect(code).toBe(EXIT.failed);
    expect(h.stdout()).toContain('a/frozen  failed [SecretFrozen]');
    expect(h.stdout()).toContain('next: `keyrelay unfreeze a/frozen` first');
    expect(h.mocks.sm.commandCalls(RotateSecretCommand)).toHaveLength(0);
  });

  it('reports a rotation whose pending version vanished as failed', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/1' }]);
    h.mocks.sm.on(RotateSecretCommand).resolves({});
    h.mocks.sm.on(DescribeSecretCommand, { SecretId: arnOf('a/1') }).resolves({ VersionIdsToStages: { 'v-cur': ['AWSCURRENT'] } });

    // Act
    const code = await h.run('rotate', 'a/1', '--json');

    // Assess
    expect(code).toBe(EXIT.failed);
    expect(JSON.parse(h.stdout()).rotated[0].error.code).toBe('RotationFailed');
  });

  it('times out a rotation that never finishes, on the injected clock', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/1' }]);
    let token = '';
    h.mocks.sm.on(RotateSecretCommand).callsFake((input: { ClientRequestToken: string }) => ((token = input.ClientRequestToken), {}));
    h.mocks.sm.on(DescribeSecretCommand, { SecretId: arnOf('a/1') }).callsFake(() => ({ VersionIdsToStages: { 'v-cur': ['AWSCURRENT'], [token]: ['AWSPENDING'] } }));

    // Act
    const code = await h.run('rotate', 'a/1', '--timeout', '90s', '--json');

    // Assess
    expect(code).toBe(EXIT.failed);
    expect(JSON.parse(h.stdout()).rotated[0].error).toMatchObject({ code: 'RotationTimeout' });
    expect(h.clock.now() - NOW).toBeGreaterThanOrEqual(90_000);
  });

  it('selects keys by provider and refuses an empty selection with exit 2', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/1' }]);

    // Act
    const none = await h.run('rotate');
    const stderr = h.stderr();
    const other = await h.run('rotate', '--provider', 'cloudflare');

    // Assess
    expect(none).toBe(EXIT.usage);
    expect(stderr).toContain('error [NoKeysSelected]');
    expect(other).toBe(EXIT.failed);
    expect(h.stderr()).toContain("no managed key uses provider 'cloudflare'");
  });
});

describe('Command: rotate --emergency', () => {
  function emergencySetup(stdin: string | null, tty = false) {
    const h = harness({ stdin, tty });
    withSecrets(h, [{ name: 'a/leak', versions: { 'v-cur': ['AWSCURRENT'] } }]);
    let token = '';
    h.mocks.sm.on(RotateSecretCommand).callsFake((input: { ClientRequestToken: string }) => ((token = input.ClientRequestToken), {}));
    h.mocks.sm.on(DescribeSecretCommand, { SecretId: arnOf('a/leak') }).callsFake(() => ({ VersionIdsToStages: { 'v-cur': ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] } }));
    h.mocks.lambda.on(InvokeCommand).resolves(ok('revokeNow', [{ keyId: 'k-old', outcome: 'revoked' }]));
    return h;
  }

  it('accepts the typed key name, rotates, revokes the previous key and prints the timeline', async () => {
    // Prepare
    const h = emergencySetup('a/leak\n');

    // Act
    const code = await h.run('rotate', '--emergency', 'a/leak', '--reason', 'pasted in chat', '--operator', 'alice');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(h.stderr()).toContain("Type 'a/leak' to confirm");
    // The confirmed key (the version that was current) goes with the request: the revoker revokes no other.
    expect(invoked(h)).toEqual([{ action: 'revokeNow', secretId: arnOf('a/leak'), previous: true, expectedVersionId: 'v-cur', reason: 'pasted in chat', operator: 'alice' }]);
    expect(h.stdout()).toMatch(/T\+\d+\.\d s {2}new key current \(version .+\)\n {2}T\+\d+\.\d s {2}old key revoked \(k-old\)/);
    expect(h.mocks.lambda.commandCalls(InvokeCommand)[0]?.args[0].input.FunctionName).toBe('keyrelay-revoker');
  });

  it("names the confirmed key id, from finishSecret's note, in the prompt and the revoker request", async () => {
    // Prepare
    const h = harness({ stdin: 'a/leak\n' });
    withSecrets(h, [{ name: 'a/leak', versions: { 'v-cur': ['AWSCURRENT'] }, extraTags: [currentKeyTag({ versionId: 'v-cur', keyId: 'k-confirmed', fingerprint: 'sha256:0123456789ab' })] }]);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('revokeWithoutReplacement', [{ keyId: 'k-confirmed', outcome: 'revoked' }]));

    // Act
    const code = await h.run('rotate', '--emergency', 'a/leak', '--revoke-without-replacement', '--reason', 'leak', '--operator', 'alice');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(h.stderr()).toContain('revoke the CURRENT key (key k-confirmed)');
    expect(invoked(h)).toEqual([
      { action: 'revokeWithoutReplacement', secretId: arnOf('a/leak'), expectedVersionId: 'v-cur', expectedKeyId: 'k-confirmed', reason: 'leak', operator: 'alice', acceptDowntime: true },
    ]);
  });

  it.each([
    ['a wrong name', 'a/other\n', /did not match: expected 'a\/leak'/],
    ['end of input', '', /no confirmation received/],
  ])('refuses on %s with exit 4 and changes nothing', async (_what, stdin, message) => {
    // Prepare
    const h = emergencySetup(stdin);

    // Act
    const code = await h.run('rotate', '--emergency', 'a/leak', '--reason', 'leak');

    // Assess
    expect(code).toBe(EXIT.refused);
    expect(h.stderr()).toMatch(message);
    expect(h.stderr()).toContain('error [ConfirmationRefused]');
    expect(h.mocks.sm.commandCalls(RotateSecretCommand)).toHaveLength(0);
    expect(invoked(h)).toEqual([]);
  });

  it('skips the prompt with --yes and prints JSON only on stdout', async () => {
    // Prepare
    const h = emergencySetup(null);

    // Act
    const code = await h.run('rotate', '--emergency', 'a/leak', '--reason', 'leak', '--yes', '--json');

    // Assess
    expect(code).toBe(EXIT.ok);
    const timeline = JSON.parse(h.stdout());
    expect(timeline.steps.map((s: { step: string }) => s.step)).toEqual(['new key current', 'old key revoked']);
    expect(timeline.operator).toBe('oncall-alice');
  });

  it('names the downtime before revoking without replacement', async () => {
    // Prepare
    const h = emergencySetup('a/leak\n');
    h.mocks.lambda.on(InvokeCommand).resolves(ok('revokeWithoutReplacement', [{ keyId: 'k-cur', outcome: 'revoked' }]));

    // Act
    const code = await h.run('rotate', '--emergency', 'a/leak', '--revoke-without-replacement', '--reason', 'provider cannot issue');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(h.stderr()).toContain('with NO replacement');
    expect(h.stderr()).toContain('(downtime)');
    expect(invoked(h)[0]).toMatchObject({ action: 'revokeWithoutReplacement', acceptDowntime: true, reason: 'provider cannot issue' });
    expect(h.mocks.sm.commandCalls(RotateSecretCommand)).toHaveLength(0);
  });

  it('requires --reason and a single name (usage, exit 2)', async () => {
    // Prepare
    const h = emergencySetup('a/leak\n');

    // Act
    const noReason = await h.run('rotate', '--emergency', 'a/leak');
    const twoNames = await h.run('rotate', '--emergency', 'a/leak', 'b/x', '--reason', 'r');
    const noEmergency = await h.run('rotate', 'a/leak', '--revoke-without-replacement');

    // Assess
    expect([noReason, twoNames, noEmergency]).toEqual([EXIT.usage, EXIT.usage, EXIT.usage]);
  });

  it('refuses a frozen key before asking for the confirmation, saying how to go on', async () => {
    // Prepare
    const h = harness({ stdin: 'a/leak\n' });
    withSecrets(h, [{ name: 'a/leak', frozen: '2026-11-22T09:00:00Z alice: provider outage' }]);

    // Act
    const code = await h.run('rotate', '--emergency', 'a/leak', '--reason', 'leak');

    // Assess
    expect(code).toBe(EXIT.failed);
    expect(h.stderr()).not.toContain("Type 'a/leak' to confirm");
    expect(h.stderr()).toContain('error [SecretFrozen]');
    expect(h.stderr()).toContain('--revoke-without-replacement');
    expect(h.mocks.sm.commandCalls(RotateSecretCommand)).toHaveLength(0);
  });

  it('refuses, changing nothing, when the current key moved while the operator was confirming', async () => {
    // Prepare: the prompt showed v-cur (the leaked key); a scheduled rotation promoted v-sched before the answer.
    const h = emergencySetup('a/leak\n');
    const before = entry({ name: 'a/leak', versions: { 'v-cur': ['AWSCURRENT'] } });
    const after = entry({ name: 'a/leak', versions: { 'v-sched': ['AWSCURRENT'], 'v-cur': ['AWSPREVIOUS'] } });
    h.mocks.sm.on(DescribeSecretCommand, { SecretId: 'a/leak' }).resolvesOnce(before).resolves(after);

    // Act
    const code = await h.run('rotate', '--emergency', 'a/leak', '--reason', 'leak');

    // Assess: rotating now would revoke v-sched (AWSPREVIOUS after it) and leave the leaked v-cur valid.
    expect(code).toBe(EXIT.failed);
    expect(h.stderr()).toContain('error [CurrentKeyMoved]');
    expect(h.stderr()).toContain('keyrelay revoke a/leak --key-id');
    expect(h.mocks.sm.commandCalls(RotateSecretCommand)).toHaveLength(0);
    expect(invoked(h)).toEqual([]);
  });

  it('does not report success when the revoker answers without revoking any key', async () => {
    // Prepare
    const h = emergencySetup(null);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('revokeNow', []));

    // Act
    const code = await h.run('rotate', '--emergency', 'a/leak', '--reason', 'leak', '--yes');

    // Assess
    expect(code).toBe(EXIT.failed);
    expect(h.stderr()).toMatch(/was NOT revoked/);
    expect(h.stdout()).not.toContain('old key revoked');
  });

  it('says the new key is current but the leaked one is NOT revoked when revocation fails, and how to finish', async () => {
    // Prepare
    const h = emergencySetup(null);
    h.mocks.lambda.on(InvokeCommand).resolves(revokerAnswer({ errorType: 'ProviderUnavailable', errorMessage: 'reference: 503 from /keys' }, true));

    // Act
    const code = await h.run('rotate', '--emergency', 'a/leak', '--reason', 'leak', '--yes');

    // Assess
    expect(code).toBe(EXIT.failed);
    const stderr = h.stderr();
    expect(stderr).toContain('error [ProviderUnavailable]: ');
    expect(stderr).toContain("revoker 'keyrelay-revoker' failed revokeNow for key 'a/leak': reference: 503 from /keys");
    expect(stderr).toMatch(/new key is current \(version [^)]+\) but the old key \(version v-cur\) was NOT revoked/);
    expect(stderr).toContain('keyrelay revoke a/leak --key-id');
    // The leaked key is now AWSPREVIOUS: revoking "without replacement" would revoke the new key and leave it alive.
    expect(stderr).not.toContain('--revoke-without-replacement');
  });
});

describe('Command: revoke / cancel / restore', () => {
  it('revokes a non-current key by id after confirmation', async () => {
    // Prepare
    const h = harness({ stdin: 'a/1\n' });
    withSecrets(h, [{ name: 'a/1' }]);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('revokeNow', [{ keyId: 'k-7', outcome: 'revoked' }]));

    // Act
    const code = await h.run('revoke', 'a/1', '--key-id', 'k-7', '--reason', 'in a paste');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(invoked(h)).toEqual([{ action: 'revokeNow', secretId: arnOf('a/1'), keyId: 'k-7', reason: 'in a paste', operator: 'oncall-alice' }]);
    expect(h.stdout()).toContain('key k-7 revoked');
  });

  it('attaches the caller proof, bound to the very request it sends', async () => {
    // Prepare
    const h = harness({ stdin: 'a/1\n' });
    withSecrets(h, [{ name: 'a/1' }]);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('revokeNow', [{ keyId: 'k-7', outcome: 'revoked' }]));

    // Act
    await h.run('revoke', 'a/1', '--key-id', 'k-7', '--reason', 'in a paste');

    // Assess
    const [sent] = payloads(h);
    expect(sent?.[CALLER_PROOF_FIELD]).toMatchObject({ headers: { 'x-keyrelay-request': requestBinding(invoked(h)[0]!) } });
  });

  it('says the revoker function is missing, not the key, when Lambda cannot find it', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/1' }]);
    h.mocks.lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('Function not found: arn:aws:lambda:us-east-1:123456789012:function:keyrelay-revoker'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } }));

    // Act
    const code = await h.run('revoke', 'a/1', '--key-id', 'k-7', '--reason', 'in a paste', '--yes');

    // Assess
    expect(code).toBe(EXIT.failed);
    expect(h.stderr()).toContain('error [RevokerNotFound]');
    expect(h.stderr()).toContain("keyrelay:revoker");
    expect(h.stderr()).not.toContain('UnknownKey');
  });

  it('requires --key-id and --reason (exit 2)', async () => {
    // Prepare
    const h = harness();

    // Act
    const code = await h.run('revoke', 'a/1', '--reason', 'x');

    // Assess
    expect(code).toBe(EXIT.usage);
    expect(h.stderr()).toContain("required option '--key-id <id>' not specified");
  });

  it('cancels a stuck rotation through the revoker, and does nothing when none is pending', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/stuck', versions: { 'v-cur': ['AWSCURRENT'], 'v-new': ['AWSPENDING'] } }, { name: 'a/fine', versions: { 'v-cur': ['AWSCURRENT', 'AWSPENDING'] } }]);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('cancel', [{ keyId: 'k-new', outcome: 'revoked' }]));

    // Act
    const stuck = await h.run('cancel', 'a/stuck', '--reason', 'provider 500s');
    const stuckOut = h.stdout();
    const fine = await h.run('cancel', 'a/fine');

    // Assess
    expect([stuck, fine]).toEqual([EXIT.ok, EXIT.ok]);
    expect(stuckOut).toContain('AWSPENDING removed from version v-new');
    expect(invoked(h)).toEqual([{ action: 'cancel', secretId: arnOf('a/stuck'), reason: 'provider 500s', operator: 'oncall-alice' }]);
    expect(h.stderr()).toContain('nothing to cancel');
  });

  it('restores a disabled key, and refuses when none is disabled', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [
      { name: 'a/dis', versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] }, records: [{ keyId: 'k-1', phase: 'disabled', due: NOW + 3600_000, versionId: 'v1' }] },
      { name: 'a/none' },
    ]);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('restore', [{ keyId: 'k-1', outcome: 'restored' }]));

    // Act
    const restored = await h.run('restore', 'a/dis');
    const none = await h.run('restore', 'a/none');

    // Assess
    expect(restored).toBe(EXIT.ok);
    expect(invoked(h)).toEqual([{ action: 'restore', secretId: arnOf('a/dis'), operator: 'oncall-alice' }]);
    expect(none).toBe(EXIT.failed);
    expect(h.stderr()).toContain('error [NothingToRestore]');
  });

  it('explains a missing revoker tag and an unknown key', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/norev', versions: { 'v-cur': ['AWSCURRENT'], 'v-new': ['AWSPENDING'] }, revoker: null }]);
    h.mocks.sm.on(DescribeSecretCommand, { SecretId: 'no/such' }).rejects(Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: 'ResourceNotFoundException', $metadata: {} }));

    // Act
    const norev = await h.run('cancel', 'a/norev');
    const norevErr = h.stderr();
    const unknown = await h.run('cancel', 'no/such', '--debug');

    // Assess
    expect(norev).toBe(EXIT.failed);
    expect(norevErr).toContain("error [NoRevoker]: key 'a/norev' names no revoker function");
    expect(unknown).toBe(EXIT.failed);
    expect(h.stderr()).toContain("error [UnknownKey]: key 'no/such': not found");
    expect(h.stderr()).toMatch(/\n\s+at /);
  });
});

describe('Command: rollback', () => {
  it('asks the revoker to roll back (it judges the previous key) and writes nothing to Secrets Manager itself', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/rb', versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] } }]);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('rollback', [{ keyId: 'k-1', outcome: 'kept', detail: 'AWSCURRENT again (version v1)' }]));

    // Act
    const code = await h.run('rollback', 'a/rb', '--yes', '--operator', 'ana@example.com');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(invoked(h)).toEqual([{ action: 'rollback', secretId: arnOf('a/rb'), operator: 'ana@example.com' }]);
    expect(h.mocks.sm.calls().map((c) => c.args[0].constructor.name).filter((n) => n !== 'DescribeSecretCommand')).toEqual([]);
    expect(h.stdout()).toContain('key k-1 kept: AWSCURRENT again (version v1)');
  });

  it("reports the revoker's refusal with its code, and refuses itself without a previous version", async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/rb', versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] } }, { name: 'a/one', versions: { v1: ['AWSCURRENT'] } }]);
    h.mocks.lambda.on(InvokeCommand).resolves(revokerAnswer({ errorType: 'PreviousKeyNotValid', errorMessage: 'the previous key k-1 is revoked' }, true));

    // Act
    const refused = await h.run('rollback', 'a/rb', '--yes');
    const refusedText = h.stderr();
    const none = await h.run('rollback', 'a/one', '--yes');

    // Assess
    expect([refused, none]).toEqual([EXIT.failed, EXIT.failed]);
    expect(refusedText).toContain('error [PreviousKeyNotValid]');
    expect(h.stderr()).toContain('error [NoPreviousKey]');
  });
});

describe('Command: freeze / unfreeze', () => {
  it('tags every key with a note naming time, operator and reason, and removes it on unfreeze', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/1' }, { name: 'a/2' }]);

    // Act
    const frozen = await h.run('freeze', '--all', '--reason', "provider's outage", '--operator', 'bob');
    const thawed = await h.run('unfreeze', 'a/1');

    // Assess
    expect([frozen, thawed]).toEqual([EXIT.ok, EXIT.ok]);
    const tags = h.mocks.sm.commandCalls(TagResourceCommand).map((c) => c.args[0].input.Tags?.[0]);
    expect(tags).toEqual([
      { Key: 'keyrelay:frozen', Value: '2026-11-22T10:00:00Z bob: provider s outage' },
      { Key: 'keyrelay:frozen', Value: '2026-11-22T10:00:00Z bob: provider s outage' },
    ]);
    expect(h.mocks.sm.commandCalls(UntagResourceCommand)[0]?.args[0].input).toEqual({ SecretId: arnOf('a/1'), TagKeys: ['keyrelay:frozen'] });
  });
});

describe('Command: import', () => {
  it('does not echo a key value passed as an unknown --option=value', async () => {
    // Prepare: an operator guessing how to pass the key
    const k = keyValue('k-arg');
    const h = harness();

    // Act
    const code = await h.run('import', 'a/imp', '--key-id', 'k-arg', `--api-key=${k.value.apiKey}`);

    // Assess
    expect(code).toBe(EXIT.usage);
    expect(h.stderr()).toContain("unknown option '--api-key=");
    expect(h.stderr() + h.stdout()).not.toContain(k.value.apiKey);
  });

  it('sends the key from piped stdin to the revoker (never an argument) and prints only its fingerprint', async () => {
    // Prepare
    const k = keyValue('k-imp');
    const h = harness({ stdin: `${k.value.apiKey}\n` });
    withSecrets(h, [{ name: 'a/imp' }]);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('import', [{ keyId: 'k-imp', outcome: 'kept' }, { keyId: 'k-old', outcome: 'kept', detail: 'replaced: valid for its grace period' }]));

    // Act
    const code = await h.run('import', 'a/imp', '--key-id', 'k-imp', '--operator', 'ana');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(invoked(h)).toEqual([{ action: 'import', secretId: arnOf('a/imp'), keyId: 'k-imp', apiKey: k.value.apiKey, operator: 'ana' }]);
    expect(h.mocks.sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(h.stdout()).toMatch(/key k-imp \(sha256:[0-9a-f]{12}\) is now AWSCURRENT/);
    expect(h.stdout()).toContain('keyrelay revoke a/imp --key-id k-old');
    expect(h.stdout() + h.stderr()).not.toContain(k.value.apiKey);
  });

  it('refuses empty input and an import during a rotation', async () => {
    // Prepare
    const h = harness({ stdin: '' });
    withSecrets(h, [{ name: 'a/imp', versions: {} }, { name: 'a/busy', versions: { v1: ['AWSCURRENT'], v2: ['AWSPENDING'] } }]);

    // Act
    const empty = await h.run('import', 'a/imp', '--key-id', 'k-1');
    const busy = await h.run('import', 'a/busy', '--key-id', 'k-1');

    // Assess
    expect(empty).toBe(EXIT.usage);
    expect(busy).toBe(EXIT.failed);
    expect(h.stderr()).toContain('error [RotationInProgress]');
    expect(h.mocks.sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });
});

describe('Command: retire', () => {
  it('freezes, has the revoker retire the keys, turns rotation off and removes keyrelay tags', async () => {
    // Prepare
    const h = harness({ stdin: 'a/old\n' });
    withSecrets(h, [{ name: 'a/old', versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] }, records: [{ keyId: 'k-1', phase: 'grace', due: NOW, versionId: 'v1' }] }]);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('retire', [{ keyId: 'k-1', outcome: 'revoked' }, { keyId: 'k-2', outcome: 'revoked' }]));

    // Act
    const code = await h.run('retire', 'a/old', '--operator', 'ana');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(h.mocks.sm.commandCalls(TagResourceCommand)[0]?.args[0].input.Tags?.[0]?.Key).toBe('keyrelay:frozen');
    expect(invoked(h)).toEqual([{ action: 'retire', secretId: arnOf('a/old'), handOver: false, reason: 'retired', operator: 'ana' }]);
    expect(h.mocks.sm.commandCalls(CancelRotateSecretCommand)).toHaveLength(1);
    const removed = h.mocks.sm.commandCalls(UntagResourceCommand)[0]?.args[0].input.TagKeys ?? [];
    expect(removed).toContain('keyrelay:managed');
    expect(removed).toContain('keyrelay:key:k-1');
  });

  it('hands the current key over with --hand-over, refuses without confirmation, and says to deploy when not allowed to finish', async () => {
    // Prepare
    const h = harness({ stdin: '' });
    withSecrets(h, [{ name: 'a/old' }]);
    h.mocks.lambda.on(InvokeCommand).resolves(ok('retire'));
    h.mocks.sm.on(CancelRotateSecretCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));

    // Act
    const refused = await h.run('retire', 'a/old', '--hand-over');
    const handed = await h.run('retire', 'a/old', '--hand-over', '--yes');

    // Assess
    expect(refused).toBe(EXIT.refused);
    expect(handed).toBe(EXIT.ok);
    expect(invoked(h).map((r) => [r.action, (r as { handOver?: boolean }).handOver])).toEqual([['retire', true]]);
    expect(h.stdout()).toContain('the current key is handed over');
    expect(h.stdout()).toContain("remove 'a/old' from keyrelay.config.json and deploy to finish");
  });
});

describe('Command: history', () => {
  function historySetup() {
    const h = harness();
    withSecrets(h, [{ name: 'a/h', versions: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] }, records: [{ keyId: 'k-1', phase: 'grace', due: NOW + 3600_000, versionId: 'v1' }] }]);
    h.mocks.sm.on(ListSecretVersionIdsCommand).resolves({
      Versions: [
        { VersionId: 'v1', VersionStages: ['AWSPREVIOUS'], CreatedDate: new Date(Date.UTC(2026, 10, 1)) },
        { VersionId: 'v2', VersionStages: ['AWSCURRENT'], CreatedDate: new Date(Date.UTC(2026, 10, 20)) },
      ],
    });
    h.mocks.lambda.on(InvokeCommand).resolves(
      revokerAnswer({ action: 'inspect', keys: [], inspect: { secretName: 'a/h', provider: 'reference', keys: [{ keyId: 'k-2', status: 'active', stages: ['AWSCURRENT'], orphan: false }], problems: [] } }),
    );
    return h;
  }

  it('lists versions with key ids from records and inspect, reading no value', async () => {
    // Prepare
    const h = historySetup();

    // Act
    const code = await h.run('history', 'a/h', '--json');

    // Assess
    expect(code).toBe(EXIT.ok);
    const history = JSON.parse(h.stdout());
    expect(history.versions.map((v: { versionId: string; key: { keyId: string } }) => [v.versionId, v.key.keyId])).toEqual([['v2', 'k-2'], ['v1', 'k-1']]);
    expect(history.events.map((e: { event: string }) => e.event)).toContain('grace');
    expect(h.mocks.sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('adds fingerprints with --fingerprints', async () => {
    // Prepare
    const h = historySetup();
    h.mocks.sm.on(GetSecretValueCommand, { VersionId: 'v1' }).resolves({ SecretString: keyValue('k-1').text });
    h.mocks.sm.on(GetSecretValueCommand, { VersionId: 'v2' }).resolves({ SecretString: keyValue('k-2').text });

    // Act
    const code = await h.run('history', 'a/h', '--fingerprints');

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(h.stdout()).toMatch(/v2 +AWSCURRENT +2026-11-20T00:00:00Z +k-2 +sha256:[0-9a-f]{12}/);
  });
});

describe('Command: plan', () => {
  it('asks the revoker to inspect each key and exits 3 when a rotation would fail', async () => {
    // Prepare
    const h = harness();
    withSecrets(h, [{ name: 'a/p' }]);
    h.mocks.lambda.on(InvokeCommand).resolves(
      revokerAnswer({ action: 'inspect', keys: [], inspect: { secretName: 'a/p', provider: 'reference', keys: [], quota: { used: 3, limit: 3 }, problems: ['quota full'] } }),
    );

    // Act
    const code = await h.run('plan', '--json');

    // Assess
    expect(code).toBe(EXIT.attention);
    expect(invoked(h)).toEqual([{ action: 'inspect', secretId: arnOf('a/p') }]);
    expect(JSON.parse(h.stdout()).plan[0]).toMatchObject({ quota: { headroom: 0 }, problems: ['quota full'] });
  });
});

describe('Function: main', () => {
  it('prints help with an example for every command, on stdout, exit 0', async () => {
    // Prepare
    const h = harness();
    const commands = ['status', 'plan', 'rotate', 'revoke', 'cancel', 'restore', 'rollback', 'freeze', 'unfreeze', 'import', 'retire', 'history'];

    // Act
    const codes: number[] = [];
    const helps: string[] = [];
    for (const c of commands) {
      codes.push(await h.run(c, '--help'));
      helps.push(h.stdout());
    }

    // Assess
    expect(codes.every((c) => c === EXIT.ok)).toBe(true);
    for (const [i, text] of helps.entries()) expect(text, commands[i]).toMatch(/Examples?:\n {2}\$ keyrelay /);
  });

  it('exits 2 on an unknown command or a bad option value', async () => {
    // Prepare
    const h = harness();

    // Act
    const unknown = await h.run('frobnicate');
    const badTimeout = await h.run('rotate', 'a/1', '--timeout', 'soon');

    // Assess
    expect([unknown, badTimeout]).toEqual([EXIT.usage, EXIT.usage]);
    expect(h.stderr()).toContain('--timeout must look like 90s, 15m, 4h or 30d');
  });
});

describe('Function: resolveOperator', () => {
  it('prefers the flag, then the caller identity, then $USER', async () => {
    // Act
    const flag = await resolveOperator({ flag: ' carol ', callerArn: async () => 'arn:x', env: { USER: 'u' } });
    const arn = await resolveOperator({ callerArn: async () => 'arn:aws:sts::1:assumed-role/OnCall/dave', env: { USER: 'u' } });
    const user = await resolveOperator({ callerArn: async () => Promise.reject(new Error('offline')), env: { USER: 'erin' } });
    const none = await resolveOperator({ callerArn: async () => undefined, env: {} });

    // Assess
    expect([flag, arn, user, none]).toEqual(['carol', 'arn:aws:sts::1:assumed-role/OnCall/dave', 'erin', 'unknown']);
  });

  it('uses the STS caller identity when no --operator is given', async () => {
    // Prepare
    const h = harness({ stdin: 'a/1\n' });
    withSecrets(h, [{ name: 'a/1' }]);
    h.mocks.sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:sts::123456789012:assumed-role/OnCall/frank' });

    // Act
    await h.run('freeze', 'a/1', '--reason', 'test');

    // Assess
    expect(h.mocks.sm.commandCalls(TagResourceCommand)[0]?.args[0].input.Tags?.[0]?.Value).toBe('2026-11-22T10:00:00Z arn:aws:sts::123456789012:assumed-role/OnCall/frank: test');
  });
});
