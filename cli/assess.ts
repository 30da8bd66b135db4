import { isoTime } from '../core/clock';
import { judgeRotation } from '../core/overdue';
import { stageHolders, type AutoAction, type AutoTrigger, type CanaryVerdict, type KeyPhase, type ManagedSecret } from '../core/state';
import type { ReplicaState } from '../core/replicas';
import type { CurrentKey } from './secrets';

/** A record's next action is this late before `status` calls it past its deadline (the revoker runs at the deadline). */
export const DEADLINE_SLACK_MS = 15 * 60_000;

/** Why a key needs a look. `code` is stable for scripts. */
export interface Attention {
  code: 'rotation-pending' | 'past-deadline' | 'overdue' | 'frozen' | 'rotation-disabled' | 'no-current-key' | 'unreadable' | 'replica-out-of-sync' | 'canary';
  detail: string;
}

/** A provider key the secret no longer (or never) made current, from its lifecycle record. */
export interface RecordedKey {
  keyId: string;
  phase: KeyPhase;
  /** ISO-8601. */
  due: string;
  versionId?: string;
  reason?: string;
  /** Operator who revoked, cancelled or restored it. */
  by?: string;
}

/** One key as `status` reports it. Holds fingerprints and key ids only. */
export interface KeyStatus {
  name: string;
  provider?: string;
  /** The AWSCURRENT version, with key id and fingerprint from finishSecret's note or, with `--fingerprints`, from the value. */
  current?: CurrentKey;
  lastRotated?: string;
  nextRotation?: string;
  /** A version labelled AWSPENDING that is not AWSCURRENT: a rotation running or stuck. */
  pending?: { versionId: string };
  /** The AWSPREVIOUS version and its key's lifecycle record, when known. */
  previous?: { versionId: string; record?: RecordedKey };
  /** Every other recorded key (orphans, older keys). */
  otherKeys: RecordedKey[];
  frozen?: string;
  /** Each replica region's state, for replicated keys (`cli/replicas.ts`). */
  replicas?: ReplicaState[];
  /** The canary's last check of the current key (`keyrelay:canary`), when it ran: ISO time, verdict, what followed. */
  canary?: { checkedAt: string; verdict: CanaryVerdict; action?: AutoAction };
  /** The last automatic emergency (`keyrelay:last-auto-emergency`), when there was one. */
  lastAutoEmergency?: { at: string; trigger: AutoTrigger; keyId: string };
  attention: Attention[];
}

/** What on-call does about a canary verdict that needs a look; undefined when it needs none. */
function canaryAttention(secret: ManagedSecret): Attention | undefined {
  const note = secret.canary;
  if (!note || note.verdict === 'ok' || note.verdict === 'no-key') return undefined;
  const at = isoTime(note.at);
  if (note.verdict === 'rejected') {
    if (note.action === 'rotated' || note.action === 'revoked') return undefined; // healed on its own: the alarm told on-call
    return { code: 'canary', detail: `the canary found the current key dead at ${at} and it was NOT rotated (${note.action ?? 'no action'}): \`keyrelay rotate --emergency ${secret.name}\`` };
  }
  return {
    code: 'canary',
    detail: note.verdict === 'admin-rejected'
      ? `the canary could not judge the key at ${at}: the provider rejects the admin credential ('${secret.settings.adminSecret ?? '?'}'); fix it`
      : `the canary could not judge the key at ${at}: the provider was unavailable; check its status`,
  };
}

function recorded(r: ManagedSecret['records'][number]): RecordedKey {
  return { keyId: r.keyId, phase: r.phase, due: isoTime(r.due), versionId: r.versionId, reason: r.reason, by: r.by };
}

/**
 * The current key from finishSecret's note (no key value read), when the note still describes the AWSCURRENT version;
 * after a rollback or an import it does not, and only the version id is known.
 */
function notedCurrent(secret: ManagedSecret, versionId: string): CurrentKey {
  const note = secret.currentKey;
  return note?.versionId === versionId ? { versionId, keyId: note.keyId, fingerprint: note.fingerprint } : { versionId };
}

