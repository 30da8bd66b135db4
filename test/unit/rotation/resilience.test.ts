import { DescribeSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it } from 'vitest';
import { parseSecretValue } from '../../../core/secret-value';
import { TAGS } from '../../../core/state';
import { ProviderUnavailableError } from '../../../lambda/providers/errors';
import { PrincipalMismatchError } from '../../../lambda/rotation';
import type { FakeFault } from '../../support/fake-provider';
import type { SmFault } from '../../support/fake-secrets-manager';
import { secretValue } from '../../support/leak-guard';
import { rotationHarness, type Harness } from './harness';

const crash = () => new Error('Runtime exited with error: signal: killed');
const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });

type Point = { sm: Omit<SmFault, 'error'> } | { provider: FakeFault } | { crashAfterIssue: true };

// Every external call a rotation makes, failing before it takes effect and (for writes) after.
const POINTS: Array<[string, Point]> = [
  ...[0, 1, 2, 3].map((skip): [string, Point] => [`DescribeSecret in step ${skip + 1}`, { sm: { op: 'DescribeSecret', skip } }]),
  ['GetSecretValue of the pending version', { sm: { op: 'GetSecretValue' } }],
  ['GetSecretValue of the current version', { sm: { op: 'GetSecretValue', skip: 1 } }],
  ['PutSecretValue (between issue and put)', { sm: { op: 'PutSecretValue' } }],
  ['PutSecretValue, after it landed', { sm: { op: 'PutSecretValue', when: 'after' } }],
  ['TagResource (deadline)', { sm: { op: 'TagResource' } }],
  ['TagResource, after it landed', { sm: { op: 'TagResource', when: 'after' } }],
  ['UpdateSecretVersionStage (the claim of AWSPENDING)', { sm: { op: 'UpdateSecretVersionStage' } }],
  // The claim landing and the invocation dying before the move abandons the rotation instead, current key intact
  // (finish-secret.test.ts): a claimed version can no longer be told from a cancelled one.
  ['UpdateSecretVersionStage (the move), after it landed', { sm: { op: 'UpdateSecretVersionStage', when: 'after', skip: 1 } }],
  ['provider list', { provider: { op: 'list', error: 'unavailable', times: 6 } }],
  ['provider issue', { provider: { op: 'issue', error: 'unavailable', times: 6 } }],
  ['provider issue, after the key was made', { crashAfterIssue: true }],
  ['provider verify (outage)', { provider: { op: 'verify', error: 'unavailable', times: 6 } }],
  ['provider verify (not propagated yet)', { provider: { op: 'verify', error: 'auth', times: 9 } }],
];

function inject(h: Harness, point: Point): void {
  if ('sm' in point) h.sm.fail({ ...point.sm, error: crash() });
  else if ('provider' in point) h.provider.fail(point.provider);
  else h.provider.crashAfterIssue = true;
}

/** The end state of a clean rotation, whatever failed on the way. */
function expectRotated(h: Harness, token: string): void {
  expect(h.sm.stages(h.arn)).toEqual({ [token]: ['AWSCURRENT'], [h.initialVersion ?? '']: ['AWSPREVIOUS'] });
  const current = parseSecretValue(h.sm.valueAt(h.arn, 'AWSCURRENT'), h.name);
  expect(h.provider.alive().map((k) => k.keyId).sort()).toEqual([h.initialKeyId, current.keyId].sort());
  expect(h.keysFor(token).map((k) => k.keyId)).toEqual([current.keyId]);
  expect(h.sm.tags(h.arn)[TAGS.keyRecord + h.initialKeyId]).toMatch(new RegExp(`^phase=grace due=\\d+ v=${h.initialVersion}$`));
  expect(h.scheduled.map((s) => s.keyId)).toContain(h.initialKeyId);
}

describe('Retries with the same token', () => {
  it.each(POINTS)('converges after a failure at %s', async (_name, point) => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    inject(h, point);

    // Act
    const attempts = await h.rotate(token, 3);

    // Assess
    expectRotated(h, token);
    expect(attempts).toBeLessThanOrEqual(2);
  });

  it('converges when every step is also retried on its own after succeeding', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();

    // Act
    for (const step of ['createSecret', 'createSecret', 'setSecret', 'setSecret', 'testSecret', 'testSecret', 'finishSecret', 'finishSecret']) {
      await h.step(step, token);
    }

    // Assess
    expectRotated(h, token);
  });
});

