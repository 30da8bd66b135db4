import type { KeyStatus } from '../assess';
import { json, table } from './text';

/** An alarm in state ALARM. */
export interface AlarmState {
  name: string;
  reason?: string;
  since?: string;
}

/** Everything `status` found. */
export interface StatusReport {
  generatedAt: string;
  keys: KeyStatus[];
  /** Alarms in ALARM, or why they could not be read. */
  alarms: { firing: AlarmState[] } | { unavailable: string };
  /** Keys whose tags could not be read. */
  broken: Array<{ name: string; error: string }>;
}

/** True when anything needs attention (status exits non-zero). */
export function needsAttention(report: StatusReport): boolean {
  return report.keys.some((k) => k.attention.length > 0) || report.broken.length > 0 || ('firing' in report.alarms && report.alarms.firing.length > 0);
}

function previousCell(k: KeyStatus): string {
  if (!k.previous) return '-';
  const r = k.previous.record;
  if (!r) return 'no record';
  const by = r.by ? ` by ${r.by}` : '';
  if (r.phase === 'revoked') return `deleted${by}`;
  const what = { grace: 'valid until', held: 'held (in use), next check', disabled: 'disabled, deleted at' }[r.phase];
  return `${what} ${r.due}${by}`;
}

/**
 * Renders a status report: a table per key plus an attention list, or the report as JSON. Pure: tested without a
 * terminal. Shows fingerprints and key ids, never key values.
 */
export function formatStatus(report: StatusReport, options: { json: boolean }): string {
  if (options.json) return json({ ...report, attention: needsAttention(report) });
  const rows = [['KEY', 'PROVIDER', 'CURRENT', 'LAST ROTATED', 'NEXT ROTATION', 'PREVIOUS KEY', 'STATE']];
  for (const k of report.keys) {
    const current = !k.current ? 'none' : k.current.fingerprint ? `${k.current.fingerprint} (${k.current.keyId})` : k.current.error ? 'unreadable' : `version ${k.current.versionId.slice(0, 8)}`;
    const state = k.attention.length === 0 ? 'ok' : k.attention.map((a) => a.code).join(',');
    rows.push([k.name, k.provider ?? '?', current, k.lastRotated ?? 'never', k.nextRotation ?? '-', previousCell(k), state]);
  }
  const lines = [report.keys.length > 0 ? table(rows) : 'no managed keys found'];
  const regionRows = [['KEY', 'REGION', 'REPLICATION', 'SERVES']];
  for (const k of report.keys) {
    for (const r of k.replicas ?? []) {
      regionRows.push([k.name, r.region, r.status, r.inSync ? `the primary's key (version ${(r.currentVersionId ?? '').slice(0, 8)})` : (r.problem ?? 'not in sync')]);
    }
  }
  if (regionRows.length > 1) lines.push(`\nreplicas (rotation runs in the primary region):\n${table(regionRows)}`);
  const canaryRows = [['KEY', 'CANARY CHECKED', 'VERDICT', 'ACTION', 'LAST AUTOMATIC EMERGENCY']];
  for (const k of report.keys) {
    if (!k.canary && !k.lastAutoEmergency) continue;
    const auto = k.lastAutoEmergency ? `${k.lastAutoEmergency.at} (${k.lastAutoEmergency.trigger}, key ${k.lastAutoEmergency.keyId})` : '-';
    canaryRows.push([k.name, k.canary?.checkedAt ?? '-', k.canary?.verdict ?? '-', k.canary?.action ?? '-', auto]);
  }
  if (canaryRows.length > 1) lines.push(`\ncanary (last check of each current key; docs/revocation.md, "Leak response"):\n${table(canaryRows)}`);
  const notes: string[] = [];
  for (const k of report.keys) for (const a of k.attention) notes.push(`  ${k.name}: ${a.detail}`);
  for (const b of report.broken) notes.push(`  ${b.name}: ${b.error}`);
  if ('firing' in report.alarms) for (const a of report.alarms.firing) notes.push(`  alarm ${a.name} is in ALARM${a.since ? ` since ${a.since}` : ''}${a.reason ? `: ${a.reason}` : ''}`);
  else lines.push(`alarms: not read (${report.alarms.unavailable})`);
  lines.push(notes.length > 0 ? `\nneeds attention:\n${notes.join('\n')}` : `\nall ${report.keys.length} key(s) ok`);
  return `${lines.join('\n')}\n`;
}
