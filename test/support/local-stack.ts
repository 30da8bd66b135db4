import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll } from 'vitest';
import { resolveConfig, type KeyRelayConfig, type ResolvedKey } from '../../lib/config';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack';
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

/** Registers beforeAll/afterAll hooks for one shared stack; see {@link LocalStackFixture}. */
export function useLocalStack(options: Omit<LocalStackOptions, 'config' | 'configPath'> = {}): LocalStackFixture {
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
