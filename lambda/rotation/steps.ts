import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { isoTime, type Clock } from '../../core/clock';
import type { SecretTrust } from '../../core/manifest';
import { describeError, RotationStateError } from '../../core/errors';
import { METRICS } from '../../core/metrics';
import type { EventPublisher, RevocationScheduler } from '../../core/ports';
import { isTransient, retry, RETRY_BUDGETS, type RetryBudget } from '../../core/retry';
import { fingerprint, type SecretValue } from '../../core/secret-value';
import {
  TAGS,
  currentKeyTag,
  demotionRecord,
  keyRecordTag,
  providerKeyLabel,
  putStateTags,
  readManagedSecret,
  stageHolders,
  type KeyRecord,
  type ManagedSecret,
} from '../../core/state';
import { KeyNotFoundError, ProviderAuthError, QuotaExceededError } from '../providers/errors';
import type { IssueRequest, KeyProvider, VerifiedKey } from '../providers/types';
import {
  PendingKeyRejectedError,
  PendingValueConflictError,
  PrincipalMismatchError,
  RotationCancelledError,
  RotationFrozenError,
  RotationQuotaError,
} from './errors';
import { claimPending, promoteVersion, putPendingVersion, readVersion, type VersionCache, type Call } from './versions';
import { errorName, type VersionValue } from '../../core/versions';

/**
 * The four rotation steps for API keys, as pure logic over injected clients (docs/rotation.md). Each step starts with
 * AWS's checks, is idempotent on the token, and retries throttling within the invocation's deadline.
 */

/** The steps Secrets Manager invokes, camelCase as on the wire. */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
/** One rotation step. */
export type RotationStep = (typeof ROTATION_STEPS)[number];

/**
 * How hard the steps retry ({@link RetryBudget} per AWS or provider call on throttling and transient failures, plus
 * the pending key's verification). Every wait stops short of the invocation's deadline (remaining time minus `marginMs`).
 */
export interface RotationRetry extends Partial<RetryBudget> {
  /** Attempts to authenticate with the pending key while the provider propagates it. @default 8 */
  verifyAttempts?: number;
  /** First wait between those attempts, ms (doubling, half jitter). @default 1000 */
  verifyBaseMs?: number;
  /** Largest wait between those attempts, ms. @default 8000 */
  verifyMaxMs?: number;
  /** Time kept back from the Lambda's remaining time, for the step to report its failure. @default 3000 */
  marginMs?: number;
  /** Time budget when there is no Lambda context (the local stack runs steps in-process), clock ms. @default 60000 */
  defaultBudgetMs?: number;
  /** Random source in [0, 1). @default Math.random */
  random?: () => number;
}

const BUDGET_DEFAULTS: Required<RotationRetry> = {
  ...RETRY_BUDGETS.rotation,
  verifyAttempts: 8,
  verifyBaseMs: 1000,
  verifyMaxMs: 8000,
  marginMs: 3000,
  defaultBudgetMs: 60_000,
  random: Math.random,
};

/** Everything the steps use, injected: the same code runs on AWS, under aws-sdk-client-mock and in the local stack. */
export interface RotationDeps {
  sm: SecretsManagerClient;
  /**
   * The deploy's manifest: which secrets this deployment manages and their settings (tags are only a mirror). The
   * deployed and local functions always have one. @default - settings from the tags (unit tests)
   */
  trust?: SecretTrust;
  /** The adapter for a secret's provider (on AWS: `providerForSecret` from lambda/runtime). Called only by steps that need it. */
  provider(secret: ManagedSecret): Promise<KeyProvider>;
  clock: Clock;
  /** Must be idempotent per (secret, keyId): a retried finishSecret arranges the same revocation again. */
  scheduler: RevocationScheduler;
  events: EventPublisher;
  /** Parent logger; each invocation logs through a child carrying `secretId`, `step` and `token`. */
  logger: Logger;
  /** Parent metrics; each data point is flushed at once (`singleMetric`), so concurrent invocations do not mix. */
  metrics: Metrics;
  /**
   * Called once when the provider's quota is full: frees keys this secret no longer references and whose grace is
   * over, and returns how many (the revoker provides it). @default - none: a full quota fails at once
   */
  onQuotaFull?: (secret: ManagedSecret, provider: KeyProvider) => Promise<number>;
  /** @default RETRY_BUDGETS.rotation and the defaults of {@link RotationRetry} */
  retry?: RotationRetry;
  /** Secret values by version, shared by the invocations of one container. @default - a new cache per handler */
  cache?: VersionCache;
}

