import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { isoTime } from '../../core/clock';
import type { ManagedSecret } from '../../core/state';
import { assessKey, withReplicas } from '../assess';
import { replicaStates } from '../replicas';
import { withThrottleRetry } from '../aws';
import type { Context } from '../context';
import { EXIT, toCliError, type ExitCode } from '../errors';
import { formatStatus, needsAttention, type AlarmState, type StatusReport } from '../format/status';
import { currentKeys, listSecrets, type CurrentKey } from '../secrets';

/** `keyrelay status` options. */
export interface StatusOptions {
  /** Only these keys. @default - every managed key */
  names: string[];
  json: boolean;
  /**
   * Read each current value (`BatchGetSecretValue`) to show its key id and fingerprint. Off by default: the on-call
   * policy has no `GetSecretValue`, and status should not touch key material it does not need.
   */
  fingerprints: boolean;
  /** Alarm name prefix for DescribeAlarms (CDK names alarms after the stack). @default 'KeyRelay' */
  alarmPrefix: string;
}

async function firingAlarms(ctx: Context, prefix: string): Promise<StatusReport['alarms']> {
  try {
    const firing: AlarmState[] = [];
    let NextToken: string | undefined;
    do {
      const page = await withThrottleRetry(ctx.clock, () =>
        ctx.clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix, StateValue: 'ALARM', NextToken })),
      );
      for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
        firing.push({ name: a.AlarmName ?? '?', reason: a.StateReason, since: a.StateUpdatedTimestamp ? isoTime(a.StateUpdatedTimestamp.getTime()) : undefined });
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return { firing };
  } catch (err) {
    // Alarms are a bonus: a role without cloudwatch:DescribeAlarms still gets the key states.
    return { unavailable: toCliError(err).message };
  }
}

/**
 * Every managed key's state from `ListSecrets` pages alone (tags, stages, dates: one call per 100 keys), plus the
 * alarms in ALARM; with `fingerprints`, `BatchGetSecretValue` (20 keys a call) for the current keys' fingerprints.
 * Exits {@link EXIT.attention} when anything needs a look.
 */
export async function runStatus(ctx: Context, options: StatusOptions): Promise<ExitCode> {
  const [listed, alarms] = await Promise.all([listSecrets(ctx), firingAlarms(ctx, options.alarmPrefix)]);
  const wanted = new Set(options.names);
  const selected = wanted.size > 0 ? listed.filter((l) => wanted.has(l.name)) : listed;
  for (const name of wanted) {
    if (!listed.some((l) => l.name === name)) selected.push({ name, error: `no managed key named '${name}' (\`keyrelay status\` lists them)` });
  }
  const secrets: ManagedSecret[] = [];
  const broken: StatusReport['broken'] = [];
  for (const item of selected) {
    if ('secret' in item) secrets.push(item.secret);
    else broken.push(item);
  }
  const [current, replicas] = await Promise.all([
    options.fingerprints ? currentKeys(ctx, secrets) : new Map<string, CurrentKey>(),
    replicaStates(ctx, secrets),
  ]);
  const now = ctx.clock.now();
  const report: StatusReport = {
    generatedAt: isoTime(now),
    keys: secrets.map((s) => withReplicas(assessKey(s, current.get(s.arn), now), replicas.get(s.arn))),
    alarms,
    broken,
  };
  ctx.io.stdout.write(formatStatus(report, { json: options.json }));
  return needsAttention(report) ? EXIT.attention : EXIT.ok;
}
