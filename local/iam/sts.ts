import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import type { LocalPrincipal } from './principals';

/**
 * The local STS `GetCallerIdentity`, for query-signed (presigned) requests: what the revoker sends to prove who asked
 * (docs/security.md, "Who did it"). As STS does, it checks the SigV4 signature (every signed header, the
 * `x-keyrelay-request` binding included) with the secret key of the principal whose access key signed, and the
 * expiry, then answers that principal's ARN.
 */

/** An STS answer: status and XML body. */
export interface StsAnswer {
  status: number;
  body: string;
}

const bytes = (data: SourceData): Buffer =>
  typeof data === 'string' ? Buffer.from(data, 'utf8') : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);

/** SHA-256 (HMAC when given a secret) over node:crypto, as SigV4 needs it. */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function error(status: number, code: string, message: string): StsAnswer {
  return {
    status,
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>local</RequestId></ErrorResponse>`,
  };
}

/** Whether `url` (path and query) is a query-signed STS `GetCallerIdentity`. */
export function isPresignedGetCallerIdentity(method: string, url: string): boolean {
  const query = new URL(url, 'http://local').searchParams;
  return method === 'GET' && query.get('Action') === 'GetCallerIdentity' && query.has('X-Amz-Signature');
}

/**
 * Answers a presigned `GetCallerIdentity` at `now` (ms) as STS would: `InvalidClientTokenId` for an unknown access key,
 * `SignatureDoesNotMatch` for a signature its principal's secret did not make (another binding header, host or query),
 * `ExpiredToken`-style refusal past `X-Amz-Expires`.
 */
export async function answerGetCallerIdentity(
  request: { url: string; headers: Record<string, string | string[] | undefined> },
  principal: (accessKeyId: string) => LocalPrincipal | undefined,
  now: number,
): Promise<StsAnswer> {
  const url = new URL(request.url, 'http://local');
  const query = url.searchParams;
  const [accessKeyId, date, region, service] = (query.get('X-Amz-Credential') ?? '').split('/');
  const who = accessKeyId ? principal(accessKeyId) : undefined;
  if (!who) return error(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  const signedAt = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(query.get('X-Amz-Date') ?? '');
  const expires = Number(query.get('X-Amz-Expires'));
  if (!signedAt || !date || !region || service !== 'sts' || !Number.isInteger(expires)) {
    return error(400, 'AuthorizationQueryParametersError', 'The presigned request is missing or has malformed X-Amz-* parameters.');
  }
  const signingDate = new Date(Date.UTC(+signedAt[1]!, +signedAt[2]! - 1, +signedAt[3]!, +signedAt[4]!, +signedAt[5]!, +signedAt[6]!));
  if (now > signingDate.getTime() + expires * 1000) return error(403, 'ExpiredToken', 'The security token included in the request is expired');
  const signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    headers[name] = Array.isArray(value) ? value.join(',') : (value ?? '');
  }
  const unsigned: Record<string, string> = {};
  for (const [k, v] of query) if (!k.startsWith('X-Amz-')) unsigned[k] = v;
  const signer = new SignatureV4({
    credentials: { accessKeyId: who.accessKeyId, secretAccessKey: who.secretAccessKey },
    region,
    service: 'sts',
    sha256: NodeSha256,
  });
  const expected = await signer.presign(
    { method: 'GET', protocol: 'http:', hostname: headers.host ?? '', path: url.pathname, query: unsigned, headers },
    { signingDate, expiresIn: expires, signableHeaders: new Set(signedHeaders) },
  );
  if (expected.query?.['X-Amz-Signature'] !== query.get('X-Amz-Signature')) {
    return error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  const account = who.callerArn.split(':')[4] ?? '';
  return {
    status: 200,
    body:
      '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
      `<Arn>${who.callerArn}</Arn><UserId>${who.accessKeyId}</UserId><Account>${account}</Account>` +
      '</GetCallerIdentityResult><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
  };
}
