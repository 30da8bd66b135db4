import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CancelRotateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSecretValue } from '../../core/secret-value';
import { LOCAL_CREDENTIALS, LOCAL_FUNCTIONS, LOCAL_REGION } from '../../local/stack';
import { useLocalStack } from '../support/local-stack';

// The local endpoint as any AWS client sees it: this project's SDK clients, the AWS CLI, boto3, and the admin API.
const local = useLocalStack({ reconcileEveryMs: 0, quota: 1000, retryDelaysMs: [60_000] });
const ROOT = join(import.meta.dirname, '..', '..');
const awsEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  AWS_DEFAULT_REGION: LOCAL_REGION,
};
let lambdaClient: LambdaClient | undefined;
afterAll(() => lambdaClient?.destroy());
const lambda = (): LambdaClient =>
  (lambdaClient ??= new LambdaClient({ endpoint: local.stack.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));

/** Runs a command without blocking the event loop (the endpoint under test lives in this process). */
function run(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: awsEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A promise and its resolver, to hold a rotation step until the test lets it go. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('Function: startProxy (local endpoint)', () => {
  it('answers "A previous rotation isn\'t complete" while a rotation is pending, and repeats a retried request', async () => {
    // Prepare
    const name = await local.addKey('pending');
    const held = gate();
    local.stack.hookOnce('before:setSecret', () => held.wait, name);
    const first = await local.sm().send(new RotateSecretCommand({ SecretId: name }));

    // Act
    const second = await local.sm().send(new RotateSecretCommand({ SecretId: name })).catch((err: unknown) => err);
    const again = await local.sm().send(new RotateSecretCommand({ SecretId: name, ClientRequestToken: first.VersionId }));
    const during = await local.sm().send(new GetSecretValueCommand({ SecretId: name }));

    // Assess
    expect(second).toMatchObject({
      name: 'InvalidRequestException',
      message: "A previous rotation isn't complete. That rotation will be reattempted.",
    });
    expect(again.VersionId).toBe(first.VersionId);
    expect(during.VersionStages).toContain('AWSCURRENT'); // not moto's value-less placeholder
    held.open();
    await local.waitFor(name, (s) => s[first.VersionId as string]?.includes('AWSCURRENT') === true);
  });

  it('turns automatic rotation off on CancelRotateSecret and stops retrying, leaving AWSPENDING', async () => {
    // Prepare
    const name = await local.addKey('cancel');
    local.stack.crashOnce('after:createSecret', name);
    const { VersionId } = await local.sm().send(new RotateSecretCommand({ SecretId: name }));
    await local.stack.rotation.settled(name);

    // Act
    const cancelled = await local.sm().send(new CancelRotateSecretCommand({ SecretId: name }));
    await local.stack.advance(120_000);

    // Assess
    expect(cancelled.VersionId).toBe(VersionId);
    const described = await local.sm().send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.RotationEnabled).toBe(false);
    expect(described.NextRotationDate).toBeUndefined();
    expect(described.VersionIdsToStages?.[VersionId as string]).toEqual(['AWSPENDING']);
    expect(local.stack.rotation.get(name)?.runs.at(-1)).toMatchObject({ status: 'cancelled', attempts: 1 });
  });

  it('reports the configured rules and dates on the local clock in DescribeSecret', async () => {
    // Prepare
    const name = await local.addKey('describe', { schedule: 'cron(0 3 ? * TUE *)', window: '2h' });

    // Act
    const described = await local.sm().send(new DescribeSecretCommand({ SecretId: name }));

    // Assess
    expect(described.RotationEnabled).toBe(true);
    expect(described.RotationRules).toEqual({ ScheduleExpression: 'cron(0 3 ? * TUE *)', Duration: '2h' });
    const next = described.NextRotationDate as Date;
    expect(next.getUTCDay()).toBe(2);
    expect(next.getUTCHours()).toBeGreaterThanOrEqual(3);
    expect(next.getUTCHours()).toBeLessThan(5);
    expect(described.LastRotatedDate?.getTime()).toBeLessThanOrEqual(local.stack.clock.now());
  });

  it('honours ClientRequestToken, and RotateImmediately=false only saves the rules and plans the next window', async () => {
    // Prepare
    const name = await local.addKey('immediately');
    const token = randomUUID();
    const rotated = await local.sm().send(new RotateSecretCommand({ SecretId: name, ClientRequestToken: token }));
    await local.waitFor(name, (s) => s[token]?.includes('AWSCURRENT') === true);

    // Act
    const planned = await local.sm().send(
      new RotateSecretCommand({ SecretId: name, RotateImmediately: false, RotationRules: { ScheduleExpression: 'rate(10 days)' } }),
    );
    const described = await local.sm().send(new DescribeSecretCommand({ SecretId: name }));

    // Assess
    expect(rotated.VersionId).toBe(token);
    expect(planned.VersionId).toBe(token); // the current version: nothing new was created
    expect(Object.keys(described.VersionIdsToStages ?? {})).toHaveLength(3); // bootstrap, first key, token
    expect(described.RotationRules).toEqual({ ScheduleExpression: 'rate(10 days)' });
    const next = (described.NextRotationDate as Date).getTime();
    expect(next).toBeGreaterThanOrEqual(local.stack.clock.now() + 10 * 86_400_000 - 60_000);
  });

  it('runs keyrelay functions in-process on Invoke and maps a thrown error to FunctionError', async () => {
    // Prepare
    local.stack.functions.register('keyrelay-test-echo', async (event) => ({ echoed: event }));

    // Act
    const ok = await lambda().send(
      new InvokeCommand({ FunctionName: 'keyrelay-test-echo', Payload: Buffer.from(JSON.stringify({ hello: 'world' })) }),
    );
    const failed = await lambda().send(
      new InvokeCommand({ FunctionName: local.stack.functions.arn(LOCAL_FUNCTIONS.rotation), Payload: Buffer.from('{"Step":"nope"}') }),
    );

    // Assess
    expect(ok.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(ok.Payload ?? []).toString('utf8'))).toEqual({ echoed: { hello: 'world' } });
    expect(failed.StatusCode).toBe(200);
    expect(failed.FunctionError).toBe('Unhandled');
    const payload = JSON.parse(Buffer.from(failed.Payload ?? []).toString('utf8')) as { errorType: string; errorMessage: string };
    expect(payload.errorType).toBe('RotationEventInvalid');
    expect(payload.errorMessage).toMatch(/SecretId/);
  });

  it('forwards Invoke of functions it does not run to moto (which echoes without Docker)', async () => {
    // Prepare
    const role = `arn:aws:iam::123456789012:role/keyrelay-local`;
    await lambda().send(
      new CreateFunctionCommand({
        FunctionName: 'someone-elses-function',
        Runtime: 'nodejs20.x',
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: Buffer.concat([Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)]) },
      }),
    );

    // Act
    const out = await lambda().send(
      new InvokeCommand({ FunctionName: 'someone-elses-function', Payload: Buffer.from('{"ping":1}') }),
    );

    // Assess
    expect(out.FunctionError).toBeUndefined();
    expect(Buffer.from(out.Payload ?? []).toString('utf8')).toContain('"ping"');
  });

  it('advances the clock and reports state through the admin API', async () => {
    // Prepare
    await local.addKey('admin');
    const before = local.stack.clock.now();

    // Act
    const res = await fetch(`${local.stack.endpoint}/_keyrelay/advance`, { method: 'POST', body: JSON.stringify({ ms: 3_600_000 }) });
    const state = (await (await fetch(`${local.stack.endpoint}/_keyrelay/state`)).json()) as { rotations: unknown[]; now: string };
    const bad = await fetch(`${local.stack.endpoint}/_keyrelay/advance`, { method: 'POST', body: '{"ms":"soon"}' });

    // Assess
    expect(res.status).toBe(200);
    expect(local.stack.clock.now() - before).toBeGreaterThanOrEqual(3_600_000);
    expect(Date.parse(state.now)).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(state.rotations.length).toBeGreaterThan(0);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/body must be/);
  });

  it('performs a rotation for the AWS CLI (rotate-secret) and boto3', async () => {
    // Prepare
    const cli = await local.addKey('cli');
    const py = await local.addKey('boto3');

    // Act
    const [aws, boto] = await Promise.all([
      run('aws', ['--endpoint-url', local.stack.endpoint, '--output', 'json', 'secretsmanager', 'rotate-secret', '--secret-id', cli]),
      run('python3', [
        '-c',
        'import boto3, sys; sm = boto3.client("secretsmanager", endpoint_url=sys.argv[1]); print(sm.rotate_secret(SecretId=sys.argv[2])["VersionId"])',
        local.stack.endpoint,
        py,
      ]),
    ]);

    // Assess
    expect(aws.status, aws.stderr).toBe(0);
    expect(boto.status, boto.stderr).toBe(0);
    const cliToken = (JSON.parse(aws.stdout) as { VersionId: string }).VersionId;
    const pyToken = boto.stdout.trim();
    await local.waitFor(cli, (s) => s[cliToken]?.includes('AWSCURRENT') === true);
    await local.waitFor(py, (s) => s[pyToken]?.includes('AWSCURRENT') === true);
    const value = await local.sm().send(new GetSecretValueCommand({ SecretId: cli, VersionStage: 'AWSCURRENT' }));
    expect(parseSecretValue(value.SecretString, cli).provider).toBe('reference');
  });
});

