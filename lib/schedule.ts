import { rotationRules, type ResolvedKey } from './config';

/**
 * Spreads rotations so a deploy of hundreds of keys does not hit one provider at once, and steady-state rotations of
 * one provider do not share a window. Rotation windows open on the hour and last at least an hour, so keys are spread
 * across hours and days, never minutes.
 *
 * Trade-off: only `rotateEvery` values a cron can express exactly (or, for about a month, closely) are staggered:
 * 4h/6h/8h/12h, 1d, 7d, and 28d-31d (monthly, on day 1-28, checked against the key's grace and hold so the shortest
 * month still fits). Other intervals keep `rate(...)`, whose moment AWS picks at random within the day. An explicit
 * `schedule` (cron) is never changed. Slots are assigned by position among the provider's keys sorted by name, so
 * adding a key can move later keys to another slot: a schedule change, never an immediate rotation
 * (`RotateImmediatelyOnUpdate` is off).
 */

/** `RotationRules` as `AWS::SecretsManager::RotationSchedule` takes them. */
export interface RotationRulesSpec {
  ScheduleExpression: string;
  /** Window length, e.g. `2h`; absent: AWS's default. */
  Duration?: string;
}

/** Window given to staggered keys that set none: long enough for Secrets Manager's retries, short enough to spread. */
export const STAGGERED_WINDOW_HOURS = 2;

const MONTHLY_GAP = 28 * 86_400;
const DOW = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

/** The key's lifetime constraint: what must fit between two rotations (grace, usage hold, observation). */
function minimumGap(key: ResolvedKey): number {
  return key.gracePeriod + (key.usageHold?.maxHold ?? 0) + (key.observationWindow ?? 0);
}

/** A cron equivalent of `key`'s rate schedule in slot `slot`, or undefined when none is exact enough. */
function staggeredCron(key: ResolvedKey, slot: number): string | undefined {
  if (key.schedule.kind !== 'rate') return undefined;
  const hours = key.schedule.every / 3600;
  const hour = slot % 24;
  const day = Math.floor(slot / 24);
  if (hours < 24 && 24 % hours === 0) return `cron(0 ${slot % hours}/${hours} * * ? *)`;
  if (hours === 24) return `cron(0 ${hour} * * ? *)`;
  if (hours === 24 * 7) return `cron(0 ${hour} ? * ${DOW[day % 7]} *)`;
  // Monthly on day 1-28: the shortest gap is February's 28 days, which must still hold grace, hold and observation.
  if (hours >= 24 * 28 && hours <= 24 * 31 && MONTHLY_GAP > minimumGap(key)) return `cron(0 ${hour} ${(day % 28) + 1} * ? *)`;
  return undefined;
}

/**
 * Rotation rules for every key, staggered per provider when `stagger` is on.
 * @returns rules by key name.
 *
 * @example
 * const rules = staggeredRotationRules(config.keys, true);
 * new KeyRelayKey(stack, 'Stripe', { engine, key, rotationRules: rules.get(key.name) });
 */
export function staggeredRotationRules(keys: readonly ResolvedKey[], stagger: boolean): Map<string, RotationRulesSpec> {
  const out = new Map<string, RotationRulesSpec>();
  const slots = new Map<string, number>();
  for (const key of [...keys].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const rules = rotationRules(key);
    const slot = slots.get(key.provider) ?? 0;
    const cron = stagger ? staggeredCron(key, slot) : undefined;
    if (cron === undefined) {
      out.set(key.name, rules);
      continue;
    }
    slots.set(key.provider, slot + 1);
    out.set(key.name, { ScheduleExpression: cron, Duration: rules.Duration ?? `${STAGGERED_WINDOW_HOURS}h` });
  }
  return out;
}
