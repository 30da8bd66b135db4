import { isoTime } from '../../core/clock';
import type { KeyRecord, ManagedSecret } from '../../core/state';
import type { CurrentKey } from '../secrets';
import { json, table } from './text';

/** One version of a secret with what is known of its key: id, and fingerprint when read (never the value). */
export interface VersionInfo {
  versionId: string;
  stages: string[];
  created?: string;
  lastAccessed?: string;
  key?: CurrentKey;
}

/** One dated thing that happened to a key. */
export interface HistoryEvent {
  at: string;
  event: 'issued' | 'promoted' | 'grace' | 'held' | 'disabled' | 'revoked' | 'frozen';
  detail: string;
}

/** A key's history, newest event first. */
export interface History {
  name: string;
  versions: VersionInfo[];
  events: HistoryEvent[];
}

function recordEvent(r: KeyRecord): HistoryEvent {
  const notes = [r.reason, r.by && `by ${r.by}`].filter(Boolean);
  const why = notes.length > 0 ? ` (${notes.join('; ')})` : '';
  const due = isoTime(r.due);
  switch (r.phase) {
    case 'grace':
      return { at: due, event: 'grace', detail: `key ${r.keyId}: revocation due${why}` };
    case 'held':
      return { at: isoTime(r.heldSince ?? r.due), event: 'held', detail: `key ${r.keyId}: revocation held, still in use; next check ${due}${why}` };
    case 'disabled':
      return { at: due, event: 'disabled', detail: `key ${r.keyId}: disabled, deletion due${why}` };
    case 'revoked':
      return { at: due, event: 'revoked', detail: `key ${r.keyId}: revoked${why}` };
  }
}

/**
 * Builds the history (pure): one `issued` event per readable version, `promoted` for the current one, one event per
 * lifecycle record, and the freeze note (`<time> <operator>: <reason>`) when frozen.
 */
export function buildHistory(secret: ManagedSecret, versions: VersionInfo[]): History {
  const events: HistoryEvent[] = [];
  for (const v of versions) {
    const when = v.key?.issuedAt ?? v.created;
    if (when) {
      const what = v.key?.error ? 'a value that is not a valid key' : v.key?.keyId ? `key ${v.key.keyId}${v.key.fingerprint ? ` (${v.key.fingerprint})` : ''}` : 'a key';
      events.push({ at: when, event: 'issued', detail: `${what} stored as version ${v.versionId}` });
    }
    if (v.stages.includes('AWSCURRENT') && secret.lastRotatedDate) {
      events.push({ at: isoTime(secret.lastRotatedDate.getTime()), event: 'promoted', detail: `version ${v.versionId} became AWSCURRENT (last rotation)` });
    }
  }
  for (const r of secret.records) events.push(recordEvent(r));
  if (secret.frozen) {
    const at = /^\S+/.exec(secret.frozen)?.[0] ?? '';
    events.push({ at, event: 'frozen', detail: `rotation frozen by ${secret.frozen.slice(at.length).trim()}` });
  }
  events.sort((a, b) => b.at.localeCompare(a.at));
  return { name: secret.name, versions, events };
}

/** Renders a history (stdout). Pure. */
export function formatHistory(history: History, options: { json: boolean }): string {
  if (options.json) return json(history);
  const rows = [['VERSION', 'STAGES', 'CREATED', 'KEY', 'FINGERPRINT']];
  for (const v of history.versions) {
    rows.push([v.versionId, v.stages.join(',') || '-', v.created ?? '?', v.key?.keyId ?? (v.key?.error ? 'unreadable' : '-'), v.key?.fingerprint ?? '-']);
  }
  const events = history.events.map((e) => `  ${e.at}  ${e.event.padEnd(8)}  ${e.detail}`);
  return `${history.name}\n${table(rows)}\n\nevents (newest first):\n${events.join('\n') || '  none recorded'}\n`;
}
