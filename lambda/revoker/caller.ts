/**
 * Who asked: the revoker's answer to "the recorded operator is the verified caller, never a request field"
 * (docs/security.md, "Who did it"). A Lambda function URL with `AWS_IAM` auth hands the function the caller's IAM ARN,
 * verified by Lambda from the request's SigV4 signature, in `requestContext.authorizer.iam.userArn`; the action's body
 * is the request. A plain `Invoke` carries no caller: its payload is the request as it is.
 */
export interface Caller {
  /** The request, unwrapped from the function URL envelope when there is one. */
  payload: unknown;
  /** The verified caller's ARN, when Lambda verified one. */
  verified?: string;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** Splits a function-URL event into its request and verified caller; any other event is the request itself. */
export function callerOf(event: unknown): Caller {
  const context = field(event, 'requestContext');
  const body = field(event, 'body');
  if (context === undefined || typeof body !== 'string') return { payload: event };
  const arn = field(field(field(context, 'authorizer'), 'iam'), 'userArn');
  const text = field(event, 'isBase64Encoded') === true ? Buffer.from(body, 'base64').toString('utf8') : body;
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = text; // the request parser names what is wrong
  }
  return { payload, verified: typeof arn === 'string' && arn.length > 0 ? arn : undefined };
}
