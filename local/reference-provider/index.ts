/**
 * The reference provider: a local, in-memory SaaS-like key API (admin credentials, keys with a quota, disable/enable,
 * last use, a protected `GET /v1/whoami`, switchable faults). Its HTTP API is documented in docs/reference-provider.md;
 * `lambda/providers/reference.ts` is its adapter.
 */
export { startReferenceProvider, type ReferenceProvider, type ReferenceProviderOptions } from './server';
export { FaultSchema, type Fault } from './faults';
export type { KeyInfo, KeyStatus } from './store';