describe('Command: npm run local', () => {
  // npm runs the script through `sh -c`; SIGTERM to npm alone reaches only that shell, which dies without passing it on.
  it.each([
    ['its process group (a terminal\'s Ctrl-C, a process manager)', true, /keyrelay local: SIGTERM, stopping/],
    ['npm alone', false, /keyrelay local: parent process exited, stopping/],
  ])('prints the ready line, writes it to --out, and leaves no process behind on SIGTERM to %s', async (_who, group, said) => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'keyrelay-local-'));
    const config = join(dir, 'keyrelay.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        keys: { 'smoke/api': { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/smoke', rotateEvery: '7d', gracePeriod: '1h' } },
      }),
    );
    const out = join(dir, 'local.json');
    const child = spawn('npm', ['run', 'local', '--', '--config', config, '--out', out, '--speed', '60'], {
      cwd: ROOT,
      detached: true, // its own process group, signalled as a terminal's Ctrl-C would be
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN' },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));

    try {
      // Act
      const line = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          const found = text.split('\n').find((l) => l.startsWith('keyrelay local ready '));
          if (found) resolve(found);
        });
        void exited.then((code) => reject(new Error(`npm run local exited (${String(code)}) before it was ready`)));
      });
      const info = JSON.parse(line.slice('keyrelay local ready '.length)) as Record<string, unknown>;
      const described = await new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient({
        endpoint: info.endpoint as string,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }).send(new DescribeSecretCommand({ SecretId: 'smoke/api' }));
      process.kill(group ? -(child.pid as number) : (child.pid as number), 'SIGTERM');
      await exited;
      // The group's other members (tsx, node) finish stopping after npm is gone: wait for real process exit.
      const deadline = Date.now() + 15_000;
      while (groupAlive(child.pid as number) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));

      // Assess
      expect(info).toMatchObject({ region: LOCAL_REGION, functions: LOCAL_FUNCTIONS, secrets: ['smoke/api'] });
      expect(info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.provider).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(info);
      expect(Object.values(described.VersionIdsToStages ?? {}).flat()).toContain('AWSCURRENT');
      // npm itself dies of the SIGTERM; the program under it stops its stack and says why.
      expect(stderr).toMatch(said);
      expect(groupAlive(child.pid as number)).toBe(false);
      await expect(fetch(`${info.moto as string}/moto-api/data.json`)).rejects.toThrow();
      await expect(fetch(`${info.endpoint as string}/_keyrelay/state`)).rejects.toThrow();
    } finally {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000); // npm run local builds the functions' bundles and starts their processes first
});
