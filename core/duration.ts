import { ConfigError } from './errors';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const DURATION = /^(\d+)\s*(s|m|h|d)$/;

/**
 * The longest duration keyrelay accepts anywhere, in seconds (1000 days): every duration of the config
 * ({@link parseDuration}) and every duration tag the functions read (`./state.ts`) share it, so a value synth accepts
 * is one the functions accept. Written as a tag it stays a plain integer (`86400000`), and a deadline a record
 * computes from it stays far inside the range of a `Date`.
 */
export const MAX_DURATION_SECONDS = 1000 * 86_400;

/**
 * Parses a duration such as `90s`, `15m`, `4h` or `30d` into seconds.
 * @throws ConfigError naming `what` and the value received, when malformed or longer than {@link MAX_DURATION_SECONDS}.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new ConfigError(`${what} must look like 90s, 15m, 4h or 30d, got '${text}'`);
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  if (!(seconds <= MAX_DURATION_SECONDS)) {
    throw new ConfigError(`${what} must not be larger than ${formatDuration(MAX_DURATION_SECONDS)}, got '${text}'`);
  }
  return seconds;
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
