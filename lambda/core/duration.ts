import { ConfigError } from './errors';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const DURATION = /^(\d+)\s*(s|m|h|d)$/;

/**
 * Parses a duration such as `90s`, `15m`, `4h` or `30d` into seconds.
 * @throws ConfigError naming `what` and the value received.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new ConfigError(`${what} must look like 90s, 15m, 4h or 30d, got '${text}'`);
  }
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

/** Formats seconds for people: `30 days`, `4 hours`, `90 seconds` (largest whole unit). */
export function formatDuration(seconds: number): string {
  const units: Array<[number, string]> = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}
