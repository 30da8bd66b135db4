import type { ManagedSecret } from './state';

/** A rotation window lasts at most a day (AWS caps `RotationRules.Duration` at 24 h; rate windows run to day's end). */
export const ROTATION_WINDOW_MS = 24 * 3600_000;
/**
 * How late past its window a rotation may be before it counts as overdue: room for Secrets Manager's retries and a
 * sweep interval. One constant for the reconcile sweep (`KeysOverdue`) and `keyrelay status`, so they agree.
 */
export const OVERDUE_SLACK_MS = 24 * 3600_000;

/** Where the expected rotation time came from. */
export type OverdueBasis = 'next-rotation' | 'last-rotated' | 'created';

/** One key's rotation judged against its own schedule. */
export type RotationVerdict =
  /** Paused on purpose: never overdue (the sweep counts and logs frozen keys apart). */
  | { state: 'frozen' }
  /** No schedule to judge by: rotation disabled and no `rotate-every` tag (a cron key), or no date at all. */
  | { state: 'unknown' }
  /**
   * `due`: when the rotation should have started (ms); `overdueAt`: due + window + slack, after which it is
   * `overdue`, else `on-time`.
   */
  | { state: 'on-time' | 'overdue'; due: number; overdueAt: number; basis: OverdueBasis };

/**
 * Judges whether a key's rotation silently stopped, by its OWN schedule (pure; shared by the sweep and the CLI).
 *
 * While rotation is enabled, Secrets Manager's `NextRotationDate` is the schedule: AWS leaves it in the past when the
 * rotation fails, so it catches rate and cron keys alike, including staggered monthly crons whose gap exceeds
 * `rotate-every`. Without it (rotation disabled: the schedule is gone, which is itself a stopped rotation), the key
 * is due `rotate-every` after its last rotation, or after its creation when it never rotated (an imported key older
 * than its interval is overdue until its first rotation). A cron key with rotation disabled cannot be judged
 * (`unknown`): its `rotation-disabled` state is reported instead.
 * @param slackMs @default OVERDUE_SLACK_MS
 */
export function judgeRotation(
  secret: Pick<ManagedSecret, 'frozen' | 'rotationEnabled' | 'nextRotationDate' | 'lastRotatedDate' | 'createdDate' | 'settings'>,
  now: number,
  slackMs = OVERDUE_SLACK_MS,
): RotationVerdict {
  if (secret.frozen !== undefined) return { state: 'frozen' };
  const every = secret.settings.rotateEvery;
  const since = secret.lastRotatedDate ?? secret.createdDate;
  let due: number;
  let basis: OverdueBasis;
  if (secret.rotationEnabled && secret.nextRotationDate) {
    due = secret.nextRotationDate.getTime();
    basis = 'next-rotation';
  } else if (every !== undefined && since) {
    due = since.getTime() + every * 1000;
    basis = secret.lastRotatedDate ? 'last-rotated' : 'created';
  } else {
    return { state: 'unknown' };
  }
  const overdueAt = due + ROTATION_WINDOW_MS + slackMs;
  return { state: overdueAt < now ? 'overdue' : 'on-time', due, overdueAt, basis };
}
