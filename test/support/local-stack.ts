import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll } from 'vitest';
import { resolveConfig, type KeyRelayConfig, type ResolvedKey } from '../../lib/config';
import { createRevokerHandler } from '../../lambda/revoker/handler';
import { providerKeyLabel } from '../../core/state';
import { LOCAL_FUNCTIONS, startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack';
import { registerSecret } from './leak-guard';

/**
 * One local stack per test file: started in `beforeAll`, stopped in `afterAll`. Tests in the file share it and use
 * unique secret names ({@link uniqueName}); every key the reference provider issues is registered with the leak guard.
 *
 * @example
 * const local = useLocalStack();
 * it('rotates', async () => {
 *   const name = await local.addKey('payments');
 *   await local.sm().send(new RotateSecretCommand({ SecretId: name }));
 * });
 */
export interface LocalStackFixture {
  /** The running stack (throws before `beforeAll` ran). */
  readonly stack: LocalStack;
  /** A Secrets Manager client on the stack's endpoint. */
  sm(): SecretsManagerClient;
  /**
   * Adds a managed secret with a unique name starting with `prefix` and issues its first key.
   * @returns the secret's name
   */
  addKey(prefix: string, key?: KeyRelayConfig['keys'][string], options?: { issue?: boolean }): Promise<string>;
  /** The label keyrelay gives a key of secret `name` for `token` (labels name the secret by its ARN resource id). */
  labelFor(name: string, token: string): Promise<string>;
  /** Polls DescribeSecret (real I/O, never clock time) until `done` holds. @throws after `timeoutMs` of real time. */
  waitFor(secretId: string, done: (stages: Record<string, string[]>) => boolean, timeoutMs?: number): Promise<Record<string, string[]>>;
}

/** Admin credential secret the fixture's keys use. */
export const TEST_ADMIN_SECRET = 'keyrelay/admin/reference-test';

/** A secret name no other test uses: `<prefix>-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * Resolves one key the way `keyrelay.config.json` would: reference provider, the test admin secret, a grace period
 * of 1 h, and `rotateEvery: 7d` unless the key sets a `schedule`.
 */
export function testKey(name: string, key: KeyRelayConfig['keys'][string] = {}): ResolvedKey {
  const config = resolveConfig({
    defaults: { provider: { type: 'reference' }, adminSecret: TEST_ADMIN_SECRET, gracePeriod: '1h' },
    keys: { [name]: key.schedule === undefined ? { rotateEvery: '7d', ...key } : key },
  });
  return config.keys[0] as ResolvedKey;
}

/** What {@link useLocalStack} passes on to `startLocalStack` (the fixture supplies the config and `onIssue`). */
export type LocalStackFixtureOptions = Omit<LocalStackOptions, 'config' | 'configPath'>;

/** Retry budget of {@link FAST_LOCAL_STACK}: two attempts, waits of a few ms. */
const FAST_RETRY = { attempts: 2, baseMs: 5, maxMs: 10 };

/**
 * A stack whose failures surface at once: a large quota (every secret of the file shares one admin credential), no
 * rotation retries or reconcile sweep, and two quick attempts per provider call in both the rotation steps and the
 * revoker (registered with no-op metrics). Trade-off: a test of back-off or retry schedules needs its own options.
 *
 * @example const local = useLocalStack(FAST_LOCAL_STACK);
 */
export const FAST_LOCAL_STACK: LocalStackFixtureOptions = {
  quota: 1000,
  retryDelaysMs: [],
  reconcileEveryMs: 0,
  rotationRetry: { ...FAST_RETRY, verifyAttempts: 2, verifyBaseMs: 5, verifyMaxMs: 10 },
  functions: (deps) => ({
    [LOCAL_FUNCTIONS.revoker]: createRevokerHandler({ ...deps, metrics: { addMetric: () => undefined }, retry: FAST_RETRY }),
  }),
};

/** Registers beforeAll/afterAll hooks for one shared stack; see {@link LocalStackFixture}. */
export function useLocalStack(options: LocalStackFixtureOptions = {}): LocalStackFixture {
  let stack: LocalStack | undefined;
  let client: SecretsManagerClient | undefined;
  beforeAll(async () => {
    stack = await startLocalStack({ config: resolveConfig({ keys: {} }), onIssue: registerSecret, ...options });
  });
  afterAll(async () => {
    client?.destroy();
    await stack?.stop();
  });
  const fixture: LocalStackFixture = {
    get stack() {
      if (!stack) throw new Error('the local stack is not started yet: use it inside tests or hooks');
      return stack;
    },
    sm() {
      client ??= fixture.stack.secretsManager();
      return client;
    },
    async addKey(prefix, key, addOptions) {
      const name = uniqueName(prefix);
      await fixture.stack.addKey(testKey(name, key), addOptions);
      return name;
    },
    async labelFor(name, token) {
      const { ARN } = await fixture.sm().send(new DescribeSecretCommand({ SecretId: name }));
      return providerKeyLabel({ arn: ARN ?? name, name }, token);
    },
    async waitFor(secretId, done, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const described = await fixture.sm().send(new DescribeSecretCommand({ SecretId: secretId }));
        const stages = described.VersionIdsToStages ?? {};
        if (done(stages)) return stages;
        if (Date.now() > deadline) throw new Error(`'${secretId}' did not reach the expected state; stages: ${JSON.stringify(stages)}`);
        // Each poll is a real request to the endpoint; this only spaces them out.
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
  return fixture;
}