describe('Throttling', () => {
  it('retries a throttled call with jittered back-off on the injected clock', async () => {
    // Prepare: three throttles; the random source picks where in each back-off window to wait
    const draws = [0.1, 0.9, 0.3];
    const h = await rotationHarness({ deps: { retry: { random: () => draws.shift() ?? 0 } } });
    const token = h.start();
    h.sm.fail({ op: 'DescribeSecret', error: throttled(), times: 3 });
    const before = h.clock.now();

    // Act
    await h.step('createSecret', token);

    // Assess: full jitter over 200, 400, 800 ms windows
    expect(h.sm.mock).toHaveReceivedCommandTimes(DescribeSecretCommand, 4);
    expect(h.clock.now() - before).toBe(20 + 360 + 240);
  });

  it('retries an HTTP 429 without a throttling name', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    h.sm.fail({ op: 'PutSecretValue', error: Object.assign(new Error('Too Many Requests'), { $metadata: { httpStatusCode: 429 } }) });

    // Act
    await h.step('createSecret', token);

    // Assess
    expect(h.sm.mock).toHaveReceivedCommandTimes(PutSecretValueCommand, 2);
    expect(h.keysFor(token)).toHaveLength(1);
  });

  it("waits as long as the provider's Retry-After says", async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    h.provider.fail({ op: 'issue', error: 'throttled' });
    const before = h.clock.now();

    // Act
    await h.step('createSecret', token);

    // Assess
    expect(h.clock.now() - before).toBe(1000);
  });

  it('gives up within the Lambda timeout when throttling persists', async () => {
    // Prepare
    const h = await rotationHarness({ deps: { retry: { random: () => 0.99, attempts: 50 } } });
    const token = h.start();
    h.sm.fail({ op: 'DescribeSecret', error: throttled(), times: 1000 });
    const before = h.clock.now();

    // Act
    const result = h.handler({ Step: 'createSecret', SecretId: h.arn, ClientRequestToken: token }, { getRemainingTimeInMillis: () => 20_000 });

    // Assess
    await expect(result).rejects.toThrow('Rate exceeded');
    expect(h.clock.now() - before).toBeLessThanOrEqual(20_000 - 3_000);
    expect(h.sm.mock.commandCalls(DescribeSecretCommand).length).toBeGreaterThan(3);
  });

  it('starts no attempt that cannot finish before the Lambda timeout when each attempt is slow', async () => {
    // Prepare: the provider times out after 10 s on every call (the HTTP adapters' per-request timeout)
    const h = await rotationHarness({ deps: { retry: { random: () => 0.5 } } });
    const token = h.start();
    h.provider.list = async () => {
      await h.clock.sleep(10_000);
      throw new ProviderUnavailableError('fake', 'list API keys: timed out after 10000 ms');
    };
    const before = h.clock.now();

    // Act
    const result = h.handler({ Step: 'createSecret', SecretId: h.arn, ClientRequestToken: token }, { getRemainingTimeInMillis: () => 30_000 });

    // Assess: it fails with the provider's error while the function is still alive to report it
    await expect(result).rejects.toThrow(ProviderUnavailableError);
    expect(h.clock.now() - before).toBeLessThanOrEqual(30_000 - 3_000);
    expect(h.metrics().some((m) => 'RotationStepFailed' in m)).toBe(true);
  });
});

describe('Secrets stay secret', () => {
  it('logs, throws and measures no key material and no RotationToken, in success and failure', async () => {
    // Prepare
    const h = await rotationHarness();
    const rotationToken = secretValue(`rt-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`);
    const errors: unknown[] = [];
    const first = h.start();
    const extra = { RotationToken: rotationToken };

    // Act: a clean rotation, then one that fails in every way a key could be mentioned
    await h.rotate(first, 1, extra);
    const second = h.start();
    h.provider.fail({ op: 'verify', error: 'auth', times: 9 }); // the current key once, the pending key 8 times
    await h.rotate(second, 1, extra).catch((e: unknown) => errors.push(e));
    h.provider.calls.length = 0;
    const pending = h.keysFor(second)[0];
    if (pending) pending.principal = 'acct-9';
    await h.step('setSecret', second, extra).catch((e: unknown) => errors.push(e));

    // Assess
    expect(errors[1]).toBeInstanceOf(PrincipalMismatchError);
    const text = h.output() + errors.map((e) => `${(e as Error).message} ${JSON.stringify(e)}`).join('\n');
    expect(text).toContain('sha256:');
    for (const secret of [rotationToken, ...[...h.provider.keys.values()].map((k) => k.apiKey)]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('Metrics', () => {
  it('counts each step by step and provider, and the rotation on finish', async () => {
    // Prepare
    const h = await rotationHarness();
    const token = h.start();
    h.provider.fail({ op: 'verify', error: 'unavailable', times: 6 });

    // Act
    await h.rotate(token, 2);

    // Assess
    const points = h.metrics().map((m) => ({
      name: Object.keys(m).find((k) => /^Rotation/.test(k)),
      step: m.step,
      provider: m.provider,
    }));
    expect(points).toEqual([
      { name: 'RotationStepSucceeded', step: 'createSecret', provider: 'fake' },
      { name: 'RotationStepFailed', step: 'setSecret', provider: 'fake' },
      { name: 'RotationStepSucceeded', step: 'createSecret', provider: 'fake' },
      { name: 'RotationStepSucceeded', step: 'setSecret', provider: 'fake' },
      { name: 'RotationStepSucceeded', step: 'testSecret', provider: 'fake' },
      { name: 'RotationSucceeded', step: undefined, provider: 'fake' },
      { name: 'RotationStepSucceeded', step: 'finishSecret', provider: 'fake' },
    ]);
  });
});
