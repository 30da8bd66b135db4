import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FunctionInvocationError, LambdaRuntime, runtimeNode, type BundleFunction } from '../../local/lambda-runtime';

// The local Lambda runtime with small hand-written bundles: the Runtime API's next/response/error, init errors,
// timeouts, crashes, warm processes, Lambda's environment and the local clock in `Date`.
const dir = mkdtempSync(join(tmpdir(), 'keyrelay-lrt-test-'));
const output: string[] = [];
const clock = { now: Date.UTC(2030, 0, 1), speed: 0 };
/** Timeouts armed by the runtime: a test fires one instead of waiting for it. */
const timers: Array<{ ms: number; fire: () => void }> = [];
/** Resolves when a function has written `text`. */
const printed = (text: string): Promise<void> =>
  new Promise((resolve) => {
    const check = setInterval(() => {
      if (output.join('').includes(text)) {
        clearInterval(check);
        resolve();
      }
    }, 5);
  });
const runtime = new LambdaRuntime({
  region: 'eu-west-1',
  accountId: '123456789012',
  endpoint: 'http://127.0.0.1:1',
  clock: () => clock,
  setTimer: (ms, fire) => {
    const timer = { ms, fire };
    timers.push(timer);
    return () => timers.splice(timers.indexOf(timer), 1);
  },
  output: (stream, chunk) => output.push(`${stream}:${chunk.toString('utf8')}`),
});
afterAll(async () => {
  await runtime.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `index.js` (CommonJS, as a bundle) and defines the function. */
function define(name: string, code: string, extra: Partial<BundleFunction> = {}): string {
  const bundleDir = join(dir, name);
  mkdirSync(bundleDir, { recursive: true });
  writeFileSync(join(bundleDir, 'index.js'), code);
  runtime.define({
    name,
    bundleDir,
    timeoutMs: 10_000,
    environment: { KEYRELAY_TEST: 'set by the template' },
    credentials: { accessKeyId: `AKIA-${name}`, secretAccessKey: 'secret' },
    ...extra,
  });
  return name;
}

const ECHO = `
const started = process.pid;
exports.handler = async (event, context) => ({
  event,
  pid: started,
  version: process.version,
  now: Date.now(),
  newDate: new Date().getTime(),
  explicit: new Date(0).getTime(),
  remaining: context.getRemainingTimeInMillis(),
  arn: context.invokedFunctionArn,
  requestId: context.awsRequestId,
  cjs: typeof module === 'object' && typeof require === 'function',
  env: {
    key: process.env.AWS_ACCESS_KEY_ID, region: process.env.AWS_REGION, endpoint: process.env.AWS_ENDPOINT_URL,
    name: process.env.AWS_LAMBDA_FUNCTION_NAME, memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    api: process.env.AWS_LAMBDA_RUNTIME_API, own: process.env.KEYRELAY_TEST, home: process.env.HOME,
  },
});`;

describe('Class: LambdaRuntime', () => {
  it('runs a CommonJS bundle in its own process with Lambda\'s environment, the role\'s key and the local clock', async () => {
    // Prepare
    const name = define('echo', ECHO, { memoryMb: 512 });

    // Act
    const out = (await runtime.invoke(name, { hello: 'world' })) as Record<string, unknown> & { env: Record<string, string> };

    // Assess
    expect(out.event).toEqual({ hello: 'world' });
    expect(out.pid).not.toBe(process.pid);
    expect(out.version).toBe(runtimeNode().version);
    expect(out.cjs).toBe(true);
    expect(out.now).toBe(clock.now);
    expect(out.newDate).toBe(clock.now);
    expect(out.explicit).toBe(0);
    expect(out.remaining).toBeGreaterThan(0);
    expect(out.remaining).toBeLessThanOrEqual(10_000);
    expect(out.arn).toBe('arn:aws:lambda:eu-west-1:123456789012:function:echo');
    expect(out.env).toMatchObject({
      key: 'AKIA-echo',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:1',
      name: 'echo',
      memory: '512',
      own: 'set by the template',
    });
    expect(out.env.api).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(out.env.home).toBeUndefined(); // nothing of this process's environment leaks in
  });

  it('keeps the process warm between invocations and moves Date with each invocation\'s clock', async () => {
    // Prepare
    const first = (await runtime.invoke('echo', 1)) as { pid: number; requestId: string };
    clock.now += 3_600_000;

    // Act
    const second = (await runtime.invoke('echo', 2)) as { pid: number; now: number; requestId: string };

    // Assess
    expect(second.pid).toBe(first.pid);
    expect(second.requestId).not.toBe(first.requestId);
    expect(second.now).toBe(clock.now);
  });

  it('reports a thrown error as Lambda\'s Node.js runtime does (errorType is the name) and logs it', async () => {
    // Prepare
    const name = define('thrower', `class KeyBroken extends Error { constructor(m) { super(m); this.name = 'KeyBroken'; this.code = 'Broken'; } }
exports.handler = async () => { console.log('about to fail'); throw new KeyBroken('the provider said no'); };`);

    // Act
    const failure = await runtime.invoke(name, {}).catch((err: unknown) => err);

    // Assess
    expect(failure).toBeInstanceOf(FunctionInvocationError);
    expect((failure as FunctionInvocationError).payload).toMatchObject({ errorType: 'KeyBroken', errorMessage: 'the provider said no' });
    expect((failure as FunctionInvocationError).payload.trace?.[0]).toContain('KeyBroken');
    expect(output.join('')).toContain('stdout:about to fail');
    expect(output.join('')).toMatch(/stderr:.*ERROR\tInvoke Error \t\{"errorType":"KeyBroken"/);
  });

  it('kills a function that outlives its timeout and answers Task timed out, then starts a fresh process', async () => {
    // Prepare
    const name = define(
      'slow',
      `exports.handler = async (event) => { if (event.hang) { console.log('hanging'); await new Promise(() => setInterval(() => {}, 1000)); } return process.pid; };`,
      { timeoutMs: 300 },
    );
    const pid = await runtime.invoke(name, {});

    // Act
    const pending = runtime.invoke(name, { hang: true }).catch((err: unknown) => err);
    await printed('hanging');
    const timer = timers.find((t) => t.ms === 300);
    timer?.fire();
    const failure = await pending;
    const after = await runtime.invoke(name, {});

    // Assess
    expect((failure as FunctionInvocationError).payload).toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(/^RequestId: [0-9a-f-]+ Error: Task timed out after 0\.30 seconds$/),
    });
    expect(after).not.toBe(pid);
  });

  it('answers Runtime.ExitError when the process exits during an invocation', async () => {
    // Prepare
    const name = define('exits', `exports.handler = async () => process.exit(3);`);

    // Act
    const failure = await runtime.invoke(name, {}).catch((err: unknown) => err);

    // Assess
    expect((failure as FunctionInvocationError).payload).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/Runtime exited with error: exit status 3$/),
    });
  });

  it('reports an init error (the bundle throws at load) through /init/error', async () => {
    // Prepare
    const name = define('broken', `throw new Error('cannot load: missing dependency');`);

    // Act
    const failure = await runtime.invoke(name, {}).catch((err: unknown) => err);

    // Assess
    expect((failure as FunctionInvocationError).payload).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: expect.stringContaining('cannot load: missing dependency'),
    });
  });

  it('runs concurrent invocations in separate warm processes, at most poolSize per function', async () => {
    // Prepare
    const name = define('parallel', `exports.handler = async () => process.pid;`);

    // Act: four at once; two processes start, the other two invocations wait for one of them
    const pids = await Promise.all([1, 2, 3, 4].map((n) => runtime.invoke(name, n)));

    // Assess
    expect(new Set(pids).size).toBe(2);
  });
});
