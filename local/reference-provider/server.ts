import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { systemClock, type Clock } from '../../core/clock';
import { ConfigError, describeError } from '../../core/errors';
import { FaultSchema, FaultSet, type FaultEffect } from './faults';
import { ApiError, KeyStore, type KeyInfo } from './store';

/** Options of {@link startReferenceProvider}. */
export interface ReferenceProviderOptions {
  /** Interface to bind. Keep it local: admin credentials travel in clear HTTP. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Clock for timestamps and latency faults. @default systemClock */
  clock?: Clock;
  /** Most keys not deleted (disabled ones count) per admin credential. @default 5 */
  quota?: number;
  /** Admin credentials (accounts `acct-1`, `acct-2`, ...) to create. @default 1 */
  accounts?: number;
  /** Called with every key value issued, before it is answered (tests register it with the leak guard). */
  onIssue?: (apiKey: string) => void;
}

/** A running reference provider. */
export interface ReferenceProvider {
  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  url: string;
  /** One admin credential per account: `adminKeys[0]` is `acct-1`'s. */
  adminKeys: string[];
  /** Most keys not deleted per admin credential (see {@link ReferenceProviderOptions.quota}). */
  quota: number;
  /** The faults of `/_admin/faults`, in-process. */
  faults: Pick<FaultSet, 'set' | 'clear' | 'list'>;
  /** Every key ever issued, deleted ones included (status `deleted`); never key values. */
  keys(): ReadonlyArray<KeyInfo>;
  /**
   * Revokes a key on the provider's own initiative, as after a secret-scanning partner's report (`POST
   * /_admin/scanner/revoke`, in-process): the key is deleted and its owner is not told. @throws ApiError 404
   */
  scannerRevoke(found: { key: string } | { id: string }): KeyInfo;
  /** Stops listening and drops open connections; later calls return the same promise. */
  stop(): Promise<void>;
}

const DEFAULT_PAGE_SIZE = 2;
const MAX_PAGE_SIZE = 100;
const MAX_BODY_BYTES = 64 * 1024;
const MAX_NAME_LENGTH = 1024;

const CreateKeyBody = z.object({ name: z.string().min(1).max(MAX_NAME_LENGTH) });
const FaultsBody = z.union([FaultSchema, z.array(FaultSchema)]);
const ScannerBody = z.union([z.object({ key: z.string().min(1) }).strict(), z.object({ id: z.string().min(1) }).strict()]);
const PageToken = z.object({ after: z.int().min(0) });

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Starts the reference provider: a SaaS-like key API on node:http (docs/reference-provider.md).
 *
 * Trade-off: state lives in memory and dies with the process, which is what tests and the local stack want.
 * A latency fault sleeps on `clock`; with the system clock a pending sleep outlives `stop()` until it ends.
 *
 * @example
 * const provider = await startReferenceProvider({ clock, onIssue: registerSecret });
 * provider.faults.set({ status: 503, match: { path: '/v1/whoami' }, times: 2 });
 */
