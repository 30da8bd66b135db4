import { PassThrough } from 'node:stream';
import { main } from '../../cli/main';
import type { Clock } from '../../core/clock';
import { PRINCIPAL_CREDENTIALS, type FixedPrincipal } from '../../local/iam/principals';

/** Real time, but waits between polls return at once: the CLI's polling is paced by real I/O only. */
export const ioPacedClock: Clock = { now: () => Date.now(), sleep: () => new Promise((resolve) => setImmediate(resolve)) };

/** What one CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the keyrelay CLI in-process against a local endpoint, signing as one of the local principals (the endpoint
 * judges its calls with that principal's deployed policies).
 *
 * @example
 * const run = await runCli(local.stack.endpoint, ['status', name, '--json'], { as: 'oncall' });
 */
export async function runCli(
  endpoint: string,
  argv: string[],
  options: { stdin?: string; as?: FixedPrincipal; user?: string } = {},
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const input = new PassThrough();
  input.end(options.stdin ?? '');
  const credentials = PRINCIPAL_CREDENTIALS[options.as ?? 'oncall'];
  const code = await main(argv, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    stdin: input,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      USER: options.user ?? 'oncall-test',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    clock: ioPacedClock,
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}
