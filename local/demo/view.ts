import { table } from '../../cli/format/text';
import { humanSpan, storyTime, type DemoEvent } from './timeline';

/** One key's row of the live view. */
export interface KeyRow {
  name: string;
  step: string;
  fingerprint: string;
  rotations: number;
  /** The next revocation step of an old key, e.g. `revoke k_12 in 18h`. */
  deadline: string;
}

/** What one frame shows. */
export interface ViewState {
  now: number;
  start: number;
  speed: number;
  realMs: number;
  durationMs: number;
  ok: number;
  failed: number;
  /** Requests per second over the last sample. */
  rate: number;
  alarm: 'OK' | 'ALARM';
  backendCalls: number;
  keys: KeyRow[];
}

type Output = NodeJS.WritableStream & { isTTY?: boolean; rows?: number };

const ESC = '\x1b[';
const COLOURS: Partial<Record<DemoEvent['kind'], string>> = {
  'step-failed': '31',
  alarm: '1;31',
  outage: '33',
  recovered: '32',
  held: '33',
  revoked: '36',
  emergency: '1;35',
  'leak-refused': '1;32',
  straggler: '33',
  replica: '34',
};
const FRAME_MS = 200;
const STATUS_EVERY_MS = 10_000;

/**
 * The demo's terminal output. In a TTY: a full-screen view redrawn with plain ANSI (alternate screen, cursor home,
 * clear), the keys, counters and the latest events. Elsewhere (CI, pipes): one plain line per event and a status
 * line every 10 s. Never shows key material: the state holds fingerprints and key ids only.
 */
export class LiveView {
  private readonly tty: boolean;
  private readonly recent: string[] = [];
  private lastFrame = 0;
  private lastStatus = 0;
  private open = false;

  constructor(private readonly out: Output) {
    this.tty = out.isTTY === true && process.env.TERM !== 'dumb';
  }

  /** Shows one event (a line now, or in the next frame). */
  event(e: DemoEvent, start: number): void {
    const line = `${storyTime(e.t, start)}  ${e.text}`;
    if (!this.tty) {
      this.out.write(`[${(e.real / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
      return;
    }
    const colour = COLOURS[e.kind];
    this.recent.push(colour ? `${ESC}${colour}m${line}${ESC}0m` : line);
    if (this.recent.length > 200) this.recent.shift();
  }

  /** Redraws (TTY, at most 5 frames/s) or prints a status line (every 10 s). */
  draw(state: ViewState): void {
    if (!this.tty) {
      if (state.realMs - this.lastStatus < STATUS_EVERY_MS) return;
      this.lastStatus = state.realMs;
      this.out.write(
        `[${(state.realMs / 1000).toFixed(1).padStart(5)} s] ${storyTime(state.now, state.start)}  requests ok ${state.ok} failed ${state.failed} ` +
          `(${Math.round(state.rate)}/s), alarm ${state.alarm}\n`,
      );
      return;
    }
    if (state.realMs - this.lastFrame < FRAME_MS) return;
    this.lastFrame = state.realMs;
    if (!this.open) {
      this.open = true;
      this.out.write(`${ESC}?1049h${ESC}?25l`);
    }
    const rows = [['KEY', 'STEP', 'CURRENT KEY', 'ROTATIONS', 'PENDING DEADLINE']];
    for (const k of state.keys) rows.push([k.name, k.step, k.fingerprint, String(k.rotations), k.deadline]);
    const left = Math.max(0, state.durationMs - state.realMs);
    const header = [
      `${ESC}1mkeyrelay demo${ESC}0m  demo time ${storyTime(state.now, state.start)} (${Math.round(state.speed)}x: ${humanSpan(state.speed * 1000)} per second)  ${Math.ceil(left / 1000)} s left  Ctrl-C stops`,
      '',
      table(rows).trimEnd(),
      '',
      `requests  ok ${state.ok}  failed ${state.failed === 0 ? '0' : `${ESC}31m${state.failed}${ESC}0m`}  ${Math.round(state.rate)}/s   ` +
        `client backend calls ${state.backendCalls}   alarm RotationStepFailed ${state.alarm === 'OK' ? `${ESC}32mOK${ESC}0m` : `${ESC}1;31mALARM${ESC}0m`}`,
      '',
      'events',
    ];
    const height = Math.max(10, (this.out.rows ?? 40) - header.length - 1);
    const body = this.recent.slice(-height);
    this.out.write(`${ESC}H${ESC}2J${[...header, ...body].join('\n')}\n`);
  }

  /** Leaves the full-screen view (idempotent). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.out.write(`${ESC}?25h${ESC}?1049l`);
  }
}