/** One step to run. */
export interface StepRequest {
  step: RotationStep;
  secretId: string;
  /** ClientRequestToken: the id of the version this rotation creates. */
  token: string;
  /** Opaque, secret-ish: passed to PutSecretValue, never logged. */
  rotationToken?: string;
  /** Invocation time left, ms of real time (Lambda context). @default - `retry.defaultBudgetMs` of clock time */
  remainingMs?: number;
  /** Logger for this invocation (carries secretId, step, token). */
  log: Logger;
}

/** Where the token stands after AWS's start checks. */
export type StartCheck = 'pending' | 'finished';

/**
 * AWS's checks at the start of every step: rotation enabled, the token is a version, and it carries AWSPENDING.
 * @returns `finished` when the token is already AWSCURRENT (nothing left to do), else `pending`.
 * @throws RotationStateError naming the secret, the token and the way out.
 */
export function startChecks(secret: ManagedSecret, token: string): StartCheck {
  if (!secret.rotationEnabled) {
    throw new RotationStateError(
      `secret '${secret.name}': rotation is not enabled; enable it (deploy the key's rotation schedule) before rotating`,
    );
  }
  const stages = secret.versions[token];
  if (!stages) {
    throw new RotationStateError(
      `secret '${secret.name}': version '${token}' (ClientRequestToken) is not a version of this secret; ` +
        'start rotations with RotateSecret, which creates it',
    );
  }
  if (stages.includes('AWSCURRENT')) return 'finished';
  if (!stages.includes('AWSPENDING')) {
    throw new RotationStateError(
      `secret '${secret.name}': version '${token}' is not AWSPENDING (stages: ${stages.join(', ') || 'none'}); ` +
        'the rotation was cancelled or superseded: rotate again',
    );
  }
  return 'pending';
}

interface StepContext {
  deps: RotationDeps;
  req: StepRequest;
  secret: ManagedSecret;
  cache: VersionCache;
  budget: Required<RotationRetry>;
  deadline: number;
  call: Call;
  provider(): Promise<KeyProvider>;
}

/**
 * Runs one step: start checks, the step, and its metrics (succeeded/failed by step and provider).
 * @throws whatever made the step fail; Secrets Manager then retries the rotation with the same token.
 */
export async function runStep(deps: RotationDeps, req: StepRequest, cache: VersionCache): Promise<void> {
  const budget = { ...BUDGET_DEFAULTS, ...deps.retry };
  const deadline = deps.clock.now() + (req.remainingMs ?? budget.defaultBudgetMs) - budget.marginMs;
  const call: Call = (fn) => {
    const pace = paced(deps.clock, deadline, budget.maxMs);
    return retry(() => pace.run(fn), {
      clock: deps.clock,
      attempts: budget.attempts,
      baseMs: budget.baseMs,
      maxMs: budget.maxMs,
      random: budget.random,
      retryable: (err) => isTransient(err) && pace.fits(),
      onRetry: (err, attempt, waitMs) => req.log.warn('retrying a transient failure', { error: describeError(err), attempt, waitMs }),
    });
  };
  let providerType = 'unknown';
  try {
    const secret = await call(() => readManagedSecret(deps.sm, req.secretId, deps.trust));
    providerType = secret.settings.provider;
    let provider: Promise<KeyProvider> | undefined;
    const ctx: StepContext = { deps, req, secret, cache, budget, deadline, call, provider: () => (provider ??= deps.provider(secret)) };
    if (startChecks(secret, req.token) === 'finished') {
      req.log.info('version is already AWSCURRENT: nothing to do');
      if (req.step === 'finishSecret') await rearmRevocation(ctx);
    } else {
      await STEPS[req.step](ctx);
    }
    count(deps, METRICS.rotationStepSucceeded, req.step, providerType);
  } catch (err) {
    count(deps, METRICS.rotationStepFailed, req.step, providerType);
    throw err;
  }
}

