import { UpdateSecretVersionStageCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it, vi } from 'vitest';
import { isoTime } from '../../../core/clock';
import { fingerprint, parseSecretValue } from '../../../core/secret-value';
import { putKeyRecord } from '../../../core/state';
import { KeyNotFoundError, ProviderAuthError, QuotaExceededError } from '../../../lambda/providers/errors';
import { PendingKeyRejectedError, PendingValueConflictError, RotationCancelledError, RotationQuotaError } from '../../../lambda/rotation';
import { GRACE, rotationHarness, type Harness } from './harness';

// What the rotation steps decide and report in the cases no other test reached (issue 14's mutation survivors of
// lambda/rotation/steps.ts). Log lines are asserted by their fields (key id, fingerprint, step, outcome), never by
// their sentences, which stay free to change.

/** The JSON log lines (not metrics) written since the harness was made. */
function logs(h: Harness): Array<Record<string, unknown>> {
  return h
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{') && !line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

/** The key a stage's version holds. */
function valueAt(h: Harness, stage: string) {
  return parseSecretValue(h.sm.valueAt(h.arn, stage), h.name);
}

describe('Steps: start checks name the way out', () => {
  it('says to start rotations with RotateSecret when the token is not a version', async () => {
    const h = await rotationHarness();
    await expect(h.step('createSecret', 'no-such-version')).rejects.toThrow(/not a version of this secret.*RotateSecret/);
  });

  it('says to rotate again when the token is no longer AWSPENDING', async () => {
    // Prepare: a finished rotation made the first version AWSPREVIOUS
    const h = await rotationHarness();
    await h.rotate(h.start());
    // Act + Assess
    await expect(h.step('createSecret', h.initialVersion!)).rejects.toThrow(/is not AWSPENDING \(stages: AWSPREVIOUS\).*rotate again/);
  });
});

describe('Steps: retries and the deadline', () => {
  it('logs each retried AWS call with its attempt, wait and error', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    h.sm.fail({ op: 'DescribeSecret', error: throttled() });
    // Act
    await h.step('createSecret', token);
    // Assess
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'WARN', attempt: 1, waitMs: expect.any(Number), error: expect.stringContaining('Rate exceeded') }));
  });

  it('retries when the longest wait still ends exactly at the deadline, and not a millisecond later', async () => {
    // Prepare: 8 s left = 3 s margin + 5 s longest wait; the throttled call itself takes no time
    const exact = await rotationHarness();
    const late = await rotationHarness();
    for (const h of [exact, late]) h.sm.fail({ op: 'DescribeSecret', error: throttled() });
    const step = (h: Harness, ms: number) =>
      h.handler({ Step: 'createSecret', SecretId: h.arn, ClientRequestToken: h.start() }, { getRemainingTimeInMillis: () => ms });
    // Act + Assess
    await expect(step(exact, 8_000)).resolves.toBeUndefined();
    await expect(step(late, 7_999)).rejects.toThrow('Rate exceeded');
  });

  it("counts a step that failed before the secret was read under provider 'unknown'", async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    h.sm.fail({ op: 'DescribeSecret', error: awsError('AccessDeniedException', 'not allowed') });
    // Act
    await expect(h.step('createSecret', token)).rejects.toThrow('not allowed');
    // Assess
    expect(h.metrics()).toContainEqual(expect.objectContaining({ RotationStepFailed: 1, provider: 'unknown', step: 'createSecret' }));
  });
});

