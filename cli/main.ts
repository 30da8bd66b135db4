import { Command, CommanderError, InvalidArgumentError, Option, type OutputConfiguration } from 'commander';
import { parseDuration } from '../core/duration';
import type { Context, GlobalOptions } from './context';
import { CliError, EXIT, toCliError } from './errors';
import { formatError } from './format/error';
import { processIo, type CliIo } from './io';

/**
 * keyrelay's on-call CLI. `main` parses `argv` (without `node` and the script), runs one command and returns its
 * exit code; it never calls `process.exit`, so tests run it in-process with injected streams, clock and clients.
 * Command modules load on first use, so `--help` pays for commander alone, not for the AWS SDK.
 *
 * @example
 * process.exitCode = await main(['status', '--json']);
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let code: number = EXIT.ok;
  let debug = argv.includes('--debug');
  const program = buildProgram(io, async (command, run) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    debug = globals.debug === true;
    const { Context } = await import('./context');
    code = await run(new Context(io, globals, io.clients));
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const e = toCliError(err);
    io.stderr.write(formatError(e, { debug }));
    return e.exitCode;
  }
  return code;
}

type Runner = (command: Command, run: (ctx: Context) => Promise<number>) => Promise<void>;

function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

function durationMs(flag: string): (value: string) => number {
  return (value) => {
    try {
      return parseDuration(value, flag) * 1000;
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new InvalidArgumentError(`must be a whole number from 1 to 50, got '${value}'`);
  return n;
}

function usage(message: string, hint: string): CliError {
  return new CliError('UsageError', message, hint, { exitCode: EXIT.usage });
}

/**
 * Commander's streams. An unknown `--option=value` is reported without its value: an operator guessing how to pass a
 * key to `import` would otherwise see it (and a CI log keep it).
 */
function output(io: CliIo): OutputConfiguration {
  return {
    writeOut: (s) => void io.stdout.write(s),
    writeErr: (s) => void io.stderr.write(s),
    outputError: (s, write) => write(s.replace(/(unknown option '[^'=\s]*=)[^']*'/g, "$1...'")),
  };
}

const jsonOption = (): Option => new Option('--json', 'print the result as JSON on stdout (progress stays on stderr)').default(false);
const yesOption = (): Option => new Option('-y, --yes', 'skip the typed confirmation (automation)').default(false);

