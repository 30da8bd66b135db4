import { describeError, KeyRelayError } from '../../core/errors';
import { cancel, inspect, restore, revokeDue, revokeNow, revokeWithoutReplacement } from './actions';
import { awsClientConfig, onFirstUse, runtimeFromEnv } from '../runtime';
import { metricsFrom, type RevokerDeps } from './deps';
import type { RevokerRequest, RevokerResponse } from './protocol';
import { splitProof, type CallerVerifier } from './caller';
import { parseRevokerRequest } from './request';
import { importKey, retire, rollback } from './oncall';
import { reconcile } from './sweep';
import { canary } from './canary';
import { healthEvent, isEventBridgeEvent, requireRuleInvocation } from './health';

/** The part of the Lambda context the revoker reads: how long the invocation has left (the sweep's budget). */
export interface RevokerContext {
  getRemainingTimeInMillis(): number;
  /**
   * The ARN this invocation named, with its qualifier (Lambda sets it; a payload cannot): an AWS event is acted on
   * only when it came through the rule's alias (`AWS_EVENTS_ALIAS`). @default - unknown: AWS events are refused
   */
  invokedFunctionArn?: string;
}

/** The revoker's Lambda handler: one typed action per invocation. */
export type RevokerHandler = (event: unknown, context?: RevokerContext) => Promise<RevokerResponse>;

type Actions = { [A in RevokerRequest['action']]: (deps: RevokerDeps, request: Extract<RevokerRequest, { action: A }>) => Promise<RevokerResponse> };

const ACTIONS: Actions = { revokeDue, reconcile, canary, revokeNow, revokeWithoutReplacement, cancel, restore, rollback, import: importKey, retire, inspect };

/**
 * Builds the revoker handler from injected deps: validates the payload (a malformed one throws
 * `RevokerRequestError`), replaces an on-call action's `operator` with the caller `deps.callers` proves from the
 * payload's `callerProof` (`CallerNotProvenError` without a valid one), runs the action, and rethrows failures so the
 * Lambda `Errors` alarm and the schedule's dead-letter queue see them.
 *
 * @example
 * const revoke = createRevokerHandler({ sm, provider, clock, scheduler, logger, metrics });
 * await revoke({ action: 'revokeNow', secretId: 'payments/stripe', previous: true, reason: 'leak', operator: 'ana' });
 */
export function createRevokerHandler(deps: RevokerDeps): RevokerHandler {
  return async (event, context) => {
    const run = context ? { ...deps, remainingMs: () => context.getRemainingTimeInMillis() } : deps;
    // An AWS event (the AWS Health rule) is no action: it is acted on only when Lambda says the rule's alias was invoked.
    if (isEventBridgeEvent(event)) {
      try {
        requireRuleInvocation(deps, event, context?.invokedFunctionArn);
        const response = await healthEvent(run, event);
        deps.logger.info('revoker action done', { action: response.action, keys: response.keys });
        return response;
      } catch (err) {
        deps.logger.error('revoker action failed', { action: 'awsHealth', error: describeError(err) });
        throw asProtocolError(err);
      }
    }
    let request: RevokerRequest;
    const proven = splitProof(event);
    try {
      request = parseRevokerRequest(proven.payload);
    } catch (err) {
      deps.logger.error('rejected a malformed revoker request', { error: describeError(err) });
      throw asProtocolError(err);
    }
    const secret = 'secretId' in request ? request.secretId : undefined;
    try {
      // The proven caller is the operator, whatever the request says; scheduler and sweep actions carry none.
      if ('operator' in request && deps.callers) request = { ...request, operator: await deps.callers.verify(proven.proof, proven.binding) };
      const act = ACTIONS[request.action] as (d: RevokerDeps, r: RevokerRequest) => Promise<RevokerResponse>;
      const response = await act(run, request);
      deps.logger.info('revoker action done', { action: request.action, secret, keys: response.keys });
      return response;
    } catch (err) {
      deps.logger.error('revoker action failed', { action: request.action, secret, error: describeError(err) });
      throw asProtocolError(err);
    }
  };
}

/**
 * Lambda's Node.js runtime reports a thrown error's `name` as `errorType`, while the protocol (and the CLI's hints)
 * promise the stable `code`: a keyrelay error leaves the handler named by its code. Logged before, under its class.
 */
function asProtocolError(err: unknown): unknown {
  if (err instanceof KeyRelayError) err.name = err.code;
  return err;
}

let fromEnv: RevokerHandler | undefined;

/**
 * Proves who sent an on-call action through STS (the SDK's endpoint resolution), the client and verifier loaded on the
 * first on-call action. Only the revoker has callers to prove, so the rotation function's bundle holds none of this.
 */
function stsCallers(): CallerVerifier {
  const callers = onFirstUse(async () => {
    const [{ STSClient }, { stsCallerVerifier }] = await Promise.all([import('@aws-sdk/client-sts'), import('./caller')]);
    return stsCallerVerifier(new STSClient(awsClientConfig()));
  });
  return { verify: async (proof, binding) => (await callers()).verify(proof, binding) };
}

/**
 * The deployed handler (CDK entry `lambda/revoker/handler.ts`, export `handler`): deps from the environment via
 * `lambda/runtime`, built on the first invocation so importing this module touches no AWS.
 */
export const handler: RevokerHandler = (event, context) => {
  fromEnv ??= (() => {
    const runtime = runtimeFromEnv();
    return createRevokerHandler({
      sm: runtime.sm,
      smIn: runtime.smIn,
      callers: stsCallers(),
      trust: runtime.trust,
      provider: runtime.provider,
      clock: runtime.clock,
      scheduler: runtime.scheduler,
      logger: runtime.logger,
      metrics: metricsFrom(runtime.metrics),
    });
  })();
  return fromEnv(event, context);
};
