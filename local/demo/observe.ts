import { handleKeyRotatedEvent } from '../../client/index';
import { EVENTS } from '../../core/ports';
import { providerKeyLabel } from '../../core/state';
import type { LocalStack } from '../stack';
import type { DemoRun } from './state';
import { humanSpan, type KeySpan } from './timeline';

/**
 * Turns what the stack did since the last look into the run's spans and events: KeyRotated events (new keys, handed to
 * the fleet as a subscribed app would) and the rotation runs' failed attempts and recoveries.
 */
export class StackObserver {
  private seenEvents = 0;
  /** Events before this index are the first keys, issued at start-up. */
  private readonly firstKeys: number;
  private readonly seenErrors = new Map<string, number>();
  private readonly seenRuns = new Map<string, string>();

  constructor(
    private readonly run: DemoRun,
    private readonly s: LocalStack,
  ) {
    this.firstKeys = s.events.length;
  }

  /** Both observations. */
  observe(): void {
    this.events();
    this.rotations();
  }

  /** KeyRotated events: spans, the current key per secret, rotation counts. */
  events(): void {
    const { run, s } = this;
    const { spans, currentOf } = run;
    const keysById = new Map(s.provider.keys().map((k) => [k.name, k]));
    for (; this.seenEvents < s.events.length; this.seenEvents++) {
      const { time, detail } = s.events[this.seenEvents] as (typeof s.events)[number];
      const info = keysById.get(providerKeyLabel({ arn: detail.secretArn, name: detail.secretName }, detail.versionId));
      const keyId = info?.id ?? `version ${detail.versionId}`;
      const span: KeySpan = spans.get(keyId) ?? { secretName: detail.secretName, keyId, issuedAt: info?.createdAt ?? time };
      span.currentAt = time;
      span.fingerprint = detail.fingerprint;
      spans.set(keyId, span);
      const previous = currentOf.get(detail.secretName);
      const previousSpan = previous ? spans.get(previous) : undefined;
      if (previousSpan) {
        previousSpan.replacedAt = time;
        if (detail.emergency) previousSpan.emergency = true;
      }
      currentOf.set(detail.secretName, keyId);
      run.selfHeal?.rotated(detail.secretName, performance.now());
      if (this.seenEvents < this.firstKeys) continue; // a first key, issued at start-up
      run.rotations[detail.secretName] = (run.rotations[detail.secretName] ?? 0) + 1;
      const grace = detail.previousKeyDeadline ? `; old key ${previous ?? ''} stays valid ${humanSpan(Date.parse(detail.previousKeyDeadline) - time)}` : '';
      run.emit('rotated', `${detail.secretName}: rotated to ${detail.fingerprint} (key ${keyId})${grace}`, detail.secretName);
      // What an app subscribed to KeyRotated does (docs/client.md): drop the cached key at once.
      for (const c of run.clients) handleKeyRotatedEvent({ source: EVENTS.source, 'detail-type': EVENTS.keyRotated, detail }, c);
      run.replica?.onKeyRotated(detail);
    }
  }

  /** Rotation runs: failed attempts are the rotation function's log lines; a success after failures is the recovery. */
  rotations(): void {
    const { run, seenErrors, seenRuns } = this;
    for (const r of this.s.rotation.state()) {
      const last = r.runs.at(-1);
      if (!last) continue;
      const key = `${r.name} ${last.token}`;
      const seen = seenRuns.get(r.name) === last.token ? (seenErrors.get(key) ?? 0) : 0;
      for (const line of last.errors.slice(seen)) run.emit('step-failed', `rotation log ${r.name}: ${line}`, r.name);
      seenErrors.set(key, last.errors.length);
      const status = `${last.token} ${last.status}`;
      if (seenRuns.get(`${r.name} status`) !== status) {
        seenRuns.set(`${r.name} status`, status);
        if (last.status === 'succeeded' && last.attempts > 1) {
          run.emit('recovered', `${r.name}: rotation recovered on attempt ${last.attempts}; alarm KeyRelay-RotationStepFailed back to OK`, r.name);
          run.alarm = 'OK';
        }
        if (last.status === 'failed') run.emit('step-failed', `${r.name}: rotation gave up after ${last.attempts} attempts`, r.name);
      }
      seenRuns.set(r.name, last.token);
    }
  }
}
