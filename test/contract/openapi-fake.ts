import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpenAPIBackend, type Document, type Operation } from 'openapi-backend';
import { echoCredentials, echoedCredentials } from '../support/echo-credentials';

/**
 * A local fake of a provider's key API, driven by the provider's own OpenAPI document
 * (`test/contract/fixtures/provider-openapi/<name>.json`, read at test time). The router of `openapi-backend` maps each
 * request onto an operation; the same library validates (ajv) every request the adapter sends and every response
 * the fake returns against that operation, and records what fails in {@link OpenApiFake.violations}: a contract
 * test asserts the list is empty, so neither the adapter nor the fake can drift from the provider's contract.
 *
 * Every error answer quotes the credentials of its request (`test/support/echo-credentials.ts`), the way a careless
 * provider would: the adapters must keep them out of their errors.
 *
 * Every request must match an operation of the document: one that does not (a path or method the provider's spec
 * lacks) is a violation and answers 404, so no adapter call escapes validation. A call the subset lacks is added to
 * the fixture as a hand-written minimal model of the provider's published spec, citing it (fixtures README).
 */

/**
 * Where the provider specs live: a copy, kept in the repository so any clone tests against them, of the subsets cut
 * from each provider's own published OpenAPI document (sources and commits in that folder's README.md).
 */
export const FIXTURES_DIR = fileURLToPath(new URL('./fixtures/provider-openapi', import.meta.url));

/** Loads `<name>.json` from {@link FIXTURES_DIR}. */
export function loadSpec(name: string): Document {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, `${name}.json`), 'utf8')) as Document;
}

/** A request as a handler sees it. */
export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON or form body (form fields as strings). */
  body: unknown;
  /** Path parameters of the matched operation. */
  params: Record<string, string>;
  operationId: string;
}

/** What a handler answers. */
export interface FakeReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type FakeHandler = (req: FakeRequest) => FakeReply;

/** Options of {@link startOpenApiFake}. */
export interface OpenApiFakeOptions {
  spec: Document;
  /** One handler per operationId the adapter uses. */
  handlers: Record<string, FakeHandler>;
  /** Checks credentials before any handler; returns the provider's 401/403 answer, or undefined to go on. */
  authenticate?: (req: FakeRequest) => FakeReply | undefined;
}

/** A running fake. */
export interface OpenApiFake {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every validation failure so far (request or response), as readable lines. Empty when the contract held. */
  violations: string[];
  /** Every answered call: `<operationId> <status>`. */
  calls: string[];
  /**
   * The next `times` requests (after authentication) get `reply` instead of the handler's answer.
   * @default operationId - any operation
   */
  failNext(reply: FakeReply, times?: number, operationId?: string): void;
  stop(): Promise<void>;
}

