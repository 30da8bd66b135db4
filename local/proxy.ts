import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../core/errors';
import { lambdaErrorPayload, type FunctionRegistry } from './functions';
import { signatureOf, type EndpointRequest } from './iam/context';
import type { LocalReplicas } from './replicas';
import type { LocalPrincipal } from './iam/principals';
import { answerGetCallerIdentity, isPresignedGetCallerIdentity } from './iam/sts';
import { AwsServiceError, type RotateSecretInput, type RotationService } from './rotation-service';
import { answerPutEvents, answerSchedule, isScheduleCall } from './scheduler-api';
import type { LocalEvents, LocalScheduler } from './scheduler';

/**
 * The local AWS endpoint: moto behind a thin proxy. Every call goes to moto untouched (headers kept, bodies
 * streamed) except what moto gets wrong for keyrelay:
 * - Secrets Manager `RotateSecret` / `CancelRotateSecret`: answered by the {@link RotationService};
 * - `DescribeSecret` / `ListSecrets`: moto's answer with the rotation fields (rules, dates) overlaid;
 * - `GetSecretValue` with neither `VersionId` nor `VersionStage`: asked for `AWSCURRENT`, AWS's default (moto
 *   answers the version its own RotateSecret last touched, which would be the value-less placeholder);
 * - Lambda `Invoke` of keyrelay's own functions: run by the local stack (moto's would only echo);
 * - EventBridge Scheduler `CreateSchedule`/`GetSchedule`/`DeleteSchedule` and EventBridge `PutEvents` of `KeyRotated`:
 *   answered by the local scheduler and events (`scheduler-api.ts`), so revocations fire on the local clock;
 * - STS `GetCallerIdentity`, presigned (the revoker's caller proof): answered with the signer's principal (`iam/sts.ts`);
 * - replicas (`replicas.ts`): a lagging region's `DescribeSecret`, `ListSecrets` and `GetSecretValue` answered from its
 *   frozen labels, and `GetResourcePolicy` on a replica (moto refuses it) from the primary;
 * - `/_keyrelay/...`: the local stack's admin API.
 *
 * And it refuses, before anything else (see {@link refusal}): a request whose `Host` is not the endpoint's own (a
 * DNS-rebinding page in a browser), and anything that is not an AWS API call: moto's own API (`/moto-api/...`
 * returns every secret value and resets state) and unsigned requests. Tools that need moto's API use moto's URL.
 *
 * Then `authorize` (the local IAM, local/iam/) judges every AWS request by the principal whose access key signed
 * it; a denial is answered as AWS answers it and nothing reaches moto.
 *
 * Trade-off: a rewritten request body no longer matches its SigV4 signature, so signatures are not verified (the
 * local IAM attributes a request by its access key id); moto checks signatures only with its authentication
 * switched on, which the local stack leaves off.
 */

/** Answers `/_keyrelay/<path>`; the body is parsed JSON (or undefined). */
export type AdminHandler = (method: string, path: string, body: unknown) => Promise<{ status: number; body: unknown }>;

/** Options for {@link startProxy}. */
export interface ProxyOptions {
  motoUrl: string;
  rotation: RotationService;
  functions: FunctionRegistry;
  /** Answers Scheduler schedule calls. @default - none: they go to moto */
  scheduler?: LocalScheduler;
  /** Records `KeyRotated` `PutEvents`. @default - none: they go to moto */
  events?: LocalEvents;
  admin: AdminHandler;
  /** Judges an AWS request: undefined to serve it, else the error to answer. @default - every request served */
  authorize?: (request: EndpointRequest) => Promise<AwsServiceError | undefined>;
  /**
   * The principal signing with an access key: the endpoint answers a presigned STS `GetCallerIdentity` with it, before
   * any IAM judgement (STS needs no permission for it), as `local/iam/sts.ts` says. @default - such requests go to moto
   */
  callerIdentity?: (accessKeyId: string) => LocalPrincipal | undefined;
  /** Replica lag injection and replica answers (`local/replicas.ts`). @default - moto's replicas, never lagging */
  replicas?: LocalReplicas;
  /** Told when an AWS request has been answered (a write is done). */
  answered?: (request: EndpointRequest) => void;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
}

/** A running proxy. */
export interface Proxy {
  /** The AWS-compatible endpoint, e.g. `http://127.0.0.1:40555`. */
  url: string;
  stop(): Promise<void>;
}

