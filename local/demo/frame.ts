import type { LocalStack } from '../stack';
import type { DemoRun } from './state';
import { humanSpan } from './timeline';
import type { KeyRow, ViewState } from './view';

/** What the live view shows now: the counters and one row per key. */
export function viewState(run: DemoRun, s: LocalStack, durationMs: number): ViewState {
  return {
    now: s.clock.now(),
    start: run.timeline.start,
    speed: run.speed,
    realMs: performance.now() - run.realStart,
    durationMs,
    ok: run.ok,
    failed: run.failed,
    rate: run.rateNow,
    alarm: run.alarm,
    backendCalls: Object.values(run.backendCalls).reduce((a, b) => a + b, 0),
    keys: run.names.map((name) => keyRow(run, s, name)),
  };
}

function keyRow(run: DemoRun, s: LocalStack, name: string): KeyRow {
  const rot = s.rotation.get(name);
  const last = rot?.runs.at(-1);
  const current = run.currentOf.get(name);
  const due = s.scheduler.revocations
    .filter((r) => r.secretName === name && r.status === 'scheduled')
    .sort((a, b) => a.due - b.due)[0];
  const dueSpan = due ? run.spans.get(due.keyId) : undefined;
  const phase = dueSpan?.disabledAt !== undefined ? 'delete' : dueSpan?.heldAt !== undefined ? 'held, recheck' : 'revoke';
  return {
    name,
    step:
      last?.status === 'running'
        ? `rotating (attempt ${last.attempts})`
        : last?.status === 'retrying'
          ? `retrying in ${humanSpan((last.nextAttemptAt ?? 0) - s.clock.now())}`
          : last?.status === 'failed'
            ? 'rotation FAILED'
            : `next rotation in ${rot?.nextRotation ? humanSpan(rot.nextRotation - s.clock.now()) : '-'}`,
    fingerprint: current ? (run.spans.get(current)?.fingerprint ?? '?') : '-',
    rotations: run.rotations[name] ?? 0,
    deadline: due ? `${phase} ${due.keyId} in ${humanSpan(due.due - s.clock.now())}` : '-',
  };
}