/**
 * Paces retries against the invocation's deadline: another attempt is worth starting only when the longest wait plus
 * an attempt as slow as the slowest so far (a provider timing out takes its full timeout) still ends before the
 * deadline. Otherwise Lambda kills the function mid-attempt, and the step's error, log line and metric are lost.
 */
function paced(clock: Clock, deadline: number, maxWaitMs: number) {
  let slowest = 0;
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      const started = clock.now();
      try {
        return await fn();
      } finally {
        slowest = Math.max(slowest, clock.now() - started);
      }
    },
    fits: () => clock.now() + maxWaitMs + slowest <= deadline,
  };
}

function count(deps: RotationDeps, metric: string, step: string, provider: string): void {
  deps.metrics.singleMetric().addDimensions({ step, provider }).addMetric(metric, MetricUnit.Count, 1);
}

const STEPS: Record<RotationStep, (ctx: StepContext) => Promise<void>> = { createSecret, setSecret, testSecret, finishSecret };

/**
 * createSecret: issue a provider key labelled with secret and token, and store it as AWSPENDING. A valid pending
 * value means a previous attempt got this far: nothing to do. No value, or an invalid one, means not yet created.
 */
async function createSecret(ctx: StepContext): Promise<void> {
  const { secret, req } = ctx;
  if (secret.frozen !== undefined) throw new RotationFrozenError(secret.name, secret.frozen);
  const pending = await readVersion(ctx.deps.sm, ctx.call, ctx.cache, secret, req.token);
  if (pending.state === 'valid') {
    req.log.info('pending key already stored: nothing to do', { fingerprint: fingerprint(pending.value.apiKey) });
    return;
  }
  if (pending.state === 'invalid') {
    req.log.warn('pending version holds an invalid value: treating it as not created', { problem: pending.problem });
  }
  const provider = await ctx.provider();
  const label = providerKeyLabel(secret, req.token);
  // The adapter copies scopes/policies from the key being replaced, so a rotation never widens or narrows access.
  // The read is cached by version id, so setSecret gets the current value for free.
  const replaces = (await currentValue(ctx))?.value?.keyId;
  const issued = await issueWithQuota(ctx, provider, { label, replaces });
  const value: SecretValue = {
    apiKey: issued.apiKey,
    keyId: issued.keyId,
    provider: secret.settings.provider,
    issuedAt: isoTime(ctx.deps.clock.now()),
    ...(issued.principal === undefined ? {} : { principal: issued.principal }),
    ...(issued.attributes === undefined ? {} : { attributes: issued.attributes }),
  };
  try {
    await putPendingVersion(ctx.deps.sm, ctx.call, ctx.cache, secret, req.token, value, req.rotationToken);
  } catch (err) {
    // AWS refuses a different value for an existing version, so the key just issued is stored nowhere: revoke it.
    // Any other failure may have stored it (a lost answer): leave it, the next attempt finds the value or the label.
    if (errorName(err) !== 'ResourceExistsException') throw err;
    await revokeQuietly(ctx, provider, issued.keyId);
    throw new PendingValueConflictError(secret.name, req.token, { cause: err });
  }
  req.log.info('pending key issued and stored', { keyId: value.keyId, fingerprint: fingerprint(value.apiKey) });
}

/**
 * Issues a key after revoking any key already labelled for this token: such a key comes from an attempt that died
 * between "issue" and "put", so it is stored nowhere and its value cannot be read back from the provider.
 * Revoking first also frees its quota slot. Repeated on each transient retry, so a retry never leaves a second key.
 *
 * A key being replaced that no longer exists (revoked without replacement, or deleted by the provider after a leak)
 * is exactly when a rotation is needed most: adapters that copy scopes from it answer `KeyNotFoundError`, so the key
 * is issued once more without `replaces`, from the provider settings as on a first issue.
 */
