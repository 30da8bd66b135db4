import { METRICS } from '../../core/metrics';
import type { KeyOutcome } from '../../lambda/revoker/protocol';
import { OUTAGE_FAILED_STEPS, onStragglerHeld } from './acts';
import type { DemoRun } from './state';
import { RecordingMetrics, RevokerLog, storyTime } from './timeline';

/** The functions' metrics as the deployed alarms watch them: step failures page the on-call and end the outage act. */
export function demoMetrics(run: DemoRun): RecordingMetrics {
  return new RecordingMetrics((name, dimensions) => {
    run.metricCounts[name] = (run.metricCounts[name] ?? 0) + 1;
    if (name !== METRICS.rotationStepFailed) return;
    run.stepFailures++;
    const running = run.stack?.rotation.state().find((s) => s.runs.at(-1)?.status === 'running')?.name;
    run.emit('step-failed', `metric ${name}{step=${dimensions.step ?? '?'}, provider=${dimensions.provider ?? '?'}} = 1`, running);
    if (run.alarm === 'OK') {
      run.alarm = 'ALARM';
      run.emit('alarm', `alarm KeyRelay-RotationStepFailed: OK -> ALARM (on-call paged: a rotation step failed)`, running);
    }
    if (run.outageOn && ++run.outageFailures >= OUTAGE_FAILED_STEPS) {
      run.outageOn = false;
      run.stack?.provider.faults.clear();
      run.emit('outage', 'provider key API is back (outage over); Secrets Manager retries the rotation', running);
    }
  });
}

/** The revoker's log: its per-key outcomes become the keys' spans and events; its errors become events. */
export function demoRevokerLog(run: DemoRun, stragglerName: string | undefined): RevokerLog {
  return new RevokerLog(
    (action, outcomes) => onOutcomes(run, stragglerName, action, outcomes),
    (level, message, attributes) => {
      if (level === 'error') run.emit('info', `revoker ${level}: ${message} ${String(attributes.error ?? '')}`.trim(), attributes.secret as string | undefined);
    },
  );
}

function onOutcomes(run: DemoRun, stragglerName: string | undefined, action: string, outcomes: KeyOutcome[]): void {
  const { emit, revocations, spans } = run;
  for (const o of outcomes) {
    const span = spans.get(o.keyId);
    const t = run.now();
    const next = o.nextDue ? `, next step ${storyTime(Date.parse(o.nextDue), run.timeline.start)}` : '';
    if (o.outcome === 'revoked') {
      // revokeNow writes a due record before deleting: a sweep running meanwhile may delete the key first, and
      // revokeNow then finds it already gone. Either way the key died in the emergency.
      if (span && (action === 'revokeNow' || action === 'canary')) span.emergency = true;
      if (action === 'canary') emit('recovered', `${o.secretName}: the canary found key ${o.keyId} dead, rotated the secret and revoked the key: no human involved`, o.secretName);
      if (span?.revokedAt !== undefined) continue; // already gone: a later sweep or revokeDue confirming it
      run.replica?.onRevoked(o);
      revocations.revoked++;
      if (span) span.revokedAt = t;
      emit('revoked', `${o.secretName}: key ${o.keyId} revoked (deleted at the provider)`, o.secretName);
    } else if (o.outcome === 'held') {
      revocations.held++;
      if (run.replica?.onHeld(o)) {
        if (span) span.heldAt ??= t;
        continue;
      }
      if (span && span.heldAt === undefined) {
        span.heldAt = t;
        onStragglerHeld(run, stragglerName, o.secretName, o.keyId);
      }
      emit('held', `${o.secretName}: key ${o.keyId} still in use: revocation held (metric OldKeyInUse)${next}`, o.secretName);
    } else if (o.outcome === 'disabled') {
      if (span?.disabledAt !== undefined) continue;
      revocations.disabled++;
      if (span) span.disabledAt = t;
      emit('disabled', `${o.secretName}: key ${o.keyId} disabled (two-phase: observation window before deletion)${next}`, o.secretName);
    }
  }
}
