import { isoTime } from '../../core/clock';
import { stageHolders, type ManagedSecret } from '../../core/state';
import type { RevokerResponse } from '../../lambda/revoker/protocol';
import { confirm } from '../confirm';
import type { Context } from '../context';
import { CliError, EXIT, toCliError, type ExitCode } from '../errors';
import { formatRotationEvent, formatTimeline, type EmergencyTimeline } from '../format/rotate';
import { invokeRevoker } from '../revoker';
import { checkRotatable, rotateSecret } from '../rotation';
import { loadSecret } from '../secrets';

/** `keyrelay rotate --emergency NAME --reason ...` options. */
export interface EmergencyOptions {
  name: string;
  reason: string;
  json: boolean;
  /** `--yes`: skip the typed confirmation. */
  yes: boolean;
  /** Revoke the current key with no replacement (the provider cannot issue). */
  withoutReplacement: boolean;
  /** @default 300_000 */
  timeoutMs: number;
}

/**
 * The leaked-key path. After a typed confirmation: rotate now, then have the revoker delete the old key at once
 * (`revokeNow {previous: true}`: no grace, no usage hold), printing the timeline. With `withoutReplacement`, revoke
 * the current key with no successor (downtime, named in the confirmation). Either way the revoker is told which key
 * was confirmed (version, and key id when known) and revokes no other.
 */
export async function runEmergency(ctx: Context, options: EmergencyOptions): Promise<ExitCode> {
  const shown = await loadSecret(ctx, options.name);
  if (!options.withoutReplacement) checkRotatable(shown); // frozen or stuck: say so before the operator confirms
  const operator = await ctx.operator();
  const confirmed = confirmedKey(shown);
  const which = confirmed.expectedKeyId ? ` (key ${confirmed.expectedKeyId})` : '';
  await confirm(ctx.io, {
    expected: shown.name,
    yes: options.yes,
    consequence: options.withoutReplacement
      ? `EMERGENCY: revoke the CURRENT key${which} of '${shown.name}' with NO replacement. Every application using '${shown.name}' fails (downtime) until a new key is issued with \`keyrelay rotate ${shown.name}\`.`
      : `EMERGENCY: rotate '${shown.name}' now and revoke its old key${which} at once (no grace period). Applications still holding the old key get one auth failure, then refresh.`,
  });
  const secret = await currentUnchanged(ctx, shown);
  const t0 = ctx.clock.now();
  const at = (): number => (ctx.clock.now() - t0) / 1000;
  const timeline: EmergencyTimeline = {
    name: secret.name,
    reason: options.reason,
    operator,
    startedAt: isoTime(t0),
    mode: options.withoutReplacement ? 'revoke-without-replacement' : 'rotate-and-revoke',
    steps: [],
  };
  if (options.withoutReplacement) {
    const answer = await invokeRevoker(ctx, secret, { action: 'revokeWithoutReplacement', secretId: secret.arn, ...confirmed, reason: options.reason, operator, acceptDowntime: true });
    timeline.steps.push({ step: 'current key revoked, no replacement', atSeconds: at(), detail: revokedIds(answer).join(', ') });
  } else {
    const result = await rotateSecret(ctx, secret, { timeoutMs: options.timeoutMs, onEvent: (e) => ctx.progress(formatRotationEvent(e, t0)) });
    timeline.steps.push({ step: 'new key current', atSeconds: (result.currentAt - t0) / 1000, detail: `version ${result.versionId}` });
    ctx.progress(`${secret.name}: revoking the old key now`);
    let ids: string[];
    try {
      // The confirmed key, now previous: the revoker refuses if another rotation made a different key previous.
      ids = revokedIds(await invokeRevoker(ctx, secret, { action: 'revokeNow', secretId: secret.arn, previous: true, ...confirmed, reason: options.reason, operator }));
    } catch (err) {
      // The leaked key is now AWSPREVIOUS: the revoker's generic hints (e.g. --revoke-without-replacement for a
      // provider outage) would revoke the new key and leave the leaked one alive.
      const e = toCliError(err);
      throw new CliError(
        e.code,
        `${e.message}. The new key is current (version ${result.versionId}) but the old key (version ${result.previousVersionId ?? 'unknown'}) was NOT revoked: it stays valid until its grace deadline`,
        `\`keyrelay history ${secret.name}\` shows the old key's id; revoke it as soon as the revoker can: \`keyrelay revoke ${secret.name} --key-id ID --reason "${options.reason}"\` (do not rotate again: that would make a different key the previous one)`,
        { cause: err },
      );
    }
    timeline.steps.push({ step: 'old key revoked', atSeconds: at(), detail: ids.join(', ') });
  }
  ctx.io.stdout.write(formatTimeline(timeline, { json: options.json }));
  return EXIT.ok;
}

/**
 * The key the operator confirms: the version `AWSCURRENT` holds, and its key id when finishSecret's note names that
 * version (the CLI cannot read values). The revoker refuses to revoke any other.
 */
function confirmedKey(secret: ManagedSecret): { expectedVersionId?: string; expectedKeyId?: string } {
  const version = stageHolders(secret.versions).current;
  if (version === undefined) return {};
  const keyId = secret.currentKey?.versionId === version ? secret.currentKey.keyId : undefined;
  return keyId === undefined ? { expectedVersionId: version } : { expectedVersionId: version, expectedKeyId: keyId };
}

/** The keys the revoker says it revoked; none is a failure, not a success to report. @throws CliError `NothingRevoked` */
function revokedIds(answer: RevokerResponse): string[] {
  const ids = answer.keys.filter((k) => k.outcome === 'revoked').map((k) => k.keyId);
  if (ids.length === 0) {
    throw new CliError('NothingRevoked', `the revoker answered ${answer.action} without revoking any key`, "read the revoker's logs; check the revoker is the same keyrelay version as this CLI");
  }
  return ids;
}

/**
 * Reads the secret again after the prompt (which can take minutes) and refuses if `AWSCURRENT` moved meanwhile: the
 * key the operator confirmed as leaked is then no longer current, and rotating would revoke the wrong one (the
 * revoker acts on the labels as they are at the time).
 * @throws CliError `CurrentKeyMoved`, nothing changed
 */
async function currentUnchanged(ctx: Context, shown: ManagedSecret): Promise<ManagedSecret> {
  const secret = await loadSecret(ctx, shown.name);
  const confirmed = stageHolders(shown.versions).current;
  const now = stageHolders(secret.versions).current;
  if (now === confirmed) return secret;
  const keyId = secret.records.find((r) => r.versionId === confirmed)?.keyId;
  throw new CliError(
    'CurrentKeyMoved',
    `the current version of '${secret.name}' moved from ${confirmed ?? 'none'} to ${now ?? 'none'} while you were confirming (a rotation ran); nothing was changed`,
    `the leaked key (version ${confirmed ?? 'none'}) is no longer current: revoke it with \`keyrelay revoke ${secret.name} --key-id ${keyId ?? 'ID'} --reason "..."\`` +
      `${keyId ? '' : ` (\`keyrelay history ${secret.name}\` shows its id)`}; \`keyrelay status ${secret.name}\` shows the new state`,
  );
}