async function issueWithQuota(ctx: StepContext, provider: KeyProvider, request: IssueRequest) {
  const once = () =>
    ctx.call(async () => {
      for (const key of await provider.list()) {
        if (key.label !== request.label) continue;
        await revokeQuietly(ctx, provider, key.keyId);
        ctx.req.log.info('revoked a key an interrupted attempt issued but never stored', { keyId: key.keyId });
      }
      return provider.issue(request);
    });
  const issue = async () => {
    try {
      return await once();
    } catch (err) {
      if (!(err instanceof KeyNotFoundError) || request.replaces === undefined) throw err;
      ctx.req.log.warn('the key being replaced no longer exists at the provider; issuing from the provider settings', {
        keyId: request.replaces,
        error: describeError(err),
      });
      request = { label: request.label };
      return once();
    }
  };
  try {
    return await issue();
  } catch (err) {
    if (!(err instanceof QuotaExceededError)) throw err;
    const freed = ctx.deps.onQuotaFull ? await ctx.deps.onQuotaFull(ctx.secret, provider) : 0;
    ctx.req.log.warn('provider key quota full', { quota: err.quota ?? provider.quota, freed });
    if (freed > 0) {
      try {
        return await issue();
      } catch (again) {
        if (!(again instanceof QuotaExceededError)) throw again;
        throw new RotationQuotaError(ctx.secret.name, provider.type, again.quota ?? provider.quota, freed, { cause: again });
      }
    }
    throw new RotationQuotaError(ctx.secret.name, provider.type, err.quota ?? provider.quota, freed, { cause: err });
  }
}

async function revokeQuietly(ctx: StepContext, provider: KeyProvider, keyId: string): Promise<void> {
  try {
    await ctx.call(() => provider.revoke(keyId));
  } catch (err) {
    if (!(err instanceof KeyNotFoundError)) throw err;
  }
}

/** The pending value, which createSecret must have stored. */
async function pendingValue(ctx: StepContext): Promise<SecretValue> {
  const pending = await readVersion(ctx.deps.sm, ctx.call, ctx.cache, ctx.secret, ctx.req.token);
  if (pending.state !== 'valid') {
    throw new RotationStateError(
      `secret '${ctx.secret.name}': pending version '${ctx.req.token}' ${describeVersion(pending)}; ` +
        'createSecret must store it first: let Secrets Manager retry the rotation',
    );
  }
  return pending.value;
}

function describeVersion(version: VersionValue): string {
  return version.state === 'absent' ? 'has no value' : `is invalid (${version.state === 'invalid' ? version.problem : ''})`;
}

/** The AWSCURRENT version's value, when there is a current version other than the token and it holds a keyrelay value. */
async function currentValue(ctx: StepContext): Promise<{ versionId: string; value?: SecretValue } | undefined> {
  const versionId = stageHolders(ctx.secret.versions).current;
  if (versionId === undefined || versionId === ctx.req.token) return undefined;
  const current = await readVersion(ctx.deps.sm, ctx.call, ctx.cache, ctx.secret, versionId);
  if (current.state === 'valid') return { versionId, value: current.value };
  ctx.req.log.warn('current version holds no keyrelay value: no previous key to check or revoke', {
    versionId,
    problem: current.state === 'invalid' ? current.problem : 'no value',
  });
  return { versionId };
}

/**
 * setSecret: the current key still works and the pending key works, for the same principal (confused-deputy guard).
 * A current key the provider already rejects does not block the rotation that replaces it (it is logged); its stored
 * principal still guards. Read-only, so idempotent.
 */
async function setSecret(ctx: StepContext): Promise<void> {
  const pending = await pendingValue(ctx);
  const current = (await currentValue(ctx))?.value;
  const provider = await ctx.provider();
  let currentPrincipal = current?.principal;
  if (current) {
    if (current.provider !== pending.provider) {
      throw new RotationStateError(
        `secret '${ctx.secret.name}': the current key comes from provider '${current.provider}' but the pending one from ` +
          `'${pending.provider}'; a secret cannot change provider by rotation: revoke the old key by id and re-import`,
      );
    }
    try {
      currentPrincipal = (await ctx.call(() => provider.verify(current.apiKey))).principal ?? currentPrincipal;
    } catch (err) {
      if (!(err instanceof ProviderAuthError)) throw err;
      ctx.req.log.warn('the current key no longer authenticates; rotating on so the new key replaces it', {
        fingerprint: fingerprint(current.apiKey),
      });
    }
  }
  const pendingPrincipal = (await verifyPending(ctx, provider, pending)).principal ?? pending.principal;
  if (currentPrincipal !== undefined && pendingPrincipal !== undefined && currentPrincipal !== pendingPrincipal) {
    throw new PrincipalMismatchError(ctx.secret.name, currentPrincipal, pendingPrincipal);
  }
  ctx.req.log.info('pending key verified', { fingerprint: fingerprint(pending.apiKey), principal: pendingPrincipal });
}

