import { STSClient } from '@aws-sdk/client-sts';
import type { HttpRequest } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { CALLER_PROOF_FIELD, requestBinding } from '../../../core/caller-proof';
import { stsCallerVerifier } from '../../../lambda/revoker/caller';
import { createRevokerHandler } from '../../../lambda/revoker/handler';
import { proveCaller } from '../../../cli/caller-proof';
import { answerGetCallerIdentity } from '../../../local/iam/sts';
import type { LocalPrincipal } from '../../../local/iam/principals';
import { rotatedWorld } from '../../support/revoker-harness';

const ENDPOINT = 'https://sts.eu-west-1.amazonaws.com';
const ANA = 'arn:aws:sts::123456789012:assumed-role/OnCall/ana@example.com';
const oncall: LocalPrincipal = { name: 'oncall', arn: ANA, callerArn: ANA, accessKeyId: 'AKIAONCALL', secretAccessKey: 'oncall-secret', identityPolicies: [] };

/** STS as the revoker reaches it: checks the presigned signature with the signer's secret (local/iam/sts.ts). */
function stsAs(credentials: { accessKeyId: string; secretAccessKey: string }): STSClient {
  return new STSClient({
    region: 'eu-west-1',
    endpoint: ENDPOINT,
    credentials,
    requestHandler: {
      async handle(request: HttpRequest) {
        const query = new URLSearchParams(request.query as Record<string, string>);
        const answer = await answerGetCallerIdentity({ url: `${request.path}?${query}`, headers: request.headers }, (id) => (id === oncall.accessKeyId ? oncall : undefined), Date.now());
        return { response: { statusCode: answer.status, headers: { 'content-type': 'text/xml' }, body: new TextEncoder().encode(answer.body) } };
      },
    },
  });
}

async function provenWorld() {
  const { world, old } = await rotatedWorld();
  const handler = createRevokerHandler({ ...world.deps, callers: stsCallerVerifier(stsAs({ accessKeyId: 'AKIAREVOKER', secretAccessKey: 'revoker-secret' })) });
  return { world, old, handler, cli: stsAs(oncall) };
}

describe('Function: createRevokerHandler, the proven caller', () => {
  it('records the ARN STS proves as the operator, never the request operator field', async () => {
    // Prepare: the payload claims to be mallory; the proof is signed by ana's credentials
    const { world, old, handler, cli } = await provenWorld();
    const request = { action: 'revokeNow', secretId: world.arn, previous: true, reason: 'leak', operator: 'mallory' };
    // Act
    await handler({ ...request, [CALLER_PROOF_FIELD]: await proveCaller(cli, requestBinding(request)) });
    // Assess
    expect(await world.record(old.keyId)).toMatchObject({ phase: 'revoked', by: ANA });
    expect(world.logger.lines.find((l) => l.message === 'audit')?.attributes).toMatchObject({ operator: ANA });
  });

  it('refuses a proof bound to another payload, and does nothing', async () => {
    // Prepare: a proof made for a cancel, replayed with a revokeNow
    const { world, old, handler, cli } = await provenWorld();
    const proof = await proveCaller(cli, requestBinding({ action: 'cancel', secretId: world.arn, operator: 'ana' }));
    // Act
    const attempt = handler({ action: 'revokeNow', secretId: world.arn, previous: true, reason: 'leak', operator: 'ana', [CALLER_PROOF_FIELD]: proof });
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'CallerNotProven', message: expect.stringMatching(/not bound to this request/) });
    expect(world.status(old.keyId)).toBe('active');
  });

  it('refuses a proof whose binding header was rewritten to match (STS: the signature does not match)', async () => {
    // Prepare
    const { world, old, handler, cli } = await provenWorld();
    const request = { action: 'revokeNow', secretId: world.arn, previous: true, reason: 'leak', operator: 'ana' };
    const proof = await proveCaller(cli, requestBinding({ action: 'cancel', secretId: world.arn, operator: 'ana' }));
    // Act
    const attempt = handler({ ...request, [CALLER_PROOF_FIELD]: { ...proof, headers: { 'x-keyrelay-request': requestBinding(request) } } });
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'CallerNotProven', message: expect.stringMatching(/SignatureDoesNotMatch/) });
    expect(world.status(old.keyId)).toBe('active');
  });

  it('refuses a proof valid for longer than 15 minutes (the replay bound), before asking STS', async () => {
    // Prepare: a proof re-signed for a week
    const { world, old, handler } = await provenWorld();
    const request = { action: 'revokeNow', secretId: world.arn, previous: true, reason: 'leak', operator: 'ana' };
    const week = new STSClient({ region: 'eu-west-1', endpoint: ENDPOINT, credentials: oncall });
    const proof = await proveCaller(week, requestBinding(request));
    const url = new URL(proof.url);
    url.searchParams.set('X-Amz-Expires', '604800');
    // Act
    const attempt = handler({ ...request, [CALLER_PROOF_FIELD]: { ...proof, url: url.href } });
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'CallerNotProven', message: expect.stringMatching(/expire within 900 s/) });
    expect(world.status(old.keyId)).toBe('active');
  });

  it.each([
    ['revokeNow', { previous: true, reason: 'leak' }],
    ['cancel', {}],
    ['rollback', {}],
    ['retire', { handOver: true }],
  ])('refuses %s without a proof, telling an old CLI to upgrade', async (action, rest) => {
    // Prepare
    const { world, old, handler } = await provenWorld();
    // Act
    const attempt = handler({ action, secretId: world.arn, operator: 'ana', ...rest });
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'CallerNotProven', message: expect.stringMatching(/no caller proof.*upgrade/) });
    expect(world.status(old.keyId)).toBe('active');
  });

  it('needs no proof for scheduler and sweep actions', async () => {
    // Prepare
    const { world, handler } = await provenWorld();
    // Act / Assess
    await expect(handler({ action: 'reconcile', secretId: world.arn })).resolves.toMatchObject({ keys: expect.any(Array) });
    await expect(handler({ action: 'inspect', secretId: world.arn })).resolves.toMatchObject({ keys: expect.any(Array) });
  });
});
