import * as z from 'zod/mini';
import '../../core/zod-mini';
import { freeQuota } from '../revoker/actions';
import { metricsFrom } from '../revoker/deps';
import { runtimeFromEnv } from '../runtime';
import { ROTATION_STEPS, runStep, type RotationDeps, type RotationStep } from './steps';
import { RotationEventError } from './errors';
import { VersionCache } from './versions';

/**
 * The rotation function: Secrets Manager invokes it once per step with
 * `{ Step, SecretId, ClientRequestToken, RotationToken? }`. A thin shell over {@link runStep}: validates the event,
 * logs through a child logger that carries `secretId`, `step` and `token` (never `RotationToken`), and rethrows
 * failures so Secrets Manager retries the rotation.
 *
 * @example
 * // the local stack runs it in-process with its own deps
 * const rotate = createRotationHandler({ sm, provider, clock, scheduler, events, logger, metrics });
 * await rotate({ Step: 'createSecret', SecretId: arn, ClientRequestToken: token });
 */

/** A rotation event as Secrets Manager sends it. */
export interface RotationEvent {
  Step: RotationStep;
  SecretId: string;
  ClientRequestToken: string;
  /** Present on newer invocations; pass it on to PutSecretValue. Secret-ish: never logged. */
  RotationToken?: string;
}

/** The slice of the Lambda context the handler uses. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
}

/** The Lambda handler. */
export type RotationHandler = (event: unknown, context?: LambdaContextLike) => Promise<void>;

const nonEmpty = () => z.string().check(z.minLength(1));
const EventSchema = z.object({
  Step: z.string(),
  SecretId: nonEmpty(),
  ClientRequestToken: nonEmpty(),
  RotationToken: z.optional(nonEmpty()),
});

const STEP_SET: ReadonlySet<string> = new Set(ROTATION_STEPS);

/**
 * Validates a rotation event.
 * @throws RotationEventError naming the field and what it expected; it quotes `Step` but never `RotationToken`.
 */
export function parseRotationEvent(event: unknown): RotationEvent {
  const parsed = EventSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(event)';
    // zod's messages name types, not values, so no token leaks through them.
    throw new RotationEventError(
      `rotation event field '${field}': ${issue?.message ?? 'invalid'}; expected ` +
        '{"Step": "createSecret|setSecret|testSecret|finishSecret", "SecretId": "...", "ClientRequestToken": "..."}',
    );
  }
  const { Step, ...rest } = parsed.data;
  if (!STEP_SET.has(Step)) {
    throw new RotationEventError(
      `rotation event field 'Step': expected one of ${ROTATION_STEPS.join(', ')} (camelCase), got '${Step.slice(0, 40)}'`,
    );
  }
  return { Step: Step as RotationStep, ...rest };
}

/** Builds the handler from injected deps; nothing here touches AWS until it is invoked. */
export function createRotationHandler(deps: RotationDeps): RotationHandler {
  const cache = deps.cache ?? new VersionCache();
  return async (event, context) => {
    const log = deps.logger.createChild();
    let parsed: RotationEvent;
    try {
      parsed = parseRotationEvent(event);
    } catch (err) {
      log.error('rejected a malformed rotation event', err as Error);
      throw err;
    }
    log.appendKeys({ secretId: parsed.SecretId, step: parsed.Step, token: parsed.ClientRequestToken });
    try {
      await runStep(
        deps,
        {
          step: parsed.Step,
          secretId: parsed.SecretId,
          token: parsed.ClientRequestToken,
          rotationToken: parsed.RotationToken,
          remainingMs: context?.getRemainingTimeInMillis(),
          log,
        },
        cache,
      );
    } catch (err) {
      log.error('rotation step failed', err as Error);
      throw err;
    }
  };
}

/**
 * The rotation function's deps as deployed and as the local stack runs them: `deps` plus the revoker's `freeQuota`,
 * which relieves a full provider quota before createSecret gives up.
 */
export function withQuotaRelief(deps: Omit<RotationDeps, 'onQuotaFull'>): RotationDeps {
  const revoker = { ...deps, metrics: metricsFrom(deps.metrics) };
  return { ...deps, onQuotaFull: (secret, provider) => freeQuota(revoker, secret, provider) };
}

let live: RotationHandler | undefined;

/**
 * The deployed handler: deps from the environment via lambda/runtime ({@link withQuotaRelief}), built on the first
 * invocation (importing this module touches no AWS).
 */
export const handler: RotationHandler = (event, context) => {
  live ??= createRotationHandler(withQuotaRelief(runtimeFromEnv()));
  return live(event, context);
};