/**
 * testSecret: the pending key authenticates, with bounded retries while the provider propagates it.
 *
 * One exception: a secret that has never held a key, whose pending version has no value either. That is the
 * configuration test Secrets Manager runs when a rotation schedule is created with rotate-immediately off (the CDK
 * app's onboarding): there is nothing to test yet, and failing would raise `TestRotationFailed` on every new key.
 * A real rotation cannot get here without a value, because createSecret and setSecret run first and fail.
 */
async function testSecret(ctx: StepContext): Promise<void> {
  if (stageHolders(ctx.secret.versions).current === undefined) {
    const version = await readVersion(ctx.deps.sm, ctx.call, ctx.cache, ctx.secret, ctx.req.token);
    if (version.state === 'absent') {
      ctx.req.log.info('no key issued yet: nothing to test (rotation schedule configuration test)');
      return;
    }
  }
  const pending = await pendingValue(ctx);
  await verifyPending(ctx, await ctx.provider(), pending);
  ctx.req.log.info('pending key authenticates', { fingerprint: fingerprint(pending.apiKey) });
}

/**
 * Authenticates with the pending key, retrying auth failures (propagation delay) and transient errors until
 * `verifyAttempts` or the deadline. Anything else (an unknown error) fails at once: it never counts as a pass.
 */
async function verifyPending(ctx: StepContext, provider: KeyProvider, pending: SecretValue): Promise<VerifiedKey> {
  const { budget, deps, deadline } = ctx;
  const started = deps.clock.now();
  const pace = paced(deps.clock, deadline, budget.verifyMaxMs);
  let attempts = 0;
  try {
    return await retry(
      (attempt) => {
        attempts = attempt;
        return pace.run(() => provider.verify(pending.apiKey));
      },
      {
        clock: deps.clock,
        attempts: budget.verifyAttempts,
        baseMs: budget.verifyBaseMs,
        maxMs: budget.verifyMaxMs,
        // Half jitter: propagation needs real waiting, and full jitter may spend every attempt in a few ms.
        random: () => 0.5 + budget.random() / 2,
        retryable: (err) => (err instanceof ProviderAuthError || isTransient(err)) && pace.fits(),
        onRetry: (err, attempt, waitMs) =>
          ctx.req.log.info('pending key not accepted yet; retrying', { error: describeError(err), attempt, waitMs }),
      },
    );
  } catch (err) {
    if (!(err instanceof ProviderAuthError)) throw err;
    throw new PendingKeyRejectedError(ctx.secret.name, fingerprint(pending.apiKey), attempts, deps.clock.now() - started, {
      cause: err,
    });
  }
}

/**
 * finishSecret: write the old key's revocation deadline, then move AWSCURRENT (a retry returns early once it has
 * moved, so a deadline written after the move could be lost), then arrange the revocation and announce the rotation.
 * Those last two are logged and counted on failure but do not fail the step: the key has rotated, and the reconcile
 * sweep revokes keys past their deadline anyway. AWSPENDING stays on the new version (AWS accepts that end state).
 */
