import { TagResourceCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it, vi } from 'vitest';
import { fingerprint, parseSecretValue } from '../../../core/secret-value';
import { TAGS, putKeyRecord, readManagedSecret } from '../../../core/state';
import { GRACE, rotationHarness } from './harness';

describe('Step: finishSecret', () => {
  it('claims the version (removes AWSPENDING), then moves AWSCURRENT with RemoveFromVersionId = the current holder', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();

    // Act
    await h.rotate(token);

    // Assess
    const moves = h.sm.mock.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
    expect(moves).toEqual([
      { SecretId: h.arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: token },
      { SecretId: h.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: h.initialVersion },
    ]);
    expect(h.sm.stages(h.arn)).toEqual({ [token]: ['AWSCURRENT'], [h.initialVersion ?? '']: ['AWSPREVIOUS'] });
  });

  it('abandons the rotation, current key intact, when its own claim landed but the invocation died', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    h.sm.fail({ op: 'UpdateSecretVersionStage', error: new Error('Runtime exited'), when: 'after' });
    await expect(h.step('finishSecret', token)).rejects.toThrow(/Runtime exited/);

    // Act
    const retried = h.step('finishSecret', token);

    // Assess
    await expect(retried).rejects.toThrow(/not a version of this secret|not AWSPENDING/);
    expect(h.sm.stages(h.arn)[h.initialVersion ?? '']).toEqual(['AWSCURRENT']);
  });

  it('is a no-op when repeated', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    await h.rotate(token);
    const stages = h.sm.stages(h.arn);
    const tags = h.sm.tags(h.arn);

    // Act
    await h.step('finishSecret', token);

    // Assess
    expect(h.sm.mock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 2);
    expect(h.sm.mock).toHaveReceivedCommandTimes(TagResourceCommand, 1);
    expect(h.sm.stages(h.arn)).toEqual(stages);
    expect(h.sm.tags(h.arn)).toEqual(tags);
    expect(h.published).toHaveLength(1);
  });

  it("writes the old key's deadline before it moves AWSCURRENT", async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    const finishedAt = h.clock.now();

    // Act
    await h.rotate(token);

    // Assess
    const order = h.sm.mock.calls().map((c) => c.args[0].constructor.name);
    const tagAt = order.indexOf('TagResourceCommand');
    expect(tagAt).toBeGreaterThan(-1);
    expect(tagAt).toBeLessThan(order.indexOf('UpdateSecretVersionStageCommand'));
    expect(h.sm.tags(h.arn)[TAGS.keyRecord + h.initialKeyId]).toBe(
      `phase=grace due=${Math.floor(finishedAt / 1000) + GRACE} v=${h.initialVersion}`,
    );
  });

  it('arranges the revocation at the deadline and announces the rotation with a fingerprint only', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    const now = h.clock.now();

    // Act
    await h.rotate(token);

    // Assess
    const newKey = parseSecretValue(h.sm.valueAt(h.arn, 'AWSCURRENT'), h.name);
    expect(h.scheduled).toEqual([{ secretArn: h.arn, secretName: h.name, keyId: h.initialKeyId, due: now + GRACE * 1000 }]);
    expect(h.published).toEqual([
      {
        secretName: h.name,
        secretArn: h.arn,
        versionId: token,
        fingerprint: fingerprint(newKey.apiKey),
        previousVersionId: h.initialVersion,
        previousKeyDeadline: new Date(now + GRACE * 1000).toISOString().replace('.000Z', 'Z'),
      },
    ]);
    expect(JSON.stringify(h.published)).not.toContain(newKey.apiKey);
  });

  it('on the first rotation, moves AWSCURRENT without RemoveFromVersionId, notes the new key and arranges nothing', async () => {
    // Prepare
    const h = await rotationHarness({ withCurrent: false });
    const token = h.start();

    // Act
    await h.rotate(token);

    // Assess
    const input = h.sm.mock.commandCalls(UpdateSecretVersionStageCommand)[1]?.args[0].input;
    expect(input).toEqual({ SecretId: h.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: token });
    const tagged = h.sm.mock.commandCalls(TagResourceCommand).map((c) => c.args[0].input.Tags?.map((t) => t.Key));
    expect(tagged).toEqual([['keyrelay:current']]);
    expect(h.scheduled).toEqual([]);
    expect(h.published[0]).not.toHaveProperty('previousVersionId');
  });

  it.each([
    ['scheduling', 'scheduler', 'RevocationScheduleFailed', "could not arrange the previous key's revocation"],
    ['publishing', 'events', 'EventPublishFailed', 'could not publish KeyRotated'],
  ] as const)('still finishes when %s fails after the move, with a log line and a metric', async (_what, port, metric, line) => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    if (port === 'scheduler') vi.mocked(h.deps.scheduler.scheduleRevocation).mockRejectedValueOnce(new Error('AccessDenied'));
    else vi.mocked(h.deps.events.keyRotated).mockRejectedValueOnce(new Error('AccessDenied'));

    // Act
    await h.rotate(token);

    // Assess
    expect(h.sm.stages(h.arn)[token]).toContain('AWSCURRENT');
    expect(h.output()).toContain(line);
    expect(h.metrics().some((m) => metric in m)).toBe(true);
  });

  it('arranges the revocation again when retried after dying between the move and the scheduling', async () => {
    // Prepare: the move lands but the invocation dies before it can arrange anything
    const h = await rotationHarness();
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    h.sm.fail({ op: 'UpdateSecretVersionStage', error: new Error('Runtime exited'), when: 'after', skip: 1 });
    await expect(h.step('finishSecret', token)).rejects.toThrow(/Runtime exited/);
    expect(h.scheduled).toEqual([]);

    // Act
    await h.step('finishSecret', token);

    // Assess
    expect(h.scheduled).toEqual([expect.objectContaining({ keyId: h.initialKeyId })]);
    expect(h.sm.mock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 2);
  });

  it('counts the grace from the promotion that happens, when retried an hour after a failed move', async () => {
    // Prepare: the old key stayed AWSCURRENT (apps kept using it) for the hour between the two attempts
    const h = await rotationHarness();
    const token = h.start();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, token);
    h.sm.fail({ op: 'UpdateSecretVersionStage', error: new Error('Runtime exited') });
    await expect(h.step('finishSecret', token)).rejects.toThrow(/Runtime exited/);
    await h.clock.advance(3_600_000);
    expect(h.sm.stages(h.arn)[token]).toEqual(['AWSPENDING']);

    // Act
    await h.step('finishSecret', token);

    // Assess
    const record = (await readManagedSecret(h.sm.client, h.arn)).records.find((r) => r.keyId === h.initialKeyId);
    expect(record).toMatchObject({ phase: 'grace', due: h.clock.now() + GRACE * 1000 });
  });

  it('gives a key rolled back to and rotated out again a full grace, not its old deadline', async () => {
    // Prepare: K0 rotated out (grace record due in 24 h), then rolled back to (`keyrelay rollback`), 23 h later
    const h = await rotationHarness();
    const first = h.start();
    await h.rotate(first);
    const previous = Object.entries(h.sm.stages(h.arn)).find(([, st]) => st.includes('AWSPREVIOUS'))![0];
    await h.sm.client.send(new UpdateSecretVersionStageCommand({ SecretId: h.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: previous, RemoveFromVersionId: first }));
    await h.clock.advance(23 * 3_600_000);

    // Act: the next rotation demotes K0 again
    await h.rotate(h.start());

    // Assess: apps that picked K0 back up get the whole grace period again
    const record = (await readManagedSecret(h.sm.client, h.arn)).records.find((r) => r.keyId === h.initialKeyId);
    expect(record?.due).toBe(h.clock.now() + GRACE * 1000);
  });

  it('leaves the record of a current key already revoked without replacement as it is, and arranges nothing for it', async () => {
    // Prepare: on-call revoked the current key (revokeWithoutReplacement): deleted, recorded with who and why
    const h = await rotationHarness();
    await h.provider.revoke(h.initialKeyId!);
    const revoked = { keyId: h.initialKeyId!, phase: 'revoked' as const, due: h.clock.now(), versionId: h.initialVersion, reason: 'no-replacement', by: 'ana' };
    await putKeyRecord(h.sm.client, h.arn, revoked);
    await h.clock.advance(60_000);

    // Act: the rotation that replaces it
    await h.rotate(h.start());

    // Assess: the audit trail (who revoked it, and why) survives, and no revocation is arranged for a dead key
    const record = (await readManagedSecret(h.sm.client, h.arn)).records.find((r) => r.keyId === h.initialKeyId);
    expect(record).toEqual({ ...revoked, due: Math.floor(revoked.due / 1000) * 1000 });
    expect(h.scheduled).toEqual([]);
  });
});

describe('Step: finishSecret, current-key note', () => {
  it("notes the promoted key's version, id and fingerprint in the same TagResource as the old key's deadline", async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    // Act
    await h.rotate(token);
    // Assess
    const secret = await readManagedSecret(h.sm.client, h.arn);
    const promoted = h.keysFor(token)[0]!;
    expect(secret.currentKey).toEqual({ versionId: token, keyId: promoted.keyId, fingerprint: fingerprint(promoted.apiKey) });
    expect(h.sm.mock).toHaveReceivedCommandTimes(TagResourceCommand, 1);
  });
});
