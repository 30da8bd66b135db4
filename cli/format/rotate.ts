import type { RotationEvent } from '../rotation';
import { json, secondsSince, table } from './text';

/** One progress line for a rotation step (stderr). Pure. */
export function formatRotationEvent(event: RotationEvent, startedAt: number): string {
  const when = secondsSince(startedAt, event.at);
  switch (event.kind) {
    case 'started':
      return `${event.name}: rotation started, new version ${event.versionId} (${when})`;
    case 'pending':
      return `${event.name}: new version labelled AWSPENDING, waiting for the rotation steps (${when})`;
    case 'current':
      return `${event.name}: new key is AWSCURRENT${event.previousVersionId ? `; previous version ${event.previousVersionId} is AWSPREVIOUS` : ''} (${when})`;
  }
}

/** Outcome of rotating one key. */
export interface RotateOutcome {
  name: string;
  ok: boolean;
  versionId?: string;
  /** Seconds from RotateSecret to AWSCURRENT moving. */
  seconds?: number;
  error?: { code: string; message: string; hint: string };
}

/** Summary of `rotate` over several keys (stdout). Pure. */
export function formatRotateResults(outcomes: readonly RotateOutcome[], options: { json: boolean }): string {
  if (options.json) return json({ rotated: outcomes });
  const rows = [['KEY', 'RESULT', 'NEW VERSION', 'TIME']];
  for (const o of outcomes) {
    rows.push([o.name, o.ok ? 'rotated' : `failed [${o.error?.code}]`, o.versionId ?? '-', o.seconds === undefined ? '-' : `${o.seconds.toFixed(1)} s`]);
  }
  const failures = outcomes.filter((o) => !o.ok).map((o) => `  ${o.name}: ${o.error?.message}\n    next: ${o.error?.hint}`);
  return `${table(rows)}\n${failures.length > 0 ? `\nfailed:\n${failures.join('\n')}\n` : ''}`;
}

/** What an emergency did and when, relative to the command's start. */
export interface EmergencyTimeline {
  name: string;
  reason: string;
  operator: string;
  /** ISO-8601 start. */
  startedAt: string;
  mode: 'rotate-and-revoke' | 'revoke-without-replacement';
  steps: Array<{ step: string; atSeconds: number; detail?: string }>;
}

/** The emergency timeline (stdout): "new key current at T+x s, old key revoked at T+y s". Pure. */
export function formatTimeline(timeline: EmergencyTimeline, options: { json: boolean }): string {
  if (options.json) return json(timeline);
  const lines = [`emergency for '${timeline.name}' by ${timeline.operator} (${timeline.reason}), started ${timeline.startedAt}:`];
  for (const s of timeline.steps) lines.push(`  T+${s.atSeconds.toFixed(1)} s  ${s.step}${s.detail ? ` (${s.detail})` : ''}`);
  return `${lines.join('\n')}\n`;
}
