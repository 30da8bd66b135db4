/**
 * Metric names keyrelay's functions emit (CloudWatch EMF via Powertools Metrics, namespace {@link METRIC_NAMESPACE},
 * dimension `service`=`keyrelay`) and the CDK alarms watch. One list, so alarms and code agree.
 */
export const METRIC_NAMESPACE = 'keyrelay';

export const METRICS = {
  /** A rotation step completed. */
  rotationStepSucceeded: 'RotationStepSucceeded',
  /** A rotation step threw (Secrets Manager will retry; the alarm fires on any). */
  rotationStepFailed: 'RotationStepFailed',
  /** finishSecret promoted a new key. */
  rotationSucceeded: 'RotationSucceeded',
  /** A provider key was deleted (or found already gone). */
  revocationSucceeded: 'RevocationSucceeded',
  /** A revocation gave up after retries: the key may still be alive. */
  revocationFailed: 'RevocationFailed',
  /** Keys whose revocation deadline has passed and which are still alive (gauge, from the sweep). */
  keysPastDeadline: 'KeysPastDeadline',
  /** Old keys whose revocation is held because they are still being used. */
  oldKeyInUse: 'OldKeyInUse',
  /** Held keys whose hold reached its hard cap (revoked anyway, or failed to be). */
  oldKeyInUsePastHold: 'OldKeyInUsePastHold',
  /** Largest time since any managed secret last rotated successfully, seconds (gauge, from the sweep). */
  secondsSinceLastRotation: 'SecondsSinceLastRotation',
  /**
   * Keys whose rotation is overdue by their own schedule (gauge, from the sweep; frozen keys excluded): see
   * `judgeRotation` in `core/overdue.ts`.
   */
  keysOverdue: 'KeysOverdue',
  /** Keys labelled for a secret that nothing referenced, revoked by the sweep. */
  orphansRevoked: 'OrphansRevoked',
  /** finishSecret rotated but could not arrange the old key's revocation (the sweep revokes it after its deadline). */
  revocationScheduleFailed: 'RevocationScheduleFailed',
  /**
   * A managed secret's `keyrelay:*` tags differ from the deployed manifest (a retag, or a forged secret wearing
   * keyrelay's tags): the manifest is obeyed, the tags never are. Alarmed.
   */
  settingsMismatch: 'SettingsMismatch',
  /** finishSecret rotated but could not publish `KeyRotated` (apps refresh on cache expiry instead). */
  eventPublishFailed: 'EventPublishFailed',
  /** A revocation was held because a replica of its secret does not serve the new key yet (`core/replicas.ts`). */
  replicaOutOfSync: 'ReplicaOutOfSync',
  /** How long a replica has not served its primary's `AWSCURRENT`, seconds (held revocations and the sweep). */
  replicaLagSeconds: 'ReplicaLagSeconds',
  /** Replicas whose replication failed, that are missing, or whose resource policy does not match (gauge, sweep). */
  replicationFailed: 'ReplicationFailed',
} as const;
