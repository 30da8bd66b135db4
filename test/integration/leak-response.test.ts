import { Logger } from '@aws-lambda-powertools/logger';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { AWS_EVENTS_ALIAS } from '../../core/ports';
import { parseSecretValue } from '../../core/secret-value';
import { parseCanaryNote, parseAutoEmergencyNote, tagMap, TAGS } from '../../core/state';
import { healthExposedEvent } from '../../local/aws-health';
import { LOCAL_ACCOUNT, LOCAL_FUNCTIONS, LOCAL_REGION } from '../../local/stack';
import { runCli } from '../support/cli';
import { useLocalStack } from '../support/local-stack';

/**
 * Leak response on the local stack (issue 19), with IAM enforced: the reference provider revokes a key on its own, as a
 * secret-scanning partner would, and the canary rule heals it with no human (the revoker's own RotateSecret and tag
 * writes let through by the synthesized policies); AWS Health events reach the revoker only through the rule's alias.
 */

const CANARY_MS = 300_000;
const local = useLocalStack({ speed: 0, reconcileEveryMs: 0, canaryEveryMs: CANARY_MS, logger: new Logger({ serviceName: 'keyrelay', logLevel: 'CRITICAL' }) });
const clients: LambdaClient[] = [];
afterAll(() => {
  for (const c of clients) c.destroy();
});

async function current(name: string): Promise<{ keyId: string; versionId: string }> {
  const out = await local.sm().send(new GetSecretValueCommand({ SecretId: name }));
  return { keyId: parseSecretValue(out.SecretString ?? '', name).keyId, versionId: out.VersionId ?? '' };
}

async function tags(name: string): Promise<Record<string, string>> {
  return tagMap((await local.sm().send(new DescribeSecretCommand({ SecretId: name }))).Tags);
}

/** A Lambda client signing as a principal of the local stack (`oncall`, `admin`, ...). */
function lambdaAs(principal: string): LambdaClient {
  const p = local.stack.info.principals[principal];
  if (!p) throw new Error(`no local principal ${principal}`);
  const client = new LambdaClient({ region: LOCAL_REGION, endpoint: local.stack.endpoint, credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey }, maxAttempts: 1 });
  clients.push(client);
  return client;
}

describe('Leak response: a key revoked behind keyrelay\'s back', () => {
  it('is healed by the canary rule: new key current, dead key revoked, verdict and trigger noted', async () => {
    // Prepare
    const name = await local.addKey('healed', { canary: '5m' });
    const dead = await current(name);
    local.stack.provider.scannerRevoke({ id: dead.keyId });

    // Act: the canary rule fires (and the rotation's waits fall inside the span)
    await local.stack.advance(CANARY_MS + 60_000);

    // Assess
    const now = await current(name);
    expect(now.keyId).not.toBe(dead.keyId);
    expect(local.stack.provider.keys().find((k) => k.id === now.keyId)?.status).toBe('active');
    const noted = await tags(name);
    expect(parseCanaryNote(noted[TAGS.canary])).toMatchObject({ verdict: 'rejected', action: 'rotated' });
    expect(parseAutoEmergencyNote(noted[TAGS.lastAutoEmergency])).toMatchObject({ trigger: 'canary', keyId: dead.keyId });
    expect(noted[`${TAGS.keyRecord}${dead.keyId}`]).toMatch(/phase=revoked .*reason=emergency/);
    expect(local.stack.scheduler.canaryRuns.at(-1)?.status).toBe('fired');
    // On-call sees it in `keyrelay status`, from the tags alone (no GetSecretValue).
    const status = await runCli(local.stack.endpoint, ['status', name, '--json'], { as: 'oncall' });
    expect(JSON.parse(status.stdout).keys[0]).toMatchObject({
      canary: { verdict: 'rejected', action: 'rotated' },
      lastAutoEmergency: { trigger: 'canary', keyId: dead.keyId },
    });
  });

  it('leaves a key that works alone', async () => {
    // Prepare
    const name = await local.addKey('fine', { canary: '5m' });
    const before = await current(name);

    // Act
    await local.stack.advance(CANARY_MS);

    // Assess
    expect((await current(name)).keyId).toBe(before.keyId);
    expect(parseCanaryNote((await tags(name))[TAGS.canary])?.verdict).toBe('ok');
  });
});

describe('Leak response: AWS Health events come only through the rule', () => {
  it('delivers a Health-shaped event through the alias; a key keyrelay does not manage is only reported', async () => {
    // Act
    const res = await fetch(`${local.stack.endpoint}/_keyrelay/aws-health`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessKeyId: `AKIA${'X'.repeat(16)}` }),
    });

    // Assess
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ delivered: true, answer: { action: 'awsHealth', keys: [] } });
  });

  it('refuses on-call invoking the alias (IAM), and the same payload sent to the function (UntrustedEvent)', async () => {
    // Prepare
    const name = await local.addKey('forged-health');
    const before = await current(name);
    const payload = JSON.stringify(healthExposedEvent(before.keyId, LOCAL_ACCOUNT, local.stack.clock.now()));
    const oncall = lambdaAs('oncall');

    // Act
    const viaAlias = await oncall.send(new InvokeCommand({ FunctionName: LOCAL_FUNCTIONS.revoker, Qualifier: AWS_EVENTS_ALIAS, Payload: payload })).catch((err: unknown) => err);
    const direct = await oncall.send(new InvokeCommand({ FunctionName: LOCAL_FUNCTIONS.revoker, Payload: payload }));

    // Assess
    expect(viaAlias).toMatchObject({ name: 'AccessDeniedException' });
    expect(direct.FunctionError).toBeDefined();
    expect(JSON.parse(new TextDecoder().decode(direct.Payload))).toMatchObject({ errorType: 'UntrustedEvent' });
    expect((await current(name)).keyId).toBe(before.keyId);
  });
});