/** Judges one secret's state at `now` (pure): what to show and what needs attention. */
export function assessKey(secret: ManagedSecret, current: CurrentKey | undefined, now: number): KeyStatus {
  const holders = stageHolders(secret.versions);
  const attention: Attention[] = [];
  // AWSPENDING left on the AWSCURRENT version is a finished rotation (AWS accepts it), not a stuck one.
  const pending = holders.pending && holders.pending !== holders.current ? { versionId: holders.pending } : undefined;
  if (pending) {
    attention.push({ code: 'rotation-pending', detail: `AWSPENDING on version ${pending.versionId}: a rotation is running or stuck (cancel with \`keyrelay cancel ${secret.name}\`)` });
  }
  const previousRecord = holders.previous ? secret.records.find((r) => r.versionId === holders.previous) : undefined;
  for (const r of secret.records) {
    if (r.phase !== 'revoked' && r.due + DEADLINE_SLACK_MS < now) {
      attention.push({ code: 'past-deadline', detail: `key ${r.keyId} (${r.phase}) was due ${isoTime(r.due)} and is still alive` });
    }
  }
  // The same rule as the sweep's KeysOverdue alarm.
  const rotation = judgeRotation(secret, now);
  if (rotation.state === 'overdue') {
    const since = { 'next-rotation': 'was due', 'last-rotated': 'was due (last rotation + interval)', created: 'was due (creation + interval; never rotated)' }[rotation.basis];
    attention.push({ code: 'overdue', detail: `rotation overdue: ${since} ${isoTime(rotation.due)}, no success since` });
  }
  if (secret.frozen) attention.push({ code: 'frozen', detail: `rotation frozen: ${secret.frozen}` });
  const canary = canaryAttention(secret);
  if (canary) attention.push(canary);
  if (!secret.rotationEnabled) attention.push({ code: 'rotation-disabled', detail: 'rotation is not enabled on the secret (deploy the stack)' });
  if (!holders.current) {
    attention.push({ code: 'no-current-key', detail: `no AWSCURRENT version: rotate it (\`keyrelay rotate ${secret.name}\`) or \`keyrelay import ${secret.name}\`` });
  } else if (current?.error) {
    // Only with --fingerprints: a current value that does not parse is what apps read too.
    attention.push({ code: 'unreadable', detail: current.error });
  }
  return {
    name: secret.name,
    provider: secret.settings.provider,
    current: current ?? (holders.current ? notedCurrent(secret, holders.current) : undefined),
    lastRotated: secret.lastRotatedDate ? isoTime(secret.lastRotatedDate.getTime()) : undefined,
    nextRotation: secret.nextRotationDate ? isoTime(secret.nextRotationDate.getTime()) : undefined,
    pending,
    previous: holders.previous ? { versionId: holders.previous, record: previousRecord && recorded(previousRecord) } : undefined,
    otherKeys: secret.records.filter((r) => r !== previousRecord).map(recorded),
    frozen: secret.frozen,
    ...(secret.canary ? { canary: { checkedAt: isoTime(secret.canary.at), verdict: secret.canary.verdict, ...(secret.canary.action ? { action: secret.canary.action } : {}) } } : {}),
    ...(secret.lastAutoEmergency
      ? { lastAutoEmergency: { at: Number.isFinite(secret.lastAutoEmergency.at) ? isoTime(secret.lastAutoEmergency.at) : 'unreadable', trigger: secret.lastAutoEmergency.trigger, keyId: secret.lastAutoEmergency.keyId } }
      : {}),
    attention,
  };
}

/**
 * Adds a replicated key's replica states to its status, and one `replica-out-of-sync` attention per replica that does
 * not serve the primary's key (the revoker holds the old key's revocation meanwhile).
 */
export function withReplicas(status: KeyStatus, replicas: ReplicaState[] | undefined): KeyStatus {
  if (!replicas) return status;
  const lagging = replicas.filter((r) => !r.inSync).map((r): Attention => ({
    code: 'replica-out-of-sync',
    detail: `replica ${r.region} (${r.status}): ${r.problem ?? 'not in sync'}; the old key's revocation waits for it (runbook: "Replica out of sync")`,
  }));
  return { ...status, replicas, attention: [...status.attention, ...lagging] };
}
