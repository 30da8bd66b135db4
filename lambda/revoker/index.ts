/**
 * The revoker: where keys die. One Lambda function with typed actions ({@link RevokerRequest}) invoked by the
 * revocation schedules, the reconcile sweep and the CLI. See docs/revocation.md.
 */
export { createRevokerHandler, handler, type RevokerHandler } from './handler';
export { freeQuota } from './actions';
export { metricsFrom, type RevokerDeps, type RevokerLogger, type RevokerMetrics } from './deps';
export { CallerNotProvenError, KeyInUseError, NothingToDoError, RevocationFailedError, RevokerRequestError } from './errors';
export { stsCallerVerifier, type CallerVerifier } from './caller';
export { ORPHAN_MIN_AGE_MS } from './keys';
export { MAX_REVOKED_RECORDS } from './lifecycle';
export { parseRevokerRequest, RevokerRequestSchema } from './request';
export type * from './protocol';
