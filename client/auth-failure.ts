interface StatusCarrier {
  status?: unknown;
  statusCode?: unknown;
  response?: { status?: unknown; statusCode?: unknown };
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * The default test of {@link KeyClient.withApiKey} for "the key was refused": an HTTP 401 or 403 found in `status`
 * (fetch `Response`, keyrelay's provider errors, many SDKs), `statusCode` (Node `http`, got), `response.status`
 * (axios, ky), `response.statusCode` (got, superagent) or `$metadata.httpStatusCode` (AWS SDK v3, for IAM access keys).
 * `fetch` does not throw on 401: throw from your function when `!res.ok` (see docs/client.md).
 *
 * Trade-off: 403 also means "this key may not do that" on many APIs; the rate limit on forced refreshes keeps such
 * refusals cheap. Pass your own `isAuthFailure` to narrow or widen it.
 */
export function isAuthFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as StatusCarrier;
  const status = e.status ?? e.statusCode ?? e.response?.status ?? e.response?.statusCode ?? e.$metadata?.httpStatusCode;
  return status === 401 || status === 403;
}