export async function startReferenceProvider(options: ReferenceProviderOptions = {}): Promise<ReferenceProvider> {
  const { host = '127.0.0.1', port = 0, clock = systemClock, quota = 5, accounts = 1 } = options;
  for (const [name, value] of [['quota', quota], ['accounts', accounts]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new ConfigError(`reference provider: ${name} must be a whole number of at least 1, got ${value}`);
    }
  }
  const store = new KeyStore(clock, quota, options.onIssue);
  const adminKeys = Array.from({ length: accounts }, () => store.addAccount());
  const faults = new FaultSet();
  const api = new Api(store, faults);

  const server = createServer((req, res) => {
    void api.serve(req, res, clock);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostPart}:${address.port}`,
    adminKeys,
    quota,
    faults,
    keys: () => store.all(),
    scannerRevoke: (found) => store.revokeFound(found),
    stop: () =>
      (stopped ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      })),
  };
}

class Api {
  constructor(
    private readonly store: KeyStore,
    private readonly faults: FaultSet,
  ) {}

  async serve(req: IncomingMessage, res: ServerResponse, clock: Clock): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://reference.invalid');
    let reply: Reply;
    try {
      const fault = url.pathname === '/_admin/faults' ? undefined : this.faults.take(method, url.pathname);
      if (fault?.latencyMs) await clock.sleep(fault.latencyMs);
      if (fault?.action === 'drop') {
        req.socket.destroy();
        return;
      }
      reply = fault?.action === 'respond' ? this.injected(fault) : await this.route(method, url, req);
    } catch (err) {
      reply = err instanceof ApiError ? errorReply(err) : errorReply(new ApiError(500, 'internal_error', describeError(err)));
    }
    send(res, reply);
  }

  private injected(fault: FaultEffect): Reply {
    const code = fault.code ?? snake(STATUS_CODES[fault.status] ?? 'injected fault');
    const extra = code === 'quota_exceeded' ? { limit: this.store.quota } : {};
    const reply = errorReply(new ApiError(fault.status, code, `injected fault: HTTP ${fault.status}`, extra));
    if (fault.retryAfterSeconds !== undefined) reply.headers = { ...reply.headers, 'retry-after': String(fault.retryAfterSeconds) };
    return reply;
  }

  private async route(method: string, url: URL, req: IncomingMessage): Promise<Reply> {
    const path = url.pathname;
    if (path === '/v1/whoami') {
      allow(method, path, ['GET']);
      return this.whoami(req);
    }
    if (path === '/v1/keys') {
      allow(method, path, ['GET', 'POST']);
      const account = this.admin(req);
      if (method === 'GET') return this.list(account, url.searchParams);
      const { name } = parse(CreateKeyBody, await readJson(req));
      const { key, apiKey } = this.store.issue(account, name);
      return { status: 201, body: { ...wire(key), key: apiKey } };
    }
    const keyPath = /^\/v1\/keys\/([^/]+)(?:\/(disable|enable))?$/.exec(path);
    if (keyPath) {
      const id = decodeSegment(keyPath[1] ?? '');
      const action = keyPath[2];
      allow(method, path, action ? ['POST'] : ['GET', 'DELETE']);
      const account = this.admin(req);
      if (action) return { status: 200, body: wire(this.store.setStatus(account, id, action === 'enable' ? 'active' : 'disabled')) };
      if (method === 'GET') return { status: 200, body: wire(this.store.get(account, id)) };
      this.store.delete(account, id);
      return { status: 204 };
    }
    if (path === '/_admin/scanner/revoke') {
      allow(method, path, ['POST']);
      this.admin(req);
      return { status: 200, body: wire(this.store.revokeFound(parse(ScannerBody, await readJson(req)))) };
    }
    if (path === '/_admin/faults') {
      allow(method, path, ['GET', 'POST', 'DELETE']);
      this.admin(req);
      if (method === 'DELETE') {
        this.faults.clear();
        return { status: 204 };
      }
      if (method === 'POST') this.faults.set(parse(FaultsBody, await readJson(req)));
      return { status: 200, body: { faults: this.faults.list() } };
    }
    throw new ApiError(404, 'not_found', `no route ${method} ${path}`);
  }

  private whoami(req: IncomingMessage): Reply {
    const key = this.store.byValue(bearer(req, 'an API key'));
    if (!key) throw new ApiError(401, 'unauthorized', 'API key not recognised (unknown or deleted)');
    if (key.status !== 'active') throw new ApiError(401, 'unauthorized', 'API key is disabled');
    this.store.touch(key.id);
    return { status: 200, body: { keyId: key.id, account: key.account } };
  }

  private list(account: string, params: URLSearchParams): Reply {
    const sizeParam = params.get('page_size');
    const size = sizeParam === null ? DEFAULT_PAGE_SIZE : Number(sizeParam);
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
      throw new ApiError(400, 'invalid_request', `page_size must be a whole number from 1 to ${MAX_PAGE_SIZE}, got '${sizeParam}'`);
    }
    const token = params.get('page_token');
    const { keys, last } = this.store.page(account, size, token ? decodePageToken(token) : 0);
    const next = last === undefined ? null : Buffer.from(JSON.stringify({ after: last })).toString('base64url');
    return { status: 200, body: { keys: keys.map(wire), next_page_token: next } };
  }

  /** The account of the request's admin credential. */
  private admin(req: IncomingMessage): string {
    const token = bearer(req, 'an admin credential');
    const account = this.store.account(token);
    if (account) return account;
    if (this.store.byValue(token)) {
      throw new ApiError(403, 'forbidden', 'an API key cannot manage keys; use the account admin credential');
    }
    throw new ApiError(401, 'unauthorized', 'admin credential not recognised');
  }
}

function bearer(req: IncomingMessage, what: string): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1]) throw new ApiError(401, 'unauthorized', `send ${what} as 'Authorization: Bearer <token>'`);
  return match[1];
}

function allow(method: string, path: string, methods: string[]): void {
  if (!methods.includes(method)) {
    throw new ApiError(405, 'method_not_allowed', `${method} ${path} is not supported; use ${methods.join(' or ')}`);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'payload_too_large', `request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'invalid_json', 'request body is not JSON');
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ApiError(400, 'invalid_request', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(404, 'not_found', `no key '${segment}'`);
  }
}

function decodePageToken(token: string): number {
  try {
    return PageToken.parse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))).after;
  } catch {
    throw new ApiError(400, 'invalid_page_token', 'page_token is not one this service issued; start again without it');
  }
}

/** A key as the HTTP API shows it: ISO times, never the value. */
function wire(key: KeyInfo): Record<string, unknown> {
  return {
    id: key.id,
    account: key.account,
    name: key.name,
    status: key.status,
    createdAt: new Date(key.createdAt).toISOString(),
    lastUsedAt: key.lastUsedAt === null ? null : new Date(key.lastUsedAt).toISOString(),
  };
}

function errorReply(err: ApiError): Reply {
  const headers: Record<string, string> = err.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
  return { status: err.status, headers, body: { error: { code: err.code, message: err.message, ...err.extra } } };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.writableEnded) return;
  const noBody = reply.status === 204 || reply.status === 304 || reply.body === undefined;
  const text = noBody ? '' : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'cache-control': 'no-store',
    ...(noBody ? {} : { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }),
    ...reply.headers,
  });
  res.end(text);
}

function snake(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}