describe('Step: createSecret, what it reports', () => {
  it('logs the key it issued and stored by id and fingerprint, and the stored one again when repeated', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    // Act
    await h.step('createSecret', token);
    await h.step('createSecret', token);
    // Assess
    const pending = valueAt(h, 'AWSPENDING');
    const lines = logs(h).filter((l) => l.fingerprint === fingerprint(pending.apiKey));
    expect(lines).toEqual([
      expect.objectContaining({ level: 'INFO', step: 'createSecret', keyId: pending.keyId }),
      expect.objectContaining({ level: 'INFO', step: 'createSecret' }),
    ]);
  });

  it('with an invalid pending value: warns with the problem, revokes the key AWS refused to store, and fails with the cause', async () => {
    // Prepare: the pending version already holds a value that is not keyrelay's (AWS will not replace it)
    const h = await rotationHarness();
    const token = h.start();
    h.sm.setValue(h.arn, token, 'not a keyrelay value');
    // Act
    const error = await h.step('createSecret', token).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(PendingValueConflictError);
    expect((error as Error).cause).toEqual(expect.objectContaining({ name: 'ResourceExistsException' }));
    expect(h.keysFor(token)).toEqual([]);
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'WARN', step: 'createSecret', problem: expect.any(String) }));
  });

  it('names the key an interrupted attempt left when it revokes it', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    h.sm.fail({ op: 'PutSecretValue', error: new Error('Task timed out after 30.00 seconds') });
    await expect(h.step('createSecret', token)).rejects.toThrow(/timed out/);
    const leftover = h.keysFor(token)[0]!;
    // Act
    await h.step('createSecret', token);
    // Assess
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'INFO', step: 'createSecret', keyId: leftover.keyId }));
  });

  it('names the key being replaced when the provider no longer has it, and issues from the settings', async () => {
    // Prepare: the provider answers not found for the key to copy scopes from
    const h = await rotationHarness();
    const token = h.start();
    h.provider.fail({ op: 'issue', error: 'notFound' });
    // Act
    await h.step('createSecret', token);
    // Assess
    expect(h.keysFor(token)).toHaveLength(1);
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'WARN', keyId: h.initialKeyId, error: expect.stringContaining('not found') }));
  });

  it('fails on a not-found answer to a first issue (no key replaced), rather than issuing again', async () => {
    // Prepare
    const h = await rotationHarness({ withCurrent: false });
    const token = h.start();
    h.provider.fail({ op: 'issue', error: 'notFound' });
    // Act + Assess
    await expect(h.step('createSecret', token)).rejects.toThrow(KeyNotFoundError);
    expect(h.keysFor(token)).toEqual([]);
  });

  it('stores the public attributes the provider gives a key (an IAM access key id, say)', async () => {
    // Prepare
    const h = await rotationHarness();
    const issue = h.provider.issue.bind(h.provider);
    vi.spyOn(h.provider, 'issue').mockImplementation(async (request) => ({ ...(await issue(request)), attributes: { accessKeyId: 'AKIAEXAMPLE' } }));
    const token = h.start();
    // Act
    await h.step('createSecret', token);
    // Assess
    expect(valueAt(h, 'AWSPENDING').attributes).toEqual({ accessKeyId: 'AKIAEXAMPLE' });
  });

  it('without attributes from the provider, stores none', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    // Act
    await h.step('createSecret', token);
    // Assess
    expect(Object.keys(JSON.parse(h.sm.valueAt(h.arn, 'AWSPENDING')!) as object)).not.toContain('attributes');
  });

  it('warns with the version and the problem when the current version holds no keyrelay value, and issues a first key', async () => {
    // Prepare
    const h = await rotationHarness();
    h.sm.setValue(h.arn, h.initialVersion!, 'set by hand');
    const token = h.start();
    // Act
    await h.step('createSecret', token);
    // Assess
    expect(h.keysFor(token)).toHaveLength(1);
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'WARN', versionId: h.initialVersion, problem: expect.any(String) }));
  });

  it("says 'no value' when the current version holds none", async () => {
    // Prepare: AWSCURRENT moved to a value-less version
    const h = await rotationHarness();
    const empty = h.start();
    await h.sm.client.send(new UpdateSecretVersionStageCommand({ SecretId: h.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: empty, RemoveFromVersionId: h.initialVersion }));
    const token = h.start();
    // Act
    await h.step('createSecret', token);
    // Assess
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'WARN', versionId: empty, problem: 'no value' }));
  });
});

