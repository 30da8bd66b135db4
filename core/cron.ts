import { ConfigError } from './errors';

/**
 * AWS rotation cron expressions: `cron(minutes hours day-of-month month day-of-week year)`, in UTC.
 * Supports `*`, `?`, lists, ranges, steps and month/day names; not `L`, `W` or `#` (rejected with a clear error).
 * Used to validate schedules and, in the local stack, to know when a rotation window opens.
 */
export interface CronSchedule {
  expression: string;
  /** Next window opening strictly after `afterMs` (ms since the epoch); undefined when none within 5 years. */
  next(afterMs: number): number | undefined;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const HOUR_MS = 3_600_000;

function field(text: string, name: string, min: number, max: number, names: string[] = [], offset = 0): Set<number> | null {
  if (text === '*' || text === '?') return null;
  // Month and day names (JUL, WED) contain L and W: only the special characters outside a name are refused.
  if (/[LW#]/.test(text.toUpperCase().replace(/[A-Z]{3}/g, ''))) throw new ConfigError(`cron ${name} '${text}': L, W and # are not supported by keyrelay; use explicit values`);
  const values = new Set<number>();
  const value = (t: string): number => {
    const idx = names.indexOf(t.toUpperCase());
    const n = idx >= 0 ? idx + offset : Number(t);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`cron ${name} '${text}': '${t}' is not in ${min}-${max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new ConfigError(`cron ${name} '${text}': bad step '${stepText}'`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [min, max];
    else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      [lo, hi] = [value(a), value(b)];
      if (lo > hi) {
        throw new ConfigError(`cron ${name} '${text}': range '${range}' runs backwards and matches nothing; keyrelay does not wrap ranges around, list both parts (e.g. 22-23,0-2)`);
      }
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

/**
 * Parses `cron(...)`. @throws ConfigError naming the field when the expression is malformed.
 */
export function parseCron(expression: string): CronSchedule {
  const m = /^cron\((.+)\)$/.exec(expression.trim());
  const parts = m?.[1]?.trim().split(/\s+/) ?? [];
  if (parts.length !== 6) {
    throw new ConfigError(`schedule must be cron(minutes hours day-of-month month day-of-week year), got '${expression}'`);
  }
  const [min = '', hour = '', dom = '', month = '', dow = '', year = ''] = parts;
  if (min !== '0') throw new ConfigError(`cron minutes must be 0 (rotation windows open on the hour), got '${min}'`);
  if ((dom === '?') === (dow === '?')) {
    throw new ConfigError(`cron needs '?' in exactly one of day-of-month and day-of-week, got '${dom}' and '${dow}'`);
  }
  const hours = field(hour, 'hours', 0, 23);
  const doms = field(dom, 'day-of-month', 1, 31);
  const months = field(month, 'month', 1, 12, MONTHS, 1);
  const dows = field(dow, 'day-of-week', 1, 7, DAYS, 1);
  const years = field(year, 'year', 1970, 2199);
  const matches = (t: Date): boolean =>
    (hours === null || hours.has(t.getUTCHours())) &&
    (doms === null || doms.has(t.getUTCDate())) &&
    (months === null || months.has(t.getUTCMonth() + 1)) &&
    (dows === null || dows.has(t.getUTCDay() + 1)) &&
    (years === null || years.has(t.getUTCFullYear()));
  return {
    expression,
    next(afterMs) {
      let t = Math.floor(afterMs / HOUR_MS) * HOUR_MS + HOUR_MS;
      for (let i = 0; i < 24 * 366 * 5; i++, t += HOUR_MS) if (matches(new Date(t))) return t;
      return undefined;
    },
  };
}

/**
 * Shortest gap between two window openings over the next 400 occurrences from `fromMs`, in seconds;
 * undefined when the schedule fires fewer than twice.
 */
export function shortestCronInterval(schedule: CronSchedule, fromMs = Date.UTC(2030, 0, 1)): number | undefined {
  let prev = schedule.next(fromMs);
  let shortest: number | undefined;
  for (let i = 0; i < 400 && prev !== undefined; i++) {
    const next = schedule.next(prev);
    if (next === undefined) break;
    shortest = Math.min(shortest ?? Infinity, (next - prev) / 1000);
    prev = next;
  }
  return shortest;
}
