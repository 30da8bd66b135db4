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
  /** The canary found a current key rejected while the admin credential worked: the key is dead (an emergency follows). */
  canaryKeyRejected: 'CanaryKeyRejected',
  /** The canary could not judge a key: provider unavailable, or the admin credential rejected too. Nothing rotated. */
  canaryInconclusive: 'CanaryInconclusive',
  /** AWS Health reported one of keyrelay's access keys exposed (an emergency follows). */
  healthKeyExposed: 'HealthKeyExposed',
  /** AWS Health reported an access key exposed that keyrelay does not manage: reported only. */
  healthKeyUnmanaged: 'HealthKeyUnmanaged',
  /** An automatic emergency ran: the dead or exposed key was replaced and revoked. */
  autoEmergencyDone: 'AutoEmergencyDone',
  /** An automatic emergency was due but not started (turned off, frozen, the hourly limit, the breaker, a rotation running). */
  autoEmergencyHeld: 'AutoEmergencyHeld',
  /** An automatic emergency started but did not finish (rotation failed, or the old key could not be revoked). */
  autoEmergencyFailed: 'AutoEmergencyFailed',
  /** Many keys of one provider were found dead at once: automatic emergencies for that provider are frozen. */
  canaryBreakerOpen: 'CanaryBreakerOpen',
  /** An invocation claimed to be an AWS event but did not come through the rule's alias: refused. */
  untrustedEvent: 'UntrustedEvent',
} as const;
