import { GetSecretValueCommand, PutSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSecretValue, type SecretValue } from '../../core/secret-value';
import type { HookPoint } from '../../local/stack';
import { useLocalStack, type LocalStackFixture, type LocalStackFixtureOptions } from '../support/local-stack';
import { labelNamesSecret } from '../../core/state';

// Rotations through the real AWS SDK against the local endpoint: RotateSecret answers at once, the four steps run
// in the deployed bundle (a Node 24 process behind the local Lambda Runtime API), failures are retried like AWS (the
// test advances the clock to the retry). Tests that make the provider fail inside a step run the TypeScript handler
// in-process instead (below), with small step budgets: the bundle's own budget backs off in real time.
const COMMON: LocalStackFixtureOptions = {
  retryDelaysMs: [60_000, 60_000],
  reconcileEveryMs: 0,
  // Every secret of the file shares one admin credential.
  quota: 1000,
};
/** The stack of the describe block running (one at a time: each block starts and stops its own). */
let local: LocalStackFixture;
function useStack(options: LocalStackFixtureOptions): void {
  const fixture = useLocalStack({ ...COMMON, ...options });
  beforeAll(() => {
    local = fixture;
  });
}

async function valueAt(secretId: string, stage = 'AWSCURRENT'): Promise<SecretValue & { versionId: string }> {
  const out = await local.sm().send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
  return { ...parseSecretValue(out.SecretString, secretId), versionId: out.VersionId as string };
}

async function whoami(apiKey: string): Promise<number> {
  const res = await fetch(`${local.stack.providerUrl}/v1/whoami`, { headers: { authorization: `Bearer ${apiKey}` } });
  await res.arrayBuffer();
  return res.status;
}

/** Provider keys labelled for `secretName` that are not deleted. */
function liveKeys(secretName: string): string[] {
  return local.stack.provider
    .keys()
    .filter((k) => k.status !== 'deleted' && labelNamesSecret(k.name, secretName))
    .map((k) => k.id)
    .sort();
}

async function rotate(secretId: string): Promise<string> {
  const out = await local.sm().send(new RotateSecretCommand({ SecretId: secretId }));
  return out.VersionId as string;
}

/** Waits (real I/O) until the rotation's current attempt has ended. */
async function attemptEnded(secretId: string): Promise<string> {
  const state = await local.stack.rotation.settled(secretId);
  return state?.runs.at(-1)?.status ?? 'none';
}

/** A crash at `point` fails the first attempt; the retry converges on the new key with no orphaned provider key. */
async function convergesAfterCrash(point: HookPoint): Promise<void> {
  // Prepare
  const name = await local.addKey('crash');
  const before = await valueAt(name);
  local.stack.crashOnce(point, name);

  // Act
  const token = await rotate(name);
  const first = await attemptEnded(name);
  const ran = await local.stack.advance(60_000);

  // Assess
  expect(first).toBe('retrying');
  expect(ran.map((r) => r.label)).toContain(`retry rotation ${name}`);
  const run = local.stack.rotation.get(name)?.runs.at(-1);
  expect(run).toMatchObject({ token, status: 'succeeded', attempts: 2 });
  expect(run?.errors[0]).toMatch(/InjectedCrash/);
  const after = await valueAt(name);
  expect(after.versionId).toBe(token);
  expect(liveKeys(name)).toEqual([before.keyId, after.keyId].sort());
  expect(await whoami(after.apiKey)).toBe(200);
}