describe('Step: createSecret, a full provider quota', () => {
  const full = (quota: number | undefined) => new QuotaExceededError('fake', 'quota full', { quota, status: 409 });

  it('fails naming the quota the provider reported, with its error as the cause, and logs what it freed', async () => {
    // Prepare: the provider reports a quota of 3 (the adapter assumed 5); nothing can be freed
    const onQuotaFull = vi.fn(async () => 0);
    const h = await rotationHarness({ deps: { onQuotaFull } });
    vi.spyOn(h.provider, 'issue').mockRejectedValue(full(3));
    // Act
    const error = await h.step('createSecret', h.start()).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(RotationQuotaError);
    expect((error as Error).message).toMatch(/quota of 3 keys .*freed 0/);
    expect((error as Error).cause).toBeInstanceOf(QuotaExceededError);
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'WARN', quota: 3, freed: 0 }));
  });

  it("falls back to the adapter's quota when the provider names none", async () => {
    // Prepare
    const h = await rotationHarness({ deps: { onQuotaFull: async () => 0 } });
    vi.spyOn(h.provider, 'issue').mockRejectedValue(full(undefined));
    // Act + Assess
    await expect(h.step('createSecret', h.start())).rejects.toThrow(/quota of 5 keys/);
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'WARN', quota: 5, freed: 0 }));
  });

  it('fails with the quota error of the second refusal when freeing keys did not make room, saying how many it freed', async () => {
    // Prepare: the provider refuses again after 2 keys were freed, now reporting a quota of 4
    const h = await rotationHarness({ deps: { onQuotaFull: async () => 2 } });
    const second = full(4);
    vi.spyOn(h.provider, 'issue').mockRejectedValueOnce(full(3)).mockRejectedValueOnce(second);
    // Act
    const error = await h.step('createSecret', h.start()).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(RotationQuotaError);
    expect((error as Error).message).toMatch(/quota of 4 keys .*freed 2/);
    expect((error as Error).cause).toBe(second);
  });

  it('fails with the error itself when the issue after freeing keys fails otherwise', async () => {
    // Prepare
    const h = await rotationHarness({ deps: { onQuotaFull: async () => 1 } });
    vi.spyOn(h.provider, 'issue').mockRejectedValueOnce(full(3)).mockRejectedValueOnce(new ProviderAuthError('fake', 'admin credential rejected', { status: 401 }));
    // Act + Assess
    await expect(h.step('createSecret', h.start())).rejects.toThrow(ProviderAuthError);
  });

  it("names the adapter's quota on the second refusal too when the provider names none", async () => {
    // Prepare
    const h = await rotationHarness({ deps: { onQuotaFull: async () => 1 } });
    vi.spyOn(h.provider, 'issue').mockRejectedValue(full(undefined));
    // Act + Assess
    await expect(h.step('createSecret', h.start())).rejects.toThrow(/quota of 5 keys .*freed 1/);
  });
});

describe('Steps: setSecret and testSecret, what they report', () => {
  it('names the problem of an invalid pending value', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    h.sm.setValue(h.arn, token, 'not a keyrelay value');
    // Act + Assess
    await expect(h.step('setSecret', token)).rejects.toThrow(/pending version '.*' is invalid \(.+\)/);
  });

  it('logs the verified pending key by fingerprint and principal, and the authenticated one by fingerprint', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    const pending = valueAt(h, 'AWSPENDING');
    // Act
    await h.step('setSecret', token);
    await h.step('testSecret', token);
    // Assess
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'INFO', step: 'setSecret', fingerprint: fingerprint(pending.apiKey), principal: 'acct-1' }));
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'INFO', step: 'testSecret', fingerprint: fingerprint(pending.apiKey) }));
  });

  it('names the current key the provider rejects by fingerprint', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    const current = valueAt(h, 'AWSCURRENT');
    h.provider.fail({ op: 'verify', error: 'auth' });
    // Act
    await h.step('setSecret', token);
    // Assess
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'WARN', step: 'setSecret', fingerprint: fingerprint(current.apiKey) }));
  });

  it('logs each wait for the pending key with its attempt, wait and error', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    h.provider.fail({ op: 'verify', error: 'auth', times: 2 });
    // Act
    await h.step('testSecret', token);
    // Assess
    const waits = logs(h).filter((l) => l.step === 'testSecret' && l.attempt !== undefined);
    expect(waits).toEqual([
      expect.objectContaining({ attempt: 1, waitMs: expect.any(Number), error: expect.stringContaining('credential rejected') }),
      expect.objectContaining({ attempt: 2, waitMs: expect.any(Number), error: expect.stringContaining('credential rejected') }),
    ]);
  });

  it('gives up on a pending key the provider keeps rejecting, saying how long it waited, with the rejection as the cause', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    await h.step('createSecret', token);
    h.provider.fail({ op: 'verify', error: 'auth', times: 100 });
    const before = h.clock.now();
    // Act
    const error = await h.step('testSecret', token).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(PendingKeyRejectedError);
    expect((error as Error).cause).toBeInstanceOf(ProviderAuthError);
    const waited = Number(/over (\d+) s/.exec((error as Error).message)?.[1]);
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThanOrEqual(Math.round((h.clock.now() - before) / 1000));
  });
});