/** The commander program: definitions and help only; each action loads its module. */
export function buildProgram(io: CliIo, runner: Runner): Command {
  const program = new Command('keyrelay')
    .description('On-call CLI for keyrelay: key state, rotations, emergencies. Results on stdout, progress on stderr.')
    .option('--endpoint-url <url>', 'AWS endpoint, e.g. the local stack (default: $AWS_ENDPOINT_URL)')
    .option('--region <region>', 'AWS region (default: $AWS_REGION, then your profile)')
    .option('--operator <name>', 'who is acting, for the audit trail (default: your AWS identity, then $USER)')
    .option('--debug', 'print stack traces with errors')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput(output(io))
    .addHelpText(
      'after',
      `\nExit codes: 0 ok, 1 failed, 2 usage, 3 needs attention (status, plan), 4 confirmation refused.` +
        examples('keyrelay status', 'AWS_ENDPOINT_URL=http://127.0.0.1:4566 keyrelay status --json', 'keyrelay rotate --emergency payments/api --reason "leaked in a log"'),
    );
  const sub = (name: string, description: string, example: string[]): Command => {
    const cmd = program.command(name).description(description).addHelpText('after', examples(...example));
    cmd.exitOverride().configureOutput(output(io));
    return cmd;
  };

  sub('status [names...]', "every managed key's state; exits 3 when anything needs attention", ['keyrelay status', 'keyrelay status payments/api --json --fingerprints'])
    .addOption(jsonOption())
    .option('--fingerprints', "read current values to show each key's id and fingerprint (needs secretsmanager:GetSecretValue)")
    .option('--alarm-prefix <prefix>', 'CloudWatch alarm name prefix: the stack prefix (stacks.prefix in keyrelay.config.json)', 'KeyRelay')
    .action(async (names: string[], opts: { json: boolean; fingerprints?: boolean; alarmPrefix: string }, cmd: Command) =>
      runner(cmd, async (ctx) => (await import('./commands/status')).runStatus(ctx, { names, ...opts, fingerprints: opts.fingerprints === true })),
    );

  sub('plan [names...]', "what each key's next rotation will do, and why it would fail; exits 3 if one would", ['keyrelay plan', 'keyrelay plan payments/api --json'])
    .addOption(jsonOption())
    .action(async (names: string[], opts: { json: boolean }, cmd: Command) =>
      runner(cmd, async (ctx) => (await import('./commands/plan')).runPlan(ctx, { names, ...opts })),
    );

  sub('rotate [names...]', 'rotate now and wait for each outcome; --emergency for a leaked current key', [
    'keyrelay rotate payments/api search/api',
    'keyrelay rotate --provider reference --concurrency 2',
    'keyrelay rotate --emergency payments/api --reason "key pasted in a public issue"',
  ])
    .option('--all', 'every managed key')
    .option('--provider <type>', 'every key of this provider')
    .addOption(jsonOption())
    .option('--concurrency <n>', 'rotations in flight at once', positiveInt, 4)
    .option('--timeout <duration>', 'give up waiting for one rotation after this long', durationMs('--timeout'), 300_000)
    .option('--emergency', 'leaked key: rotate, then revoke the old key at once (one NAME, needs --reason)')
    .option('--reason <text>', 'why (recorded with the emergency)')
    .option('--revoke-without-replacement', 'with --emergency: revoke the current key with no successor (downtime)')
    .addOption(yesOption())
    .action(
      async (
        names: string[],
        opts: { all?: boolean; provider?: string; json: boolean; concurrency: number; timeout: number; emergency?: boolean; reason?: string; revokeWithoutReplacement?: boolean; yes: boolean },
        cmd: Command,
      ) =>
        runner(cmd, async (ctx) => {
          if (opts.revokeWithoutReplacement && !opts.emergency) throw usage('--revoke-without-replacement needs --emergency', 'keyrelay rotate --emergency NAME --revoke-without-replacement --reason "..."');
          if (!opts.emergency) return (await import('./commands/rotate')).runRotate(ctx, { names, all: opts.all, provider: opts.provider, json: opts.json, concurrency: opts.concurrency, timeoutMs: opts.timeout });
          const [name, ...rest] = names;
          if (!name || rest.length > 0 || opts.all || opts.provider) throw usage('--emergency takes exactly one key name', 'keyrelay rotate --emergency NAME --reason "..."');
          if (!opts.reason?.trim()) throw usage('--emergency needs --reason "..." (recorded for the audit)', `keyrelay rotate --emergency ${name} --reason "leaked in a log"`);
          return (await import('./commands/emergency')).runEmergency(ctx, {
            name,
            reason: opts.reason.trim(),
            json: opts.json,
            yes: opts.yes,
            withoutReplacement: opts.revokeWithoutReplacement === true,
            timeoutMs: opts.timeout,
          });
        }),
    );

  sub('revoke <name>', 'revoke a key that is not current (previous, orphan) now, by key id; no rotation', ['keyrelay revoke payments/api --key-id k-0042 --reason "found in a paste"'])
    .requiredOption('--key-id <id>', "the provider's key id (see `keyrelay history NAME`)")
    .requiredOption('--reason <text>', 'why (recorded)')
    .addOption(yesOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { keyId: string; reason: string; yes: boolean; json: boolean }, cmd: Command) =>
      runner(cmd, async (ctx) => (await import('./commands/revoker-actions')).runRevoke(ctx, { name, ...opts })),
    );

  sub('cancel <name>', 'abandon a stuck rotation: remove AWSPENDING and revoke its new key', ['keyrelay cancel payments/api --reason "provider 500s"'])
    .option('--reason <text>', 'why (recorded)')
    .addOption(jsonOption())
    .action(async (name: string, opts: { reason?: string; json: boolean }, cmd: Command) =>
      runner(cmd, async (ctx) => (await import('./commands/revoker-actions')).runCancel(ctx, { name, ...opts })),
    );

  sub('restore <name>', 're-enable a disabled old key during its observation window', ['keyrelay restore payments/api', 'keyrelay restore payments/api --key-id k-0042'])
    .option('--key-id <id>', 'which disabled key (default: the previous one)')
    .option('--reason <text>', 'why (recorded)')
    .addOption(jsonOption())
    .action(async (name: string, opts: { keyId?: string; reason?: string; json: boolean }, cmd: Command) =>
      runner(cmd, async (ctx) => (await import('./commands/revoker-actions')).runRestore(ctx, { name, ...opts })),
    );

  sub('rollback <name>', 'make the previous key current again while it is still valid', ['keyrelay rollback payments/api --yes'])
    .addOption(yesOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { yes: boolean; json: boolean }, cmd: Command) =>
      runner(cmd, async (ctx) => (await import('./commands/rollback')).runRollback(ctx, { name, ...opts })),
    );

  for (const unfreeze of [false, true]) {
    sub(
      unfreeze ? 'unfreeze [names...]' : 'freeze [names...]',
      unfreeze ? 'resume rotation' : 'pause rotation (incident, provider outage); shown in status',
      unfreeze ? ['keyrelay unfreeze --all'] : ['keyrelay freeze --provider reference --reason "provider outage INC-123"'],
    )
      .option('--all', 'every managed key')
      .option('--provider <type>', 'every key of this provider')
      .option('--reason <text>', 'why (shown in status)')
      .addOption(jsonOption())
      .action(async (names: string[], opts: { all?: boolean; provider?: string; reason?: string; json: boolean }, cmd: Command) =>
        runner(cmd, async (ctx) => (await import('./commands/freeze')).runFreeze(ctx, { names, ...opts, unfreeze })),
      );
  }

  sub('import <name>', 'adopt a key an app already uses; the value is read from stdin or a hidden prompt', [
    'keyrelay import payments/api --key-id k-0042 < key.txt',
    'keyrelay import payments/api --key-id k-0042     # prompts, input hidden',
  ])
    .requiredOption('--key-id <id>', "the provider's id for the key")
    .addOption(jsonOption())
    .action(async (name: string, opts: { keyId: string; json: boolean }, cmd: Command) =>
      runner(cmd, async (ctx) => (await import('./commands/import')).runImport(ctx, { name, ...opts })),
    );

  sub('retire <name>', 'stop managing a key: revoke its keys, or --hand-over the current one', ['keyrelay retire old/api', 'keyrelay retire old/api --hand-over --yes'])
    .option('--hand-over', 'keep the current key in the secret (unmanaged); revoke only the old ones')
    .option('--reason <text>', 'why (recorded)')
    .addOption(yesOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { handOver?: boolean; reason?: string; yes: boolean; json: boolean }, cmd: Command) =>
      runner(cmd, async (ctx) => (await import('./commands/retire')).runRetire(ctx, { name, ...opts, handOver: opts.handOver === true })),
    );

  sub('history <name>', "a key's versions and events: issued, promoted, revoked, frozen", ['keyrelay history payments/api', 'keyrelay history payments/api --json --limit 5'])
    .addOption(jsonOption())
    .option('--limit <n>', 'newest versions to show', positiveInt, 20)
    .option('--fingerprints', "read each version's value to show its fingerprint (needs secretsmanager:GetSecretValue)")
    .action(async (name: string, opts: { json: boolean; limit: number; fingerprints?: boolean }, cmd: Command) =>
      runner(cmd, async (ctx) => (await import('./commands/history')).runHistory(ctx, { name, ...opts, fingerprints: opts.fingerprints === true })),
    );

  return program;
}
