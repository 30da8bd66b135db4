import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/errors';
import { LOCAL_FUNCTIONS, LOCAL_REGION } from '../../local/stack';
import { PRINCIPAL_CREDENTIALS } from '../../local/iam/principals';
import { runCli, type CliRun } from '../support/cli';
import { FAST_LOCAL_STACK, useLocalStack } from '../support/local-stack';

// The recorded operator is the verified caller (issue 13): the CLI's presigned GetCallerIdentity, checked by the
// local endpoint's STS, names the on-call principal whatever `--operator` says.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const local = useLocalStack(FAST_LOCAL_STACK);
/** The CLI as the on-call principal (the `oncall` user, with the `<prefix>-oncall` policy), its $USER a spoof. */
function oncallCli(argv: string[], stdin = ''): Promise<CliRun> {
  return runCli(local.stack.endpoint, argv, { stdin, as: 'oncall', user: 'mallory' });
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
    const lambda = new LambdaClient({ region: LOCAL_REGION, credentials: { ...PRINCIPAL_CREDENTIALS.oncall }, endpoint: local.stack.endpoint });
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