/** Starts a fake on 127.0.0.1 and a free port. */
export async function startOpenApiFake(options: OpenApiFakeOptions): Promise<OpenApiFake> {
  // `quick` skips the library's own check of the document, which knows only the OpenAPI 3.0 meta-schema and would
  // reject the 3.1 specs (OpenAI, SendGrid) for 3.1-only fields such as `info.license.identifier`; every fixture
  // already passes openapi-spec-validator (fixtures README). Request/response validation (ajv) is unaffected.
  const api = new OpenAPIBackend({
    definition: requestView(options.spec),
    quick: true,
    validate: true,
    ajvOpts: { strict: false, validateFormats: false },
  });
  await api.init();
  const violations: string[] = [];
  const calls: string[] = [];
  const faults: Array<{ reply: FakeReply; times: number; operationId?: string }> = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0]?.trim();
    const body = parseBody(raw, contentType);
    const base = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
    const openapiReq = {
      method: base.method,
      path: base.path,
      // Query names taken literally (`page[size]` is Datadog's parameter name, not a nested object: the library's
      // own string parser would read it as `{page: {size}}`).
      query: Object.fromEntries(url.searchParams),
      headers: req.headers as Record<string, string | string[]>,
      body,
    };
    const operation: Operation | undefined = api.router.matchOperation(openapiReq);
    let reply: FakeReply;
    let opId: string;
    if (!operation) {
      opId = `${base.method} ${base.path}`;
      violations.push(`request ${opId}: no operation in the document matches`);
      reply = { status: 404, body: { message: 'no such route in the fake' } };
    } else {
      opId = operation.operationId ?? `${base.method} ${base.path}`;
      const params = api.router.parseRequest(openapiReq, operation).params as Record<string, string>;
      const checked = api.validator.validateRequest(openapiReq, operation);
      if (!checked.valid) violations.push(`request ${opId}: ${describe(checked.errors)}`);
      const fakeReq: FakeRequest = { ...base, params, operationId: opId };
      const handler = options.handlers[opId];
      const faultAt = faults.findIndex((f) => f.operationId === undefined || f.operationId === opId);
      const fault = faults[faultAt];
      const denied = options.authenticate?.(fakeReq);
      if (denied) reply = denied;
      else if (fault) {
        if (--fault.times <= 0) faults.splice(faultAt, 1);
        reply = fault.reply;
      } else if (handler) reply = handler(fakeReq);
      else {
        violations.push(`request ${opId}: the fake has no handler for this operation`);
        reply = { status: 501 };
      }
      reply = echoErrors(reply, req);
      validateReply(api, operation, reply, violations);
    }
    calls.push(`${opId} ${reply.status}`);
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status, { ...(text ? { 'content-type': 'application/json' } : {}), ...reply.headers });
    res.end(text);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      violations.push(`fake crashed: ${err instanceof Error ? err.message : String(err)}`);
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    violations,
    calls,
    failNext(reply, times = 1, operationId) {
      faults.push({ reply, times, operationId });
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function echoErrors(reply: FakeReply, req: IncomingMessage): FakeReply {
  return reply.status < 400 ? reply : { ...reply, body: echoCredentials(reply.body, echoedCredentials(req.headers)) };
}

function validateReply(api: OpenAPIBackend, operation: Operation, reply: FakeReply, violations: string[]): void {
  const opId = operation.operationId ?? '?';
  const documented = Object.keys(operation.responses ?? {});
  const matches = documented.some((code) => code === String(reply.status) || code === `${String(reply.status)[0]}XX` || code === 'default');
  if (!matches) {
    // The document says nothing about this status (most specs omit 429, Twilio documents no error at all): the
    // fake follows the provider's prose docs instead, and the test says which.
    violations.push(`response ${opId} ${reply.status}: status not documented (a test may allow it, citing the prose docs of the provider)`);
    return;
  }
  // An empty body is `null` to the validator (its schema for "no content").
  const checked = api.validator.validateResponse(reply.body ?? null, operation, reply.status);
  if (!checked.valid) violations.push(`response ${opId} ${reply.status}: ${describe(checked.errors)}`);
}

function describe(errors: Array<{ instancePath?: string; message?: string; params?: unknown }> | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params ?? {})}`).join('; ');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === '') return undefined;
  if (contentType === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Takes the violations recorded since the last call (so one test's failure does not spill into the next), minus
 * undocumented statuses a test has declared as following the provider's prose docs.
 */
export function contractViolations(fake: OpenApiFake, allowUndocumented: number[] = []): string[] {
  const taken = fake.violations.splice(0);
  return taken.filter((v) => !allowUndocumented.some((s) => v.includes(` ${s}: status not documented`)));
}

type Json = Record<string, unknown>;

/**
 * OpenAPI 3.0/3.1 rule the validator library does not apply: a `readOnly` property is never sent in a request, so
 * its `required` binds only responses (Cloudflare's policy `id` and token `id` are both). Each request body schema
 * is inlined (refs resolved, cycles kept as refs) and readOnly properties are dropped from its `required` lists;
 * response schemas keep theirs.
 */
function requestView(spec: Document): Document {
  const copy = structuredClone(spec) as unknown as { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>> };
  const resolve = (ref: string): unknown => ref.slice(2).split('/').reduce<unknown>((node, part) => (node as Json)?.[part], copy);
  const inline = (node: unknown, stack: string[]): unknown => {
    if (Array.isArray(node)) return node.map((n) => inline(n, stack));
    if (node === null || typeof node !== 'object') return node;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/')) return stack.includes(ref) ? node : inline(resolve(ref), [...stack, ref]);
    const out: Json = {};
    for (const [k, v] of Object.entries(node)) out[k] = inline(v, stack);
    const props = out.properties as Record<string, Json> | undefined;
    if (Array.isArray(out.required) && props) {
      out.required = (out.required as string[]).filter((name) => props[name]?.readOnly !== true);
    }
    return out;
  };
  for (const item of Object.values(copy.paths)) {
    for (const op of Object.values(item)) {
      for (const media of Object.values(op.requestBody?.content ?? {})) {
        if (media.schema !== undefined) media.schema = inline(media.schema, []);
      }
    }
  }
  return copy as unknown as Document;
}
