import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMESPACE } from '../../core/metrics';
import type { RevokerLogger, RevokerMetrics } from '../../lambda/revoker/deps';
import type { KeyOutcome } from '../../lambda/revoker/protocol';

/**
 * What the demo saw, in one serialisable object: the key lifetimes, the request rate, the events. The live view,
 * the summary and the HTML report all read it; it never holds key material (key ids and fingerprints only).
 */

/** What happened, for the event list. */
export type DemoEventKind =
  | 'rotated'
  | 'step-failed'
  | 'alarm'
  | 'outage'
  | 'recovered'
  | 'held'
  | 'disabled'
  | 'revoked'
  | 'straggler'
  | 'emergency'
  | 'leak-refused'
  | 'replica'
  | 'info';

/** One event: demo-clock time, real ms since the fleet started, text (no key material). */
export interface DemoEvent {
  t: number;
  real: number;
  kind: DemoEventKind;
  secretName?: string;
  text: string;
}

/** One provider key's life, demo-clock ms. */
export interface KeySpan {
  secretName: string;
  keyId: string;
  fingerprint?: string;
  issuedAt: number;
  /** Became AWSCURRENT. */
  currentAt?: number;
  /** Another key became current: the grace period began. */
  replacedAt?: number;
  heldAt?: number;
  disabledAt?: number;
  revokedAt?: number;
  /** Revoked by the emergency path (no grace). */
  emergency?: boolean;
}

/** Requests completed in one sampling interval. */
export interface RateSample {
  /** Demo-clock ms at the end of the interval. */
  t: number;
  /** Real ms since the fleet started. */
  real: number;
  ok: number;
  failed: number;
}

/** The whole record. */
export interface Timeline {
  /** Demo-clock ms when the fleet started, and when it stopped. */
  start: number;
  end: number;
  speed: number;
  keys: string[];
  spans: KeySpan[];
  samples: RateSample[];
  events: DemoEvent[];
  /** Demo-clock span of the emergency, when it ran. */
  emergency?: { secretName: string; start: number; end?: number };
}

/** A metric data point the functions emitted (name and dimensions), with its demo-clock time. */
export interface MetricPoint {
  t: number;
  name: string;
  dimensions: Record<string, string>;
}

/**
 * Powertools Metrics that hands every data point to `record` instead of printing EMF, so the demo can show the
 * signal the deployed alarms watch (RotationStepFailed...). Only the `singleMetric()` path keyrelay uses is recorded.
 */
export class RecordingMetrics extends Metrics {
  private readonly dimensions: Record<string, string> = {};

  constructor(private readonly record: (name: string, dimensions: Record<string, string>) => void) {
    super({ namespace: METRIC_NAMESPACE, serviceName: 'keyrelay' });
  }

  override singleMetric(): Metrics {
    return new RecordingMetrics(this.record);
  }

  override addDimensions(dimensions: Record<string, string>): this {
    Object.assign(this.dimensions, dimensions);
    return this;
  }

  override addMetric(name: string): this {
    this.record(name, { ...this.dimensions });
    return this;
  }

  /** The revoker's narrower metrics port, feeding the same `record`. */
  forRevoker(): RevokerMetrics {
    return { addMetric: (name) => this.record(name, {}) };
  }
}

/**
 * The revoker's logger port: keeps the per-key outcomes of every action (`revoker action done`), and the warnings
 * (held keys) and errors as lines; prints nothing.
 */
export class RevokerLog implements RevokerLogger {
  constructor(
    private readonly onOutcomes: (action: string, outcomes: KeyOutcome[]) => void,
    private readonly onLine: (level: 'warn' | 'error', message: string, attributes: Record<string, unknown>) => void,
  ) {}

  info(message: string, ...attributes: Array<Record<string, unknown>>): void {
    const a = Object.assign({}, ...attributes) as { action?: string; keys?: KeyOutcome[] };
    if (message === 'revoker action done' && Array.isArray(a.keys)) this.onOutcomes(a.action ?? '', a.keys);
  }

  warn(message: string, ...attributes: Array<Record<string, unknown>>): void {
    this.onLine('warn', message, Object.assign({}, ...attributes) as Record<string, unknown>);
  }

  error(message: string, ...attributes: Array<Record<string, unknown>>): void {
    this.onLine('error', message, Object.assign({}, ...attributes) as Record<string, unknown>);
  }
}

/** Demo-clock time relative to the story start, e.g. `d3 14:05`. */
export function storyTime(t: number, start: number): string {
  const ms = Math.max(0, t - start);
  const day = Math.floor(ms / 86_400_000);
  const h = Math.floor((ms % 86_400_000) / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  return `d${day} ${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/** A demo-clock duration for people: `2d 4h`, `5h 10m`, `12m`, `40s`. */
export function humanSpan(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const sign = ms < 0 ? '-' : '';
  if (s >= 86_400) return `${sign}${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
  if (s >= 3600) return `${sign}${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${sign}${Math.floor(s / 60)}m`;
  return `${sign}${s}s`;
}
