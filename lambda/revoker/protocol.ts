import type { KeyPhase } from '../../core/state';

/**
 * The revoker's typed actions: what the scheduler, the reconcile sweep and the CLI send in a Lambda `Invoke`
 * payload (on AWS and through the local endpoint alike). The CLI never calls a provider itself.
 *
 * Failures are thrown (so the function's Errors metric and alarms fire); through `Invoke` they arrive as a
 * `FunctionError` whose payload is `{ errorType, errorMessage }`, where `errorType` is the error's `code`.
 */
export type RevokerRequest =
  /** Scheduler: act on every record of one secret whose time has come (revoke, hold, disable, delete). */
  | { action: 'revokeDue'; secretId: string }
  /** Sweep: `revokeDue` plus orphan detection, for one secret or every managed secret; emits gauges. */
  | { action: 'reconcile'; secretId?: string }
  /**
   * Canary schedule: verify the current key of every key due for a check (or of the one named, now) and start an
   * automatic emergency for a key found dead. The verdict is the provider's answer, never the payload's.
   */
  | { action: 'canary'; secretId?: string }
  /**
   * Revoke one key now (delete, no grace, no usage hold): by `keyId`, or the key `AWSPREVIOUS` references.
   * Refused for a key `AWSCURRENT` or `AWSPENDING` references.
   */
  | {
      action: 'revokeNow';
      secretId: string;
      keyId?: string;
      previous?: boolean;
      /** With `previous`: the key id the operator confirmed; refused (`KeyMoved`) when another key is previous now. */
      expectedKeyId?: string;
      /** With `previous`: the version the operator confirmed; refused (`KeyMoved`) when another version is previous now. */
      expectedVersionId?: string;
      reason: string;
      operator: string;
    }
  /** Emergency with no replacement: revoke the current key too. Causes downtime; needs `acceptDowntime: true`. */
  | {
      action: 'revokeWithoutReplacement';
      secretId: string;
      /** The key id the operator confirmed; refused (`KeyMoved`) when another key is current now. */
      expectedKeyId?: string;
      /** The version the operator confirmed; refused (`KeyMoved`) when another version is current now. */
      expectedVersionId?: string;
      reason: string;
      operator: string;
      acceptDowntime: true;
    }
  /** Abandon a failed rotation: remove `AWSPENDING` from the pending version and revoke its provider key. */
  | { action: 'cancel'; secretId: string; reason?: string; operator: string }
  /** Re-enable a disabled key during its observation window and push its deadline out. */
  | { action: 'restore'; secretId: string; keyId?: string; reason?: string; operator: string }
  /**
   * On-call: `AWSCURRENT` back to the `AWSPREVIOUS` version while its key is still valid (judged on the revoker's clock
   * and by the provider); the key it demotes gets a full grace period.
   */
  | { action: 'rollback'; secretId: string; reason?: string; operator: string }
  /** On-call: adopt a key an application already uses as the new `AWSCURRENT`, checked with the provider first. */
  | { action: 'import'; secretId: string; keyId: string; apiKey: string; reason?: string; operator: string }
  /** On-call: stop managing a key: abandon its rotation, revoke its recorded keys and, unless `handOver`, the current one. */
  | { action: 'retire'; secretId: string; handOver: boolean; reason?: string; operator: string }
  /** The provider's keys for a secret with their state, and the quota headroom. Changes nothing. */
  | { action: 'inspect'; secretId: string };

/** Action names. */
export type RevokerAction = RevokerRequest['action'];

/** What happened to one provider key. */
export interface KeyOutcome {
  secretName: string;
  keyId: string;
  /** `revoked`: deleted (or already gone); `disabled`: first phase done; `held`: still in use, waiting; `restored`; `kept`: nothing due. */
  outcome: 'revoked' | 'disabled' | 'held' | 'restored' | 'kept';
  /** Next due time for `disabled`/`held`/`kept`, ISO-8601. */
  nextDue?: string;
  detail?: string;
}

/** One provider key as `inspect` reports it. */
export interface InspectedKey {
  keyId: string;
  status: 'active' | 'disabled';
  /** Which staging labels reference it (`AWSCURRENT`, `AWSPENDING`, `AWSPREVIOUS`), if any. */
  stages: string[];
  /** Lifecycle record phase, when it has one. */
  phase?: KeyPhase;
  /** Due time of the record, ISO-8601. */
  due?: string;
  createdAt?: string;
  lastUsedAt?: string | null;
  /** Labelled for this secret but referenced by no version and not pending: revoked by the next sweep once due. */
  orphan: boolean;
}

/** Answer to every action. */
export interface RevokerResponse {
  /** The action, or `awsHealth` for an AWS Health event the rule delivered. */
  action: RevokerAction | 'awsHealth';
  /** Per-key outcomes (empty for `inspect`). */
  keys: KeyOutcome[];
  /** `inspect` only. */
  inspect?: {
    secretName: string;
    provider: string;
    keys: InspectedKey[];
    /** Keys this admin credential holds (all secrets) vs the provider's limit. */
    quota?: { used: number; limit: number };
    /** Why the next rotation would fail, when it would (quota full, admin credential rejected). */
    problems: string[];
  };
}
