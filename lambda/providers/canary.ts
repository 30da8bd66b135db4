/**
 * Whether the canary (docs/revocation.md, "Leak response") checks a provider's keys unless a key says otherwise: the
 * canary calls the adapter's `verify` with the current key every few minutes, so it is on only where that call costs
 * neither money nor a quota the applications need. One entry per provider type (a test checks every adapter has one).
 */
export const CANARY_BY_DEFAULT: Readonly<Record<string, { on: boolean; why: string }>> = {
  reference: { on: true, why: 'GET /v1/whoami: local, free' },
  'aws-iam': { on: true, why: 'sts:GetCallerIdentity: free, needs no permission, not rate-limited per key' },
  cloudflare: { on: true, why: 'GET /user/tokens/verify: free; one call per key per check against 1,200 per 5 minutes' },
  datadog: { on: true, why: 'GET /api/v1/validate: free, made for this' },
  sendgrid: { on: true, why: 'GET /v3/scopes: free, read-only' },
  openai: { on: true, why: 'GET /v1/models (admin keys: list keys): no tokens used, free' },
  twilio: { on: true, why: 'GET the Account resource: REST reads are not billed' },
  stripe: { on: true, why: 'GET /v1/account: free; one read per key per check against 100 per second' },
  'generic-http': { on: false, why: 'an in-house service may meter or rate-limit its verify path: turn it on per key (canary: "5m")' },
};

/** The canary's default interval where it is on, seconds. */
export const CANARY_DEFAULT_EVERY = 300;
