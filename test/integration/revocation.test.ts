import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint, parseSecretValue, type SecretValue } from '../../core/secret-value';
import type { RevokerRequest, RevokerResponse } from '../../lambda/revoker/protocol';
import { LocalClock } from '../../local/clock';
import { LOCAL_CREDENTIALS, LOCAL_FUNCTIONS, LOCAL_REGION } from '../../local/stack';
import { proven } from '../support/caller-proof';
import { useLocalStack } from '../support/local-stack';

// The revoker on the local stack, run from its deployed bundle as a Node 24 process: invoked through the endpoint's
// Lambda `Invoke` (as the CLI does) and by the local scheduler when the schedules the functions created through the
// Scheduler API fall due. The clock is frozen (speed 0) and only moves when a test advances it: no test waits for
// real time to pass. Schedules fire on whole seconds (`at(...)`): the clock starts on one, so deadlines fall on them.
const local = useLocalStack({
  functionMode: 'bundle',
  clock: new LocalClock({ speed: 0, start: Math.floor(Date.now() / 1000) * 1000 }),
  reconcileEveryMs: 0,
  quota: 1000,
  functionEnvironment: { POWERTOOLS_LOG_LEVEL: 'ERROR' },
});
const MIN = 60_000;
let lambda: LambdaClient | undefined;
afterAll(() => lambda?.destroy());

async function invoke(request: RevokerRequest): Promise<RevokerResponse> {
  lambda ??= new LambdaClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: local.stack.endpoint });
  // On-call actions carry the caller proof the CLI attaches.
  const sent = 'operator' in request ? await proven(local.stack.endpoint, request) : request;
  const out = await lambda.send(new InvokeCommand({ FunctionName: LOCAL_FUNCTIONS.revoker, Payload: JSON.stringify(sent) }));
  const payload: unknown = JSON.parse(new TextDecoder().decode(out.Payload));
  if (out.FunctionError) throw new Error(`revoker failed: ${JSON.stringify(payload)}`);
  return payload as RevokerResponse;
}

async function valueAt(secretId: string, stage = 'AWSCURRENT'): Promise<SecretValue> {
  const out = await local.sm().send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
  return parseSecretValue(out.SecretString, secretId);
}

async function whoami(apiKey: string): Promise<number> {
  const res = await fetch(`${local.stack.providerUrl}/v1/whoami`, { headers: { authorization: `Bearer ${apiKey}` } });
  await res.arrayBuffer();
  return res.status;
}

/** Rotates and waits (real I/O) until the new version is AWSCURRENT and the rotation has ended; returns the old and new values. */
async function rotate(name: string): Promise<{ old: SecretValue; current: SecretValue }> {
  const old = await valueAt(name);
  const { VersionId } = await local.sm().send(new RotateSecretCommand({ SecretId: name }));
  await local.waitFor(name, (s) => s[VersionId ?? '']?.includes('AWSCURRENT') === true);
  await local.stack.rotation.settled(name); // finishSecret arranges the revocation within its invocation
  return { old, current: await valueAt(name) };
}

async function phaseOf(name: string, keyId: string) {
  const { inspect } = await invoke({ action: 'inspect', secretId: name });
  return inspect?.keys.find((k) => k.keyId === keyId);
}

