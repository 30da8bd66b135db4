import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { HEADER, parseClockStamp, RUNTIME_PREFIX, type ClockStamp, type FunctionErrorPayload } from './protocol';

/**
 * The runtime interface client of the local Lambda runtime: the part of a Lambda sandbox that is not the deployed
 * bundle. It loads `$LAMBDA_TASK_ROOT/<module>.js` with `require` (the bundle is CommonJS, as Lambda unzips it alone),
 * then loops: `GET /invocation/next` → `handler(event, context)` → `POST /invocation/{id}/response` or `/error`.
 * A load failure posts `/init/error` and exits.
 *
 * Built by esbuild into the local runtime's directory and run by the runtime's Node; it is never part of a bundle.
 * Why not the npm package `aws-lambda-ric`: it compiles a native addon at install (node-gyp, a C++ toolchain, about a
 * minute here, Linux only), and its handler sees no request header, so the local clock could not reach the process.
 *
 * Only async handlers are supported, as on `nodejs24.x` (callback handlers are gone from that runtime).
 */

type Handler = (event: unknown, context: Context) => Promise<unknown>;

interface Context {
  awsRequestId: string;
  invokedFunctionArn: string;
  functionName: string;
  functionVersion: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

const env = process.env;
const api = env.AWS_LAMBDA_RUNTIME_API ?? '';
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const [host, port] = api.split(':');
    const req = request({ host, port: Number(port), method, path: `${RUNTIME_PREFIX}${path}`, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function post(path: string, body: string, headers: Record<string, string> = {}): Promise<unknown> {
  return call('POST', path, body, { 'content-type': 'application/json', ...headers });
}

/** An error as Lambda's Node.js runtime reports it: `errorType` is the error's `name`. */
function toPayload(err: unknown): FunctionErrorPayload {
  if (err instanceof Error) {
    return { errorType: err.name || 'Error', errorMessage: err.message, trace: (err.stack ?? '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: String(err), trace: [] };
}

// The local clock: `Date` reads it, set from each invocation's stamp. Timers (`setTimeout`) keep real time.
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
let clock: { base: number; realBase: number; speed: number } | undefined;
const localNow = (): number => (clock ? Math.floor(clock.base + (realNow() - clock.realBase) * clock.speed) : realNow());
class LocalDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(localNow());
    else super(...(args as [string | number | Date]));
  }

  static override now(): number {
    return localNow();
  }
}
globalThis.Date = LocalDate as DateConstructor;

function setClock(stamp: ClockStamp | undefined): void {
  if (stamp) clock = { base: stamp.now, realBase: realNow(), speed: stamp.speed };
}

function load(): Handler {
  const [moduleName = 'index', exportName = 'handler'] = (env._HANDLER ?? 'index.handler').split('.');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is CommonJS, loaded like Lambda loads it
  const mod = require(join(env.LAMBDA_TASK_ROOT ?? process.cwd(), moduleName)) as Record<string, unknown>;
  const handler = mod[exportName];
  if (typeof handler !== 'function') throw Object.assign(new Error(`${moduleName}.${exportName} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  return handler as Handler;
}

async function main(): Promise<void> {
  let handler: Handler;
  try {
    handler = load();
  } catch (err) {
    const payload = toPayload(err);
    if (payload.errorType === 'Error' || payload.errorType === 'SyntaxError') payload.errorType = 'Runtime.ImportModuleError';
    await post('/init/error', JSON.stringify(payload), { [HEADER.errorType]: payload.errorType });
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', '/invocation/next');
    const header = (name: string): string => String(next.headers[name] ?? '');
    const id = header(HEADER.requestId);
    const deadline = Number(header(HEADER.deadlineMs));
    setClock(parseClockStamp(header(HEADER.localClock)));
    const name = env.AWS_LAMBDA_FUNCTION_NAME ?? '';
    const context: Context = {
      awsRequestId: id,
      invokedFunctionArn: header(HEADER.functionArn),
      functionName: name,
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
      callbackWaitsForEmptyEventLoop: true,
      // Real time, as on Lambda: the deadline is the sandbox's, whatever the local clock says.
      getRemainingTimeInMillis: () => Math.max(0, deadline - realNow()),
    };
    try {
      const result = await handler(JSON.parse(next.body) as unknown, context);
      await post(`/invocation/${id}/response`, JSON.stringify(result ?? null));
    } catch (err) {
      const payload = toPayload(err);
      // As Lambda's Node.js runtime does: the error goes to the function's log too.
      process.stderr.write(`${new RealDate(localNow()).toISOString()}\t${id}\tERROR\tInvoke Error \t${JSON.stringify(payload)}\n`);
      await post(`/invocation/${id}/error`, JSON.stringify(payload), { [HEADER.errorType]: payload.errorType });
    }
  }
}

main().catch((err: unknown) => {
  // The Runtime API went away (the stack stopped): nothing left to report to.
  process.stderr.write(`local lambda runtime client: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
