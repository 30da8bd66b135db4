import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatClockStamp, HEADER, RUNTIME_PREFIX, type ClockStamp, type FunctionErrorPayload } from './protocol';

/**
 * One sandbox's Lambda Runtime API, as AWS documents it: `GET /invocation/next` (long poll), `POST
 * /invocation/{id}/response`, `POST /invocation/{id}/error`, `POST /init/error`. The runtime client in the function's
 * process is its only caller; the sandbox (`sandbox.ts`) submits invocations and learns their outcome.
 */

/** One invocation to hand to the runtime client. */
export interface Invocation {
  /** The event, JSON. */
  payload: string;
  /** Real time by which the function must answer, ms since the epoch. */
  deadline: number;
  functionArn: string;
  /** The local clock at submission (sent as a local-only header). */
  clock?: ClockStamp;
}

/** How an invocation ended: the handler's result (JSON), or an error payload. */
export type InvocationOutcome = { ok: true; payload: string } | { ok: false; error: FunctionErrorPayload };

const MAX_PAYLOAD = 6 * 1024 * 1024; // Lambda's synchronous response limit

interface Pending {
  id: string;
  invocation: Invocation;
  settle: (outcome: InvocationOutcome) => void;
}

/** A running Runtime API for one sandbox. */
export class RuntimeApi {
  /** `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`. */
  readonly address: string;
  /** Called once when the runtime client reports that the function could not initialise. */
  onInitError: (error: FunctionErrorPayload) => void = () => undefined;
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<string, Pending>();
  private waiting?: ServerResponse;

  private constructor(private readonly server: ReturnType<typeof createServer>) {
    this.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Starts a Runtime API on a free port of 127.0.0.1. */
  static async start(): Promise<RuntimeApi> {
    let api: RuntimeApi | undefined;
    const server = createServer((req, res) => {
      api?.handle(req, res).catch((err: unknown) => reply(res, 500, { errorType: 'ServiceException', errorMessage: String(err) }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    api = new RuntimeApi(server);
    return api;
  }

  /** Hands an invocation to the runtime client (at its next `next`); resolves with its outcome. */
  submit(invocation: Invocation): { id: string; outcome: Promise<InvocationOutcome> } {
    const id = randomUUID();
    const outcome = new Promise<InvocationOutcome>((resolve) => {
      const pending: Pending = { id, invocation, settle: resolve };
      this.queue.push(pending);
      this.deliver();
    });
    return { id, outcome };
  }

  /** Ends an invocation from outside (timeout, process exit) with `error`; no-op once it has ended. */
  fail(id: string, error: FunctionErrorPayload): void {
    const pending = this.inFlight.get(id) ?? this.queue.find((p) => p.id === id);
    if (!pending) return;
    this.inFlight.delete(id);
    this.queue.splice(this.queue.indexOf(pending), 1);
    pending.settle({ ok: false, error });
  }

  /** Fails everything pending with `error` and closes the server. */
  async stop(error: FunctionErrorPayload = { errorType: 'Runtime.Stopped', errorMessage: 'the local Lambda runtime stopped' }): Promise<void> {
    for (const id of [...this.inFlight.keys(), ...this.queue.map((p) => p.id)]) this.fail(id, error);
    this.waiting?.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private deliver(): void {
    const res = this.waiting;
    const next = this.queue[0];
    if (!res || !next) return;
    this.waiting = undefined;
    this.queue.shift();
    this.inFlight.set(next.id, next);
    const { invocation } = next;
    reply(res, 200, invocation.payload, {
      [HEADER.requestId]: next.id,
      [HEADER.deadlineMs]: String(invocation.deadline),
      [HEADER.functionArn]: invocation.functionArn,
      [HEADER.traceId]: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${next.id.replace(/-/g, '').slice(0, 24)}`,
      ...(invocation.clock ? { [HEADER.localClock]: formatClockStamp(invocation.clock) } : {}),
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === `${RUNTIME_PREFIX}/invocation/next`) {
      this.waiting?.destroy(); // one client per sandbox: a new poll replaces a dropped one
      this.waiting = res;
      res.on('close', () => {
        if (this.waiting === res) this.waiting = undefined;
      });
      this.deliver();
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      reply(res, 413, { errorType: 'RequestEntityTooLarge', errorMessage: `payload over ${MAX_PAYLOAD} bytes` });
      return;
    }
    const headerType = req.headers[HEADER.errorType];
    if (req.method === 'POST' && path === `${RUNTIME_PREFIX}/init/error`) {
      reply(res, 202, { status: 'OK' });
      this.onInitError(errorPayload(body, headerType, 'Runtime.InitError'));
      return;
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    if (req.method !== 'POST' || !match) {
      reply(res, 404, { errorType: 'InvalidRequest', errorMessage: `no Runtime API route ${req.method ?? ''} ${path}` });
      return;
    }
    const [, id = '', kind] = match;
    const pending = this.inFlight.get(id);
    if (!pending) {
      reply(res, 400, { errorType: 'InvalidRequestID', errorMessage: `no invocation '${id}' is in flight` });
      return;
    }
    this.inFlight.delete(id);
    reply(res, 202, { status: 'OK' });
    pending.settle(kind === 'response' ? { ok: true, payload: body } : { ok: false, error: errorPayload(body, headerType, 'Unhandled') });
  }
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_PAYLOAD) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_PAYLOAD ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The posted error body when it is one, else an error built from the header (as Lambda falls back to it). */
function errorPayload(body: string, headerType: string | string[] | undefined, fallbackType: string): FunctionErrorPayload {
  try {
    const parsed = JSON.parse(body) as Partial<FunctionErrorPayload>;
    if (typeof parsed.errorMessage === 'string' || typeof parsed.errorType === 'string') {
      return {
        errorType: typeof parsed.errorType === 'string' ? parsed.errorType : String(headerType ?? fallbackType),
        errorMessage: typeof parsed.errorMessage === 'string' ? parsed.errorMessage : '',
        ...(Array.isArray(parsed.trace) ? { trace: parsed.trace.map(String) } : {}),
      };
    }
  } catch {
    // not JSON: fall through
  }
  return { errorType: String(headerType ?? fallbackType), errorMessage: body.slice(0, 1000) };
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
