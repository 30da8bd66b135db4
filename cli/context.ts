import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Clock } from '../core/clock';
import { createClients, type ClientFactory, type Clients } from './aws';
import type { CliIo } from './io';

/** Options every command accepts (commander globals). */
export interface GlobalOptions {
  /** `--endpoint-url`: the local stack, or any Secrets Manager-compatible endpoint. */
  endpointUrl?: string;
  region?: string;
  /** `--operator`: who is acting, for the audit trail. @default - the caller identity, else `$USER` */
  operator?: string;
  /** `--debug`: print stack traces. */
  debug?: boolean;
}

/**
 * What a command works with: the streams, the clock, lazily built AWS clients (so `--help` builds none), and the
 * operator's name. Commands write results with {@link Context.out} and everything else with {@link Context.progress}.
 */
export class Context {
  private built?: Clients;
  private operatorName?: Promise<string>;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
    private readonly factory: ClientFactory = createClients,
  ) {}

  get clock(): Clock {
    return this.io.clock;
  }

  get clients(): Clients {
    this.built ??= this.factory({ endpoint: this.options.endpointUrl, region: this.options.region, env: this.io.env });
    return this.built;
  }

  /** A result line (stdout). */
  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Progress, warnings and prompts (stderr), so stdout stays parseable. */
  progress(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The operator recorded with every change: `--operator`, else the AWS caller identity, else `$USER`. */
  operator(): Promise<string> {
    this.operatorName ??= resolveOperator({
      flag: this.options.operator,
      callerArn: async () =>
        (await this.clients.sts.send(new GetCallerIdentityCommand({}))).Arn,
      env: this.io.env,
    });
    return this.operatorName;
  }
}

/**
 * Who is acting: the flag, else the caller's ARN (an assumed role names the person in its session name), else
 * `$USER`, else `unknown`. An unreachable STS is not an error: the audit falls back to the login name.
 */
export async function resolveOperator(sources: {
  flag?: string;
  callerArn: () => Promise<string | undefined>;
  env: Record<string, string | undefined>;
}): Promise<string> {
  if (sources.flag?.trim()) return sources.flag.trim();
  try {
    const arn = await sources.callerArn();
    if (arn) return arn;
  } catch {
    // fall through to the login name
  }
  return sources.env.USER || sources.env.USERNAME || 'unknown';
}