describe('Revoker on the local stack', () => {
  it('keeps the old key answering 200 through the grace period and 401 once the scheduler revokes it', async () => {
    // Prepare
    const name = await local.addKey('grace');
    const { old, current } = await rotate(name);
    // Act + Assess
    expect(await whoami(old.apiKey)).toBe(200);
    await local.stack.advance(59 * MIN);
    expect(await whoami(old.apiKey)).toBe(200);
    await local.stack.advance(MIN);
    expect(await whoami(old.apiKey)).toBe(401);
    expect(await whoami(current.apiKey)).toBe(200);
  });

  it('holds revocation while the old key is still used, then revokes it once it goes quiet', async () => {
    // Prepare
    const name = await local.addKey('hold', { usageHold: { quietPeriod: '10m', maxHold: '2h' } });
    const { old } = await rotate(name);
    await local.stack.advance(55 * MIN);
    expect(await whoami(old.apiKey)).toBe(200); // an application that did not pick up the new key
    // Act
    await local.stack.advance(5 * MIN);
    // Assess
    expect(await whoami(old.apiKey)).toBe(200);
    expect(await phaseOf(name, old.keyId)).toMatchObject({ phase: 'held', status: 'active' });
    await local.stack.advance(10 * MIN);
    expect(await whoami(old.apiKey)).toBe(401);
  });

  it('restores a disabled key during the observation window and pushes its deadline out', async () => {
    // Prepare
    const name = await local.addKey('restore', { observationWindow: '2h' });
    const { old } = await rotate(name);
    await local.stack.advance(60 * MIN);
    expect(await whoami(old.apiKey)).toBe(401);
    expect(await phaseOf(name, old.keyId)).toMatchObject({ phase: 'disabled', status: 'disabled' });
    await local.stack.advance(30 * MIN);
    // Act
    const response = await invoke({ action: 'restore', secretId: name, operator: 'on-call', reason: 'billing still on the old key' });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: old.keyId, outcome: 'restored' })]);
    expect(await whoami(old.apiKey)).toBe(200);
    expect(await phaseOf(name, old.keyId)).toMatchObject({ phase: 'grace', status: 'active' });
    await local.stack.advance(119 * MIN);
    expect(await whoami(old.apiKey)).toBe(200);
    await local.stack.advance(MIN);
    expect(await whoami(old.apiKey)).toBe(401); // disabled again, deleted after another window
  });

  it('leaves a leaked key answering 401 as soon as the new key is current (emergency)', async () => {
    // Prepare
    const name = await local.addKey('emergency');
    // Act
    const { old: leaked, current } = await rotate(name);
    const response = await invoke({ action: 'revokeNow', secretId: name, previous: true, reason: 'leaked in a log', operator: 'on-call' });
    // Assess
    expect(response.keys).toEqual([expect.objectContaining({ keyId: leaked.keyId, outcome: 'revoked' })]);
    expect(await whoami(leaked.apiKey)).toBe(401);
    expect(await whoami(current.apiKey)).toBe(200);
    expect(local.stack.provider.keys().find((k) => k.id === leaked.keyId)?.status).toBe('deleted');
  });

  it('announces KeyRotated with the fingerprint and the deadline, never the key', async () => {
    // Prepare
    const name = await local.addKey('event');
    // Act
    const { current } = await rotate(name);
    // Assess
    const event = local.stack.events.find((e) => JSON.stringify(e).includes(fingerprint(current.apiKey)));
    expect(event).toBeDefined();
    expect(JSON.stringify(event)).toContain(name);
    expect(JSON.stringify(event)).toContain('previousKeyDeadline');
    expect(JSON.stringify(local.stack.events)).not.toContain(current.apiKey);
  });

  it('gives an orphan a grace period in the reconcile sweep, then revokes it', async () => {
    // Prepare: a key labelled for the secret that no version holds (an attempt whose rotation was lost)
    const name = await local.addKey('orphan');
    const res = await fetch(`${local.stack.providerUrl}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${local.stack.provider.adminKeys[0] ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: await local.labelFor(name, 'lost-token') }),
    });
    const orphan = (await res.json()) as { id: string };
    const status = () => local.stack.provider.keys().find((k) => k.id === orphan.id)?.status;
    await local.stack.advance(60 * MIN);
    // Act
    await invoke({ action: 'reconcile', secretId: name });
    // Assess
    expect(await phaseOf(name, orphan.id)).toMatchObject({ phase: 'grace', orphan: false });
    expect(status()).toBe('active');
    await local.stack.advance(60 * MIN);
    await invoke({ action: 'reconcile', secretId: name });
    expect(status()).toBe('deleted');
  });
});
