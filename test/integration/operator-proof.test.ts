import { PassThrough } from 'node:stream';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/errors';
import { main } from '../../cli/main';
import type { Clock } from '../../lambda/core/clock';
import { LOCAL_FUNCTIONS, LOCAL_REGION } from '../../local/stack';
import { PRINCIPAL_CREDENTIALS } from '../../local/iam/principals';
import { FAST_LOCAL_STACK, useLocalStack } from '../support/local-stack';

// The recorded operator is the verified caller (issue 13): the CLI's presigned GetCallerIdentity, checked by the
// local endpoint's STS, names the on-call principal whatever `--operator` says.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const local = useLocalStack(FAST_LOCAL_STACK);
const ONCALL = PRINCIPAL_CREDENTIALS.oncall;
const ioPacedClock: Clock = { now: () => Date.now(), sleep: () => new Promise((resolve) => setImmediate(resolve)) };

/** The CLI as the on-call principal (the `oncall` user, with the `<prefix>-oncall` policy). */
async function oncallCli(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const input = new PassThrough();
  input.end(stdin);
  const code = await main(argv, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    stdin: input,
    env: { AWS_ENDPOINT_URL: local.stack.endpoint, AWS_ACCESS_KEY_ID: ONCALL.accessKeyId, AWS_SECRET_ACCESS_KEY: ONCALL.secretAccessKey, USER: 'mallory' },
    clock: ioPacedClock,
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('The recorded operator (local endpoint)', () => {
  it('is the on-call ARN STS proves, not the --operator the CLI was given', async () => {
    // Prepare
    const name = await local.addKey('proven-operator');
    const oncallArn = local.stack.info.principals.oncall!.arn;
    // Act
    const run = await oncallCli(['--operator', 'mallory', 'rotate', '--emergency', name, '--reason', 'leaked in a log'], `${name}\n`);
    const history = await oncallCli(['history', name, '--json']);
    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(history.stdout).toContain(oncallArn);
    expect(history.stdout).not.toContain('mallory');
  });

  it('refuses an on-call action invoked without a proof (an old CLI), naming what to do', async () => {
    // Prepare
    const name = await local.addKey('unproven-operator');
    const lambda = new LambdaClient({ region: LOCAL_REGION, credentials: { ...ONCALL }, endpoint: local.stack.endpoint });
    // Act
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: LOCAL_FUNCTIONS.revoker,
        Payload: JSON.stringify({ action: 'cancel', secretId: name, operator: 'mallory' }),
      }),
    );
    lambda.destroy();
    // Assess
    expect(out.FunctionError).toBeDefined();
    expect(JSON.parse(new TextDecoder().decode(out.Payload))).toMatchObject({ errorType: 'CallerNotProven', errorMessage: expect.stringMatching(/upgrade/) });
  });
});
