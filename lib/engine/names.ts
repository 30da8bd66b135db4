/**
 * The physical names of one engine's resources, all derived from its `namePrefix`. They are the one owner of these
 * names: the key policy, the scheduler role's trust, the functions' environment and the CLI's lookups are built from
 * the names rather than from references, which would make the key depend on what depends on the key.
 *
 * @example
 * const names = engineNames('KeyRelay');
 * names.revoker; // 'KeyRelay-revoker'
 */
export function engineNames(prefix: string) {
  return {
    prefix,
    rotation: `${prefix}-rotation`,
    /** Also the `keyrelay:revoker` tag value of every secret of this engine. */
    revoker: `${prefix}-revoker`,
    scheduleGroup: `${prefix}-revocations`,
    alias: `alias/${prefix}`,
    /** The deployment's key in each replica region (lib/replicas.ts): the replicas' `KmsKeyId`. */
    replicaAlias: `alias/${prefix}-replicas`,
    /** Forwards `KeyRotated` to the replica regions' event buses. */
    keyRotatedToReplicas: `${prefix}-key-rotated-to-replicas`,
    onCallPolicy: `${prefix}-oncall`,
    /** Alarm names are `<alarmPrefix>-<id>` (lib/monitoring.ts). */
    alarmPrefix: prefix,
    dashboard: prefix,
    /** EventBridge rules that deliver to the alarm topic or the dead-letter queue: the key policy lets only these use the key. */
    rules: {
      rotationFailed: `${prefix}-rotation-failed`,
      reconcile: `${prefix}-reconcile`,
      canary: `${prefix}-canary`,
      awsHealth: `${prefix}-aws-health`,
    },
  } as const;
}

/** The names {@link engineNames} derives. */
export type EngineNames = ReturnType<typeof engineNames>;