describe('Step: finishSecret, what it reports', () => {
  it('logs the promoted key by fingerprint with the previous key and its deadline', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    const started = h.clock.now();
    // Act
    await h.rotate(token);
    // Assess
    const promoted = valueAt(h, 'AWSCURRENT');
    expect(logs(h)).toContainEqual(
      expect.objectContaining({
        level: 'INFO', step: 'finishSecret', fingerprint: fingerprint(promoted.apiKey),
        previousKeyId: h.initialKeyId, previousKeyDeadline: isoTime(started + GRACE * 1000),
      }),
    );
  });

  it('names the previous key when it is already revoked and no grace is arranged', async () => {
    // Prepare
    const h = await rotationHarness();
    await h.provider.revoke(h.initialKeyId!);
    await putKeyRecord(h.sm.client, h.arn, { keyId: h.initialKeyId!, phase: 'revoked', due: h.clock.now(), versionId: h.initialVersion, reason: 'no-replacement', by: 'ana' });
    // Act
    await h.rotate(h.start());
    // Assess
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'INFO', step: 'finishSecret', previousKeyId: h.initialKeyId }));
  });

  it('names the key and the error when it cannot arrange the revocation', async () => {
    // Prepare
    const h = await rotationHarness({ deps: { scheduler: { scheduleRevocation: async () => { throw new Error('scheduler down'); } } } });
    // Act
    await h.rotate(h.start());
    // Assess
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'ERROR', keyId: h.initialKeyId, error: expect.stringContaining('scheduler down') }));
  });

  it('names the error when it cannot announce the rotation', async () => {
    // Prepare
    const h = await rotationHarness({ deps: { events: { keyRotated: async () => { throw new Error('event bus down'); } } } });
    // Act
    await h.rotate(h.start());
    // Assess
    expect(logs(h)).toContainEqual(expect.objectContaining({ level: 'ERROR', step: 'finishSecret', error: expect.stringContaining('event bus down') }));
  });

  it('writes the current-key note once when a first rotation finishes on a retry', async () => {
    // Prepare: the note lands, then the claim fails before it takes effect
    const h = await rotationHarness({ withCurrent: false });
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    h.sm.fail({ op: 'UpdateSecretVersionStage', error: new Error('Runtime exited') });
    await expect(h.step('finishSecret', token)).rejects.toThrow(/Runtime exited/);
    // Act
    await h.step('finishSecret', token);
    // Assess
    expect(h.sm.mock).toHaveReceivedCommandTimes(TagResourceCommand, 1);
    expect(h.sm.stages(h.arn)[token]).toContain('AWSCURRENT');
  });

  it('gives up, current key intact, when a cancel removed AWSPENDING before its claim', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    h.sm.fail({ op: 'UpdateSecretVersionStage', error: awsError('InvalidParameterException', 'version does not have AWSPENDING') });
    // Act
    const result = h.step('finishSecret', token);
    // Assess
    await expect(result).rejects.toThrow(RotationCancelledError);
    await expect(result).rejects.toThrow(/keyrelay cancel/);
    expect(h.sm.stages(h.arn)[h.initialVersion!]).toEqual(['AWSCURRENT']);
  });

  it('fails with the error itself when the claim fails otherwise', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    h.sm.fail({ op: 'UpdateSecretVersionStage', error: awsError('AccessDeniedException', 'not allowed') });
    // Act + Assess
    await expect(h.step('finishSecret', token)).rejects.toThrow(expect.objectContaining({ name: 'AccessDeniedException' }));
  });
});

