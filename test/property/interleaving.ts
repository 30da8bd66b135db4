import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import fc from 'fast-check';
import { parseSecretValue } from '../../core/secret-value';
import { labelledTokenFor, stageHolders } from '../../core/state';
import type { KeyProvider } from '../../lambda/providers/types';
import { createRevokerHandler } from '../../lambda/revoker/handler';
import type { RevokerDeps } from '../../lambda/revoker/deps';
import { ORPHAN_MIN_AGE_MS } from '../../lambda/revoker/keys';
import type { RevokerRequest } from '../../lambda/revoker/protocol';
import { createRotationHandler } from '../../lambda/rotation';
import { RevokerWorld } from '../support/revoker-harness';

/**
 * Interleavings inside operations (issue 13): each operation is the real code (rotation steps, revoker actions) whose
 * every Secrets Manager and provider call is a point where fast-check's scheduler (`fc.scheduler`) decides who runs
 * next. Invariants are checked after every call. The scenario: one secret rotated twice (the previous key in its grace
 * period), maybe with a rotation stuck after createSecret, then a few of these at once.
 */

/** An operation that runs concurrently with the others. */
export type Step =
  /** Secrets Manager's retry of the stuck rotation: setSecret, testSecret, finishSecret. */
  | 'finish'
  /** `keyrelay cancel`. */
  | 'cancel'
  /** The scheduled revocation of the previous key. */
  | 'revokeDue'
  /** The hourly sweep. */
  | 'reconcile'
  /** `keyrelay rollback`: the revoker's action. */
  | 'rollback';

/** One generated case. */
export interface Interleaving {
  steps: Step[];
  /** Whether the previous key's grace is over when the operations start (the revocation is due). */
  graceOver: boolean;
  /** Two-phase revocation (disable, then delete after the window). */
  observation: boolean;
  /** Whether a rotation is stuck after createSecret (else nothing is pending: rollback's case). */
  stuck: boolean;
}

/** Cases: two to four operations at once. */
export const interleavingArb: fc.Arbitrary<Interleaving> = fc.record({
  steps: fc.array(fc.constantFrom<Step>('finish', 'cancel', 'revokeDue', 'reconcile', 'rollback'), { minLength: 2, maxLength: 4 }),
  graceOver: fc.boolean(),
  observation: fc.boolean(),
  stuck: fc.boolean(),
});

/** What the generated runs exercised (printed, so a vacuous run shows). */
export const interleavingStats = { runs: 0, calls: 0, promoted: 0, cancelled: 0, revoked: 0, rolledBack: 0, failedOps: 0 };

const HOUR = 3_600_000;

const quietLogger = {
  createChild: () => quietLogger, appendKeys: () => undefined, debug: () => undefined,
  info: () => undefined, warn: () => undefined, error: () => undefined,
} as unknown as Logger;
const quietMetrics = {
  singleMetric() {
    const m = { addDimensions: () => m, addMetric: () => m };
    return m;
  },
} as unknown as Metrics;

/**
 * Runs one case under `s`.
 * @returns the invariant violations seen (empty when none).
 */
export async function runInterleaving(c: Interleaving, s: fc.Scheduler): Promise<string[]> {
  interleavingStats.runs++;
  const world = new RevokerWorld('payments/api', c.observation ? { observation: 3600 } : {}, 10);
  await world.rotate();
  await world.rotate();
  const token = c.stuck ? await world.createPending() : 'no-rotation';
  if (c.graceOver) await world.clock.advance(HOUR + 1000);
  const violations: string[] = [];

  // Safety after every call: no key AWSCURRENT or AWSPENDING references is revoked or disabled.
  const check = (after: string): void => {
    interleavingStats.calls++;
    for (const stage of ['AWSCURRENT', 'AWSPENDING']) {
      const text = world.sm.valueAt(world.arn, stage);
      if (!text) continue;
      const keyId = parseSecretValue(text, world.name).keyId;
      const status = world.status(keyId);
      if (status !== 'active') violations.push(`after ${after}: ${stage} references key ${keyId}, which is ${status}`);
    }
  };
  const sm = {
    send: async (command: object) => {
      const name = command.constructor.name.replace(/Command$/, '');
      await s.schedule(Promise.resolve(), `sm:${name}`);
      try {
        return await world.sm.send(command);
      } finally {
        check(name);
      }
    },
  } as unknown as SecretsManagerClient;
  const provider = new Proxy(world.provider, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await s.schedule(Promise.resolve(), `provider:${String(prop)}`);
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          check(`provider.${String(prop)}`);
        }
      };
    },
  }) as KeyProvider;
  const deps: RevokerDeps = { ...world.deps, sm, provider: async () => provider };
  const revoker = createRevokerHandler(deps);
  const rotation = createRotationHandler({
    sm, provider: async () => provider, clock: world.clock, scheduler: world.scheduler,
    events: { keyRotated: async () => undefined }, logger: quietLogger, metrics: quietMetrics, retry: { random: () => 0.5 },
  });
  const act = async (request: RevokerRequest): Promise<void> => void (await revoker(request));
  const run: Record<Step, () => Promise<void>> = {
    finish: async () => {
      for (const Step of ['setSecret', 'testSecret', 'finishSecret']) await rotation({ Step, SecretId: world.arn, ClientRequestToken: token });
      interleavingStats.promoted++;
    },
    cancel: async () => {
      await act({ action: 'cancel', secretId: world.arn, operator: 'sim' });
      interleavingStats.cancelled++;
    },
    revokeDue: () => act({ action: 'revokeDue', secretId: world.arn }),
    reconcile: () => act({ action: 'reconcile', secretId: world.arn }),
    rollback: async () => {
      await act({ action: 'rollback', secretId: world.arn, operator: 'sim' } as RevokerRequest);
      interleavingStats.rolledBack++;
    },
  };
  const ops = c.steps.map((step) => run[step]().catch(() => void interleavingStats.failedOps++));
  await s.waitFor(Promise.all(ops));

  // No orphan: once every grace, observation window and the orphan age have passed, two sweeps leave no key of this
  // secret alive that neither AWSCURRENT nor AWSPENDING references.
  for (let i = 0; i < 3; i++) {
    await world.clock.advance(2 * HOUR + ORPHAN_MIN_AGE_MS);
    await world.handler({ action: 'reconcile', secretId: world.arn }).catch(() => undefined);
  }
  check('the final sweeps');
  const { pending, current } = stageHolders(world.sm.stages(world.arn));
  const referenced = new Set(
    ['AWSCURRENT', 'AWSPENDING'].flatMap((stage) => {
      const text = world.sm.valueAt(world.arn, stage);
      return text ? [parseSecretValue(text, world.name).keyId] : [];
    }),
  );
  for (const key of world.provider.alive()) {
    const keyToken = labelledTokenFor(world, key.label);
    if (keyToken === undefined || referenced.has(key.keyId) || (keyToken === pending && pending !== current)) continue;
    violations.push(`orphan: key ${key.keyId} (token ${keyToken}) is ${key.status}, referenced by nothing, after the sweeps`);
  }
  interleavingStats.revoked += world.provider.calls.filter((call) => call.op === 'revoke').length;
  return violations;
}
