import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { stageHolders, tagMap, TAGS, type ManagedSecret } from '../core/state';
import { withThrottleRetry } from './aws';
import type { Context } from './context';
import { CliError, toCliError } from './errors';

/** A step of one rotation as the CLI sees it from Secrets Manager. */
export type RotationEvent =
  | { kind: 'started'; name: string; versionId: string; at: number }
  | { kind: 'pending'; name: string; versionId: string; at: number }
  | { kind: 'current'; name: string; versionId: string; previousVersionId?: string; at: number };

/** A finished rotation. */
export interface RotationResult {
  name: string;
  versionId: string;
  previousVersionId?: string;
  startedAt: number;
  currentAt: number;
}

/** How long to wait and how to report. */
export interface RotateOptions {
  /** Give up waiting after this long (the rotation may still finish). @default 300_000 */
  timeoutMs?: number;
  /** First poll interval; grows 1.5x up to 5 s. @default 250 */
  pollMs?: number;
  onEvent?: (event: RotationEvent) => void;
}

/** Refuses what the rotation handler would refuse anyway, before starting anything. */
export function checkRotatable(secret: ManagedSecret): void {
  if (secret.frozen) {
    throw new CliError('SecretFrozen', `key '${secret.name}' is frozen (${secret.frozen}); the rotation function refuses to rotate it`, `\`keyrelay unfreeze ${secret.name}\` first; for a leaked key with the provider down, \`keyrelay rotate --emergency ${secret.name} --revoke-without-replacement\``);
  }
  assertNoRotationInProgress(secret);
}

/** Refuses to act while a rotation is running or stuck (writing a version now would abandon it). */
export function assertNoRotationInProgress(secret: ManagedSecret): void {
  const holders = stageHolders(secret.versions);
  if (holders.pending && holders.pending !== holders.current) {
    throw new CliError('RotationInProgress', `key '${secret.name}' has a rotation running or stuck (AWSPENDING on version ${holders.pending})`, `wait for it, or abandon it with \`keyrelay cancel ${secret.name}\` and rotate again`);
  }
}

/**
 * Starts a rotation (`RotateSecret` with our own token, so we know the version to watch) and polls
 * `DescribeSecret` until AWSCURRENT moves to it, the pending version disappears (failed or abandoned), or the
 * timeout passes. Throttling is retried with back-off.
 * @throws CliError `SecretFrozen`, `RotationInProgress`, `RotationFailed`, `RotationTimeout`.
 */
export async function rotateSecret(ctx: Context, secret: ManagedSecret, options: RotateOptions = {}): Promise<RotationResult> {
  checkRotatable(secret);
  const token = randomUUID();
  const previousVersionId = stageHolders(secret.versions).current;
  const startedAt = ctx.clock.now();
  try {
    await withThrottleRetry(ctx.clock, () => ctx.clients.sm.send(new RotateSecretCommand({ SecretId: secret.arn, ClientRequestToken: token })));
  } catch (err) {
    const e = toCliError(err, `rotating '${secret.name}'`);
    throw new CliError('RotationFailed', e.message, `\`keyrelay status ${secret.name}\`; read the rotation function's logs; \`keyrelay cancel ${secret.name}\` if AWSPENDING was left behind`, { cause: err });
  }
  options.onEvent?.({ kind: 'started', name: secret.name, versionId: token, at: ctx.clock.now() });
  const deadline = startedAt + (options.timeoutMs ?? 300_000);
  let wait = options.pollMs ?? 250;
  let sawPending = false;
  for (;;) {
    const described = await withThrottleRetry(ctx.clock, () => ctx.clients.sm.send(new DescribeSecretCommand({ SecretId: secret.arn })));
    const stages = described.VersionIdsToStages?.[token];
    const at = ctx.clock.now();
    if (stages?.includes('AWSCURRENT')) {
      options.onEvent?.({ kind: 'current', name: secret.name, versionId: token, previousVersionId, at });
      return { name: secret.name, versionId: token, previousVersionId, startedAt, currentAt: at };
    }
    if (stages?.includes('AWSPENDING')) {
      if (!sawPending) options.onEvent?.({ kind: 'pending', name: secret.name, versionId: token, at });
      sawPending = true;
    } else if ((stages ?? []).length === 0 && tagMap(described.Tags)[TAGS.current]?.startsWith(`v=${token} `) === true) {
      // finishSecret noted the new key, then claimed the version (removed AWSPENDING): the move comes next. (moto lists
      // a version without labels with an empty list, AWS leaves it out.)
    } else {
      throw new CliError('RotationFailed', `rotation of '${secret.name}' ended without promoting version ${token} (the pending version was ${stages ? 'unlabelled' : 'removed'})`, `\`keyrelay history ${secret.name}\`; read the rotation function's logs, fix the cause, rotate again`);
    }
    if (at >= deadline) {
      throw new CliError('RotationTimeout', `rotation of '${secret.name}' has not finished after ${Math.round((at - startedAt) / 1000)} s (AWSPENDING on ${token})`, `Secrets Manager retries failed steps: read the rotation function's logs; \`keyrelay cancel ${secret.name}\` abandons it`);
    }
    await ctx.clock.sleep(Math.min(wait, Math.max(0, deadline - at)));
    wait = Math.min(5000, wait * 1.5);
  }
}