describe('Step: finishSecret never promotes a key revoked on purpose', () => {
  it.each([
    ['cancel', 'ana', /carries a 'cancel' record by ana/],
    ['emergency', undefined, /carries a 'emergency' record\. The rotation was abandoned/],
  ])("refuses a pending key with a '%s' record, current key intact", async (reason, by, message) => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    const pending = valueAt(h, 'AWSPENDING');
    await putKeyRecord(h.sm.client, h.arn, { keyId: pending.keyId, phase: 'grace', due: h.clock.now(), versionId: token, reason, by });
    // Act
    const result = h.step('finishSecret', token);
    // Assess
    await expect(result).rejects.toThrow(RotationCancelledError);
    await expect(result).rejects.toThrow(message);
    expect(h.sm.stages(h.arn)[h.initialVersion!]).toEqual(['AWSCURRENT']);
  });

  it('refuses when the record appears while it claims the version', async () => {
    // Prepare: an emergency on the pending key lands between finishSecret's first look and its claim
    const h = await rotationHarness();
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    const pending = valueAt(h, 'AWSPENDING');
    const send = h.sm.client.send.bind(h.sm.client);
    vi.spyOn(h.sm.client, 'send').mockImplementation(async (command: Parameters<typeof send>[0]) => {
      if (command instanceof UpdateSecretVersionStageCommand && command.input.VersionStage === 'AWSPENDING') {
        await putKeyRecord(h.sm.client, h.arn, { keyId: pending.keyId, phase: 'grace', due: h.clock.now(), versionId: token, reason: 'emergency', by: 'bo' });
      }
      return send(command);
    });
    // Act + Assess
    await expect(h.step('finishSecret', token)).rejects.toThrow(RotationCancelledError);
    expect(h.sm.stages(h.arn)[h.initialVersion!]).toEqual(['AWSCURRENT']);
  });

  it("still promotes when only another key of the secret carries an emergency record", async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    await putKeyRecord(h.sm.client, h.arn, { keyId: 'older-key', phase: 'revoked', due: h.clock.now(), reason: 'emergency', by: 'bo' });
    // Act
    await h.step('finishSecret', token);
    // Assess
    expect(h.sm.stages(h.arn)[token]).toContain('AWSCURRENT');
  });
});

describe('Step: a step retried after the rotation finished', () => {
  /** A rotation whose finishSecret moved AWSCURRENT, then died before arranging the revocation. */
  async function finishedButNotArranged(options: Parameters<typeof rotationHarness>[0] = {}, before?: (h: Harness) => Promise<void>) {
    const h = await rotationHarness(options);
    await before?.(h);
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    h.sm.fail({ op: 'UpdateSecretVersionStage', error: new Error('Runtime exited'), when: 'after', skip: 1 });
    await expect(h.step('finishSecret', token)).rejects.toThrow(/Runtime exited/);
    return { h, token };
  }

  it('arranges nothing when a step other than finishSecret is retried', async () => {
    // Prepare
    const { h, token } = await finishedButNotArranged();
    // Act
    await h.step('createSecret', token);
    await h.step('testSecret', token);
    // Assess
    expect(h.scheduled).toEqual([]);
  });

  it("re-arranges only the previous key's own grace record, not another key's", async () => {
    // Prepare: records written before the rotation come first: a grace record of another version, and one without a
    // version (an orphan)
    const { h, token } = await finishedButNotArranged({}, async (h) => {
      await putKeyRecord(h.sm.client, h.arn, { keyId: 'older', phase: 'grace', due: h.clock.now() + 1000, versionId: 'gone-version' });
      await putKeyRecord(h.sm.client, h.arn, { keyId: 'orphan', phase: 'grace', due: h.clock.now() + 2000 });
    });
    // Act
    await h.step('finishSecret', token);
    // Assess
    expect(h.scheduled).toEqual([expect.objectContaining({ keyId: h.initialKeyId })]);
  });

  it('leaves a previous key the revoker already holds (usage hold) to the revoker', async () => {
    // Prepare
    const { h, token } = await finishedButNotArranged();
    await putKeyRecord(h.sm.client, h.arn, { keyId: h.initialKeyId!, phase: 'held', due: h.clock.now() + 600_000, versionId: h.initialVersion, heldSince: h.clock.now() });
    // Act
    await h.step('finishSecret', token);
    // Assess
    expect(h.scheduled).toEqual([]);
  });

  it('arranges nothing for an orphan record when a first rotation (no previous version) is retried', async () => {
    // Prepare
    const { h, token } = await finishedButNotArranged({ withCurrent: false });
    await putKeyRecord(h.sm.client, h.arn, { keyId: 'orphan', phase: 'grace', due: h.clock.now() + 1000 });
    // Act
    await h.step('finishSecret', token);
    // Assess
    expect(h.scheduled).toEqual([]);
  });
});
