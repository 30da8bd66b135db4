import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { KeyClient } from '../../client/index';
import type { LocalStack } from '../stack';
import type { Fleet, RawCaller } from './fleet';
import type { ReplicaAct } from './replica';
import type { SelfHealAct } from './self-heal';
import type { DemoEvent, KeySpan, Timeline } from './timeline';
import type { LiveView } from './view';

/** What the emergency act measured (./emergency.ts). */
export interface EmergencyState {
  /** True while apps holding the leaked key are expected to fail. */
  open: boolean;
  /** The act's run, awaited before the summary. */
  run?: Promise<void>;
  /** Real ms from the emergency's start to the attacker's first refusal. */
  refusedAfterMs?: number;
  /** The `keyrelay rotate --emergency` exit code. */
  cliExit?: number;
}

/**
 * One demo run's shared state: the timeline being recorded, the counters the summary reads, and the story's players.
 * The acts, observers and signal handlers read and write it; one object instead of many captured variables.
 */
export class DemoRun {
  readonly events: DemoEvent[] = [];
  readonly spans = new Map<string, KeySpan>();
  readonly timeline: Timeline;
  /** Real start of the story (reset when the clock starts at story speed). */
  realStart = performance.now();
  stack?: LocalStack;
  /** Set once the stack stops: what its last jobs say is noise. */
  closed = false;
  /** Set when the run ends: scheduled acts no longer start. */
  stopping = false;
  aborted = false;

  // Signals the deployed alarms watch.
  stepFailures = 0;
  outageFailures = 0;
  outageOn = false;
  alarm: 'OK' | 'ALARM' = 'OK';
  readonly metricCounts: Record<string, number> = {};
  readonly revocations = { revoked: 0, held: 0, disabled: 0 };

  // The fleet's load and what it cost.
  readonly clients: KeyClient[] = [];
  readonly backendCalls: Record<string, number> = {};
  ok = 0;
  failed = 0;
  /** Requests per second over the last sample. */
  rateNow = 0;
  peak = { self: 0, children: 0 };

  /** Each secret's current provider key id. */
  readonly currentOf = new Map<string, string>();
  /** Rotations per secret after the first keys. */
  readonly rotations: Record<string, number>;

  // The story's players.
  fleet?: Fleet;
  fleetSm?: SecretsManagerClient;
  replica?: ReplicaAct;
  straggler?: RawCaller;
  stragglerKeyId?: string;
  attacker?: RawCaller;
  readonly emergency: EmergencyState = { open: false };

  constructor(
    readonly names: string[],
    readonly speed: number,
    private readonly view: LiveView,
    readonly selfHeal: SelfHealAct | undefined,
  ) {
    this.timeline = { start: 0, end: 0, speed, keys: names, spans: [], samples: [], events: this.events };
    this.rotations = Object.fromEntries(names.map((n) => [n, 0]));
  }

  /** The demo clock once the stack runs, else wall time. */
  now(): number {
    return this.stack?.clock.now() ?? Date.now();
  }

  /** Records an event on the timeline and shows it. */
  readonly emit = (kind: DemoEvent['kind'], text: string, secretName?: string): void => {
    if (this.closed) return;
    const event: DemoEvent = { t: this.now(), real: Math.round(performance.now() - this.realStart), kind, text, ...(secretName ? { secretName } : {}) };
    this.events.push(event);
    this.view.event(event, this.timeline.start || event.t);
  };
}
