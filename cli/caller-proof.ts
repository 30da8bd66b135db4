import { GetCallerIdentityCommand, type GetCallerIdentityCommandOutput, type STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FinalizeRequestMiddleware, HttpRequest } from '@smithy/types';
import { CALLER_PROOF_HEADER, CALLER_PROOF_TTL_S, type CallerProof } from '../core/caller-proof';

/** Stops the SDK once it has resolved the STS endpoint: the request is presigned, not sent. */
class Resolved extends Error {
  constructor(readonly request: HttpRequest) {
    super('resolved');
  }
}

/**
 * Proves who runs the CLI to the revoker (docs/security.md, "Who did it"): an STS `GetCallerIdentity` request to the
 * endpoint `sts` resolves (regional, or `AWS_ENDPOINT_URL_STS`/`--endpoint-url`), SigV4-presigned for
 * {@link CALLER_PROOF_TTL_S} seconds with the caller's credentials, its signed {@link CALLER_PROOF_HEADER} set to
 * `binding` (the action's `requestBinding`). Nothing is sent to STS here.
 */
export async function proveCaller(sts: STSClient, binding: string): Promise<CallerProof> {
  const command = new GetCallerIdentityCommand({});
  const capture: FinalizeRequestMiddleware<object, GetCallerIdentityCommandOutput> = () => async (args) => {
    throw new Resolved(args.request as HttpRequest);
  };
  command.middlewareStack.addRelativeTo(capture, { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'keyrelayResolveSts' });
  let resolved: HttpRequest;
  try {
    await sts.send(command);
    throw new Error('the STS client sent GetCallerIdentity instead of stopping before signing');
  } catch (err) {
    if (!(err instanceof Resolved)) throw err;
    resolved = err.request;
  }
  const host = resolved.headers.host ?? `${resolved.hostname}${resolved.port ? `:${resolved.port}` : ''}`;
  const request: HttpRequest = {
    method: 'GET',
    protocol: resolved.protocol,
    hostname: resolved.hostname,
    port: resolved.port,
    path: resolved.path,
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host, [CALLER_PROOF_HEADER]: binding },
  };
  const signer = new SignatureV4({ credentials: sts.config.credentials, region: await sts.config.region(), service: 'sts', sha256: sts.config.sha256 });
  const signed = await signer.presign(request, { expiresIn: CALLER_PROOF_TTL_S });
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(signed.query ?? {})) if (typeof v === 'string') query.set(k, v);
  const url = `${signed.protocol}//${signed.hostname}${signed.port ? `:${signed.port}` : ''}${signed.path}?${query.toString()}`;
  return { url, headers: { [CALLER_PROOF_HEADER]: binding } };
}