async function finishSecret(ctx: StepContext): Promise<void> {
  const { deps, req, secret } = ctx;
  const pending = await pendingValue(ctx);
  refuseCancelled(secret, req.token, pending.keyId);
  const current = await currentValue(ctx);
  let record: KeyRecord | undefined;
  // One TagResource, before the move: the old key's deadline (a retry after the move returns early, so it would be
  // lost) and a note of the new key's fingerprint for `status` (checked against AWSCURRENT when read).
  const tags = [currentKeyTag({ versionId: req.token, keyId: pending.keyId, fingerprint: fingerprint(pending.apiKey) })];
  if (current?.value) {
    // Counted from this promotion (a finish retried much later, or a key rolled back to, gets the whole grace).
    record = demotionRecord(secret, current.value.keyId, current.versionId, deps.clock.now());
    if (record) tags.push(keyRecordTag(record));
    // Revoked without replacement (or found dead): nothing to wait for or arrange, and its record keeps who and why.
    else req.log.info('the previous key is already revoked: no grace period to arrange', { previousKeyId: current.value.keyId });
  }
  if (secret.tags[TAGS.current] !== tags[0]!.Value || tags.length > 1) {
    await ctx.call(() => putStateTags(deps.sm, secret.arn, tags));
  }
  // Claim the version (remove AWSPENDING) before the move, then look for a cancel once more. `cancel` removes the
  // label first too, and Secrets Manager lets only one of the two removals succeed: a cancelled version is never
  // promoted, and a version being promoted is never cancelled (docs/security.md, "Races"). A claim whose answer was
  // lost looks like a cancel; refusing then is the safe side (the rotation is abandoned, the current key stays).
  try {
    await claimPending(deps.sm, ctx.call, secret, req.token);
  } catch (err) {
    if (errorName(err) !== 'InvalidParameterException') throw err;
    throw new RotationCancelledError(secret.name, req.token, 'its AWSPENDING label was removed (keyrelay cancel) before finishSecret could claim it');
  }
  refuseCancelled(await ctx.call(() => readManagedSecret(deps.sm, secret.arn, deps.trust)), req.token, pending.keyId);
  await promoteVersion(deps.sm, ctx.call, secret, req.token, current?.versionId);
  deps.metrics.singleMetric().addDimensions({ provider: secret.settings.provider }).addMetric(METRICS.rotationSucceeded, MetricUnit.Count, 1);
  req.log.info('rotation finished', {
    fingerprint: fingerprint(pending.apiKey),
    previousKeyId: record?.keyId,
    previousKeyDeadline: record ? isoTime(record.due) : undefined,
  });
  if (record) await arrangeRevocation(ctx, record);
  try {
    await deps.events.keyRotated({
      secretName: secret.name,
      secretArn: secret.arn,
      versionId: req.token,
      fingerprint: fingerprint(pending.apiKey),
      ...(current ? { previousVersionId: current.versionId } : {}),
      ...(record ? { previousKeyDeadline: isoTime(record.due) } : {}),
    });
  } catch (err) {
    req.log.error('could not publish KeyRotated; applications refresh on their cache expiry instead', { error: describeError(err) });
    deps.metrics.singleMetric().addMetric(METRICS.eventPublishFailed, MetricUnit.Count, 1);
  }
}

/** Reasons of records that forbid promoting a key: it is being revoked on purpose. */
const CANCELLING_REASONS: ReadonlySet<string> = new Set(['cancel', 'emergency']);

/** @throws RotationCancelledError when the pending key carries a `cancel` or `emergency` record. */
function refuseCancelled(secret: ManagedSecret, token: string, keyId: string): void {
  const record = secret.records.find((r) => r.keyId === keyId);
  if (record?.reason !== undefined && CANCELLING_REASONS.has(record.reason)) {
    throw new RotationCancelledError(secret.name, token, `its key '${keyId}' carries a '${record.reason}' record${record.by ? ` by ${record.by}` : ''}`);
  }
}

/**
 * A finishSecret retried after AWSCURRENT moved (the invocation died before arranging the revocation) arranges it
 * again from the previous version's grace record; the scheduler is idempotent per key, so this costs nothing twice.
 */
async function rearmRevocation(ctx: StepContext): Promise<void> {
  const previous = stageHolders(ctx.secret.versions).previous;
  const record = ctx.secret.records.find((r) => r.phase === 'grace' && r.versionId !== undefined && r.versionId === previous);
  if (record) await arrangeRevocation(ctx, record);
}

async function arrangeRevocation(ctx: StepContext, record: KeyRecord): Promise<void> {
  const { deps, secret, req } = ctx;
  try {
    await deps.scheduler.scheduleRevocation({ secretArn: secret.arn, secretName: secret.name, keyId: record.keyId, due: record.due });
  } catch (err) {
    req.log.error('could not arrange the previous key\'s revocation; the reconcile sweep revokes it after its deadline', {
      keyId: record.keyId,
      error: describeError(err),
    });
    deps.metrics.singleMetric().addMetric(METRICS.revocationScheduleFailed, MetricUnit.Count, 1);
  }
}