const JSON_11 = 'application/x-amz-json-1.1';
const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const MAX_BODY = 6 * 1024 * 1024; // Lambda's synchronous payload limit

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new AwsServiceError('RequestEntityTooLargeException', `request body over ${MAX_BODY} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  const parsed: unknown = JSON.parse(body.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsServiceError('SerializationException', 'request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-requestid': randomUUID(),
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function sendAwsError(res: ServerResponse, err: unknown): void {
  const e =
    err instanceof AwsServiceError
      ? err
      : err instanceof SyntaxError
        ? new AwsServiceError('SerializationException', `request body is not JSON: ${err.message}`)
        : new AwsServiceError('InternalServiceError', describeError(err), 500);
  send(res, e.status, { __type: e.type, message: e.message }, { 'content-type': JSON_11, 'x-amzn-errortype': e.type });
}

/** SigV4, as every AWS SDK and the AWS CLI sign: an `Authorization` header, or a presigned URL. */
const SIGV4 = /^AWS4-HMAC-SHA256 /;
const PRESIGNED = /[?&]X-Amz-Algorithm=AWS4-HMAC-SHA256(&|$)/;

/**
 * Why the endpoint refuses `req`, or undefined when it may be served. `ownHosts` are the `Host` values naming this
 * endpoint; `/_keyrelay/` (the admin API, unsigned by design) needs only the Host check.
 */
function refusal(req: IncomingMessage, path: string, ownHosts: ReadonlySet<string>): string | undefined {
  const host = String(req.headers.host ?? '');
  if (!ownHosts.has(host.toLowerCase())) {
    return `Host '${host}' is not this endpoint (${[...ownHosts].join(', ')}); a page on another site cannot use it`;
  }
  if (path.startsWith('/_keyrelay/')) return undefined;
  if (path === '/moto-api' || path.startsWith('/moto-api/')) {
    return "moto's own API is not served here (it returns every secret value); use moto's own URL (the `moto` field `npm run local` prints)";
  }
  if (!SIGV4.test(String(req.headers.authorization ?? '')) && !PRESIGNED.test(req.url ?? '')) {
    return 'not an AWS API call (no SigV4 signature); point an AWS SDK or the AWS CLI at this endpoint';
  }
  return undefined;
}

/** Starts the proxy in front of moto. */
export async function startProxy(options: ProxyOptions): Promise<Proxy> {
  const moto = new URL(options.motoUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });

  /** Sends the request on to moto with `body` (read already, to judge it); `transform` rewrites a 200 answer. */
  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, transform?: (answer: Buffer) => Buffer): void {
    const headers = { ...req.headers };
    headers['content-length'] = String(body.length);
    delete headers['transfer-encoding'];
    const upstream = httpRequest(
      { host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        if (!transform || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const out = transform(Buffer.concat(chunks));
          const outHeaders = { ...answer.headers, 'content-length': String(out.length) };
          delete outHeaders['transfer-encoding'];
          res.writeHead(200, outHeaders);
          res.end(out);
        });
      },
    );
    upstream.on('error', (err) => {
      if (res.headersSent) res.destroy(err);
      else send(res, 502, { __type: 'ServiceUnavailable', message: `moto did not answer: ${err.message}` });
    });
    upstream.end(body);
  }

  const patchOne = (region: string) => (answer: Buffer): Buffer => {
    const json = JSON.parse(answer.toString('utf8')) as Record<string, unknown>;
    options.rotation.patchDescription(json);
    options.replicas?.patchDescription(region, json, 'VersionIdsToStages');
    return Buffer.from(JSON.stringify(json));
  };
  const patchList = (region: string) => (answer: Buffer): Buffer => {
    const json = JSON.parse(answer.toString('utf8')) as { SecretList?: Array<Record<string, unknown>> };
    for (const entry of json.SecretList ?? []) {
      options.rotation.patchDescription(entry);
      options.replicas?.patchDescription(region, entry, 'SecretVersionsToStages');
    }
    return Buffer.from(JSON.stringify(json));
  };

  async function invoke(req: IncomingMessage, res: ServerResponse, name: string, raw: Buffer): Promise<void> {
    let event: unknown;
    try {
      event = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    } catch {
      send(res, 400, { Type: 'User', message: 'Could not parse request body into json' }, { 'x-amzn-errortype': 'InvalidRequestContentException' });
      return;
    }
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (type === 'DryRun') {
      send(res, 204, undefined);
      return;
    }
    if (type === 'Event') {
      // Asynchronous: Lambda answers 202 and runs it later; failures surface only in the function's own logs.
      void options.functions.invoke(name, event).catch(() => undefined);
      send(res, 202, undefined);
      return;
    }
    try {
      const result = await options.functions.invoke(name, event);
      send(res, 200, result === undefined ? 'null' : JSON.stringify(result), { 'x-amz-executed-version': '$LATEST' });
    } catch (err) {
      send(res, 200, lambdaErrorPayload(err), { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' });
    }
  }

  async function secretsManager(res: ServerResponse, operation: string, raw: Buffer): Promise<void> {
    const input = parseJson(raw);
    if (typeof input.SecretId !== 'string') {
      throw new AwsServiceError('InvalidParameterException', `${operation} needs SecretId (a secret name or ARN)`);
    }
    const result =
      operation === 'RotateSecret'
        ? await options.rotation.rotate(input as unknown as RotateSecretInput)
        : await options.rotation.cancel(input.SecretId);
    send(res, 200, result, { 'content-type': JSON_11 });
  }

  let ownHosts: ReadonlySet<string> = new Set();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const refused = refusal(req, path, ownHosts);
    if (refused) throw new AwsServiceError('AccessDeniedException', refused, 403);
    if (path.startsWith('/_keyrelay/')) {
      const raw = req.method === 'GET' ? Buffer.alloc(0) : await readBody(req);
      let body: unknown;
      try {
        body = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
      } catch {
        send(res, 400, { error: 'body is not JSON' });
        return;
      }
      const answer = await options.admin(req.method ?? 'GET', path.slice('/_keyrelay'.length), body);
      send(res, answer.status, answer.body);
      return;
    }
    const raw = await readBody(req);
    if (options.callerIdentity && isPresignedGetCallerIdentity(req.method ?? '', url)) {
      // Real time, as STS: the signer dated the proof by the system clock, not the local clock.
      const answer = await answerGetCallerIdentity({ url, headers: req.headers }, options.callerIdentity, Date.now());
      send(res, answer.status, answer.body, { 'content-type': 'text/xml' });
      return;
    }
    const request = { method: req.method ?? 'GET', url, headers: req.headers, body: raw };
    res.once('finish', () => options.answered?.(request));
    const denied = await options.authorize?.(request);
    if (denied) {
      sendAwsError(res, denied);
      return;
    }
    const invokeMatch = req.method === 'POST' ? INVOKE.exec(path) : null;
    if (invokeMatch?.[1] && options.functions.has(invokeMatch[1])) {
      const qualifier = new URL(url, 'http://local').searchParams.get('Qualifier');
      await invoke(req, res, qualifier ? `${invokeMatch[1]}:${qualifier}` : invokeMatch[1], raw);
      return;
    }
    if (options.scheduler && isScheduleCall(req.method ?? '', path, req.headers)) {
      const answer = answerSchedule(options.scheduler, req.method ?? '', new URL(url, 'http://local'), raw);
      send(res, answer.status, answer.body, answer.headers);
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    if (options.events && target === 'AWSEvents.PutEvents') {
      const answer = await answerPutEvents(options.events, raw);
      if (answer) send(res, answer.status, answer.body, answer.headers);
      else forward(req, res, raw);
      return;
    }
    const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
    const region = signatureOf(request)?.region ?? '';
    switch (operation) {
      case 'RotateSecret':
      case 'CancelRotateSecret':
        await secretsManager(res, operation, raw);
        return;
      case 'DescribeSecret':
        forward(req, res, raw, patchOne(region));
        return;
      case 'ListSecrets':
        forward(req, res, raw, patchList(region));
        return;
      case 'GetSecretValue': {
        let input = parseJson(raw);
        if (input.VersionId === undefined && input.VersionStage === undefined) input.VersionStage = 'AWSCURRENT';
        if (options.replicas) input = options.replicas.getSecretValueInput(region, input);
        forward(req, res, Buffer.from(JSON.stringify(input)));
        return;
      }
      case 'GetResourcePolicy': {
        const input = parseJson(raw);
        const answer = typeof input.SecretId === 'string' ? await options.replicas?.resourcePolicyOfReplica(region, input.SecretId) : undefined;
        if (answer) send(res, 200, answer, { 'content-type': JSON_11 });
        else forward(req, res, raw);
        return;
      }
      default:
        forward(req, res, raw);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendAwsError(res, err);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  ownHosts = new Set([options.host ?? '127.0.0.1', '127.0.0.1', 'localhost', '[::1]'].map((h) => `${h}:${port}`.toLowerCase()));
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}