describe('Class: RotationService (local RotateSecret), functions run from their bundles', () => {
  useStack({ functionMode: 'bundle' });

  it('rotates to a new key that works while the old one still works', async () => {
    // Prepare
    const name = await local.addKey('full');
    const before = await valueAt(name);

    // Act
    const token = await rotate(name);
    const stages = await local.waitFor(name, (s) => s[token]?.includes('AWSCURRENT') === true);
    await attemptEnded(name); // finishSecret publishes and schedules after the move, within its invocation

    // Assess
    const after = await valueAt(name);
    expect(after.versionId).toBe(token);
    expect(after.keyId).not.toBe(before.keyId);
    expect(stages[before.versionId]).toContain('AWSPREVIOUS');
    expect(await whoami(after.apiKey)).toBe(200);
    expect(await whoami(before.apiKey)).toBe(200);
    expect(local.stack.events.map((e) => e.detail.versionId)).toContain(token);
    expect(local.stack.scheduler.revocations).toContainEqual(
      expect.objectContaining({ secretName: name, keyId: before.keyId, status: 'scheduled' }),
    );
    expect(liveKeys(name)).toEqual([before.keyId, after.keyId].sort());
  });

  it('revokes the previous key through the bundled revoker, scheduled through the Scheduler API, when its grace period ends', async () => {
    // Prepare
    const name = await local.addKey('grace');
    const before = await valueAt(name);
    const token = await rotate(name);
    await local.waitFor(name, (s) => s[token]?.includes('AWSCURRENT') === true);
    await attemptEnded(name);
    const after = await valueAt(name);

    // Act
    const ran = await local.stack.advance(3_600_000 + 1000); // the test keys' grace period is 1 h

    // Assess
    expect(ran).toContainEqual(expect.objectContaining({ label: `revokeDue ${name} ${before.keyId}` }));
    expect(ran.find((r) => r.label.startsWith(`revokeDue ${name}`))?.error).toBeUndefined();
    expect(local.stack.scheduler.revocations).toContainEqual(expect.objectContaining({ keyId: before.keyId, status: 'fired' }));
    expect(await whoami(before.apiKey)).toBe(401);
    expect(await whoami(after.apiKey)).toBe(200);
    expect(liveKeys(name)).toEqual([after.keyId]);
  });

  it.each<HookPoint>(['after:createSecret', 'after:testSecret', 'after:finishSecret'])(
    'converges with no orphaned provider key after a crash at %s',
    convergesAfterCrash,
  );

  it('abandons a failed rotation when a new version is written before its retry, as AWS does (RotationAbandoned)', async () => {
    // Prepare: the first attempt fails after createSecret put the new key on the pending version.
    const name = await local.addKey('abandoned');
    local.stack.crashOnce('after:createSecret', name);
    const token = await rotate(name);
    expect(await attemptEnded(name)).toBe('retrying');
    // An operator writes the secret by hand (here: the current value again, e.g. `keyrelay import`).
    const current = await local.sm().send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
    const manual = await local.sm().send(new PutSecretValueCommand({ SecretId: name, SecretString: current.SecretString }));

    // Act
    await local.stack.advance(60_000);

    // Assess: the retry does not promote the pending key over the manual write.
    expect(local.stack.rotation.get(name)?.runs.at(-1)).toMatchObject({ token, status: 'abandoned', attempts: 2 });
    const stages = await local.waitFor(name, () => true);
    expect(stages[manual.VersionId as string]).toContain('AWSCURRENT');
    expect(stages[token] ?? []).not.toContain('AWSPENDING');
  });

  it('starts a scheduled rotation when the clock reaches its window', async () => {
    // Prepare
    const name = await local.addKey('scheduled', { rotateEvery: '1d' });
    const before = await valueAt(name);
    const next = local.stack.rotation.get(name)?.nextRotation as number;

    // Act
    const ran = await local.stack.advance(next - local.stack.clock.now() + 1);

    // Assess
    expect(next).toBeGreaterThanOrEqual(before.issuedAt ? Date.parse(before.issuedAt) + 86_400_000 - 1000 : 0);
    expect(ran.map((r) => r.label)).toContain(`scheduled rotation ${name}`);
    const after = await valueAt(name);
    expect(after.keyId).not.toBe(before.keyId);
    expect(local.stack.rotation.get(name)?.nextRotation).toBeGreaterThan(next);
  });
});

describe('Class: RotationService (local RotateSecret), faults inside a step (in-process handler)', () => {
  useStack({
    functionMode: 'in-process',
    // Small step budgets: a provider failure fails its step at once instead of backing off for a minute.
    rotationRetry: { attempts: 2, baseMs: 1, maxMs: 1, verifyAttempts: 2, verifyBaseMs: 1, verifyMaxMs: 1 },
  });

  it.each<HookPoint>(['afterIssue'])(
    'converges with no orphaned provider key after a crash at %s',
    convergesAfterCrash,
  );

  it.each([
    { step: 'createSecret', path: '/v1/keys' },
    { step: 'setSecret', path: '/v1/whoami' },
    { step: 'testSecret', path: '/v1/whoami' },
  ] as const)('leaves AWSPENDING behind when the provider fails in $step, and the next attempt recovers', async ({ step, path }) => {
    // Prepare
    const name = await local.addKey('fault');
    const before = await valueAt(name);
    local.stack.hookOnce(`before:${step}`, () => local.stack.provider.faults.set({ status: 503, match: { path } }), name);

    // Act
    const token = await rotate(name);
    const first = await attemptEnded(name);
    const pending = await local.waitFor(name, () => true);
    local.stack.provider.faults.clear();
    await local.stack.advance(60_000);

    // Assess
    expect(first).toBe('retrying');
    expect(local.stack.rotation.get(name)?.runs.at(-1)?.errors[0]).toMatch(new RegExp(`attempt 1 ${step}:`));
    expect(pending[token]).toEqual(['AWSPENDING']);
    expect(pending[before.versionId]).toContain('AWSCURRENT');
    const after = await valueAt(name);
    expect(after.versionId).toBe(token);
    expect(liveKeys(name)).toEqual([before.keyId, after.keyId].sort());
  });

  it('gives up after the last retry and leaves AWSPENDING for the operator', async () => {
    // Prepare
    const name = await local.addKey('exhausted');
    local.stack.provider.faults.set({ status: 503, match: { path: '/v1/keys' } });

    // Act
    const token = await rotate(name);
    await attemptEnded(name);
    await local.stack.advance(180_000); // both retries (60 s apart, each after real I/O)
    local.stack.provider.faults.clear();

    // Assess
    expect(local.stack.rotation.get(name)?.runs.at(-1)).toMatchObject({ token, status: 'failed', attempts: 3 });
    const stages = await local.waitFor(name, () => true);
    expect(stages[token]).toEqual(['AWSPENDING']);
    await expect(rotate(name)).rejects.toThrow(/A previous rotation isn't complete/);
  });
});
