import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS, METRIC_NAMESPACE } from '../core/metrics';
import { checkReconcileEvery, refuse } from './validation';
import { REPLICA_LAG_ALARM_SECONDS } from '../core/replicas';


/** Props of {@link KeyRelayMonitoring}. */
export interface KeyRelayMonitoringProps {
  readonly topic: sns.ITopic;
  readonly rotationFunction: lambda.IFunction;
  readonly revokerFunction: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  /** Sweep interval: the period of the gauge alarms. */
  readonly reconcileEvery: Duration;
  /** No successful rotation for this long means overdue. */
  readonly overdueAfter: Duration;
  /** @default - CloudFormation's generated name */
  readonly dashboardName?: string;
  /** Alarm names are `<prefix>-<alarm>`; `keyrelay status --alarm-prefix` finds firing ones by it. @default 'KeyRelay' */
  readonly alarmNamePrefix?: string;
  /** Some keys are replicated (`replicaRegions`): alarm on replication failure and on a replica out of sync. @default false */
  readonly replicas?: boolean;
}

/** One alarm's identity and the words on-call reads. */
interface AlarmSpec {
  id: string;
  metric: cw.IMetric;
  threshold: number;
  description: string;
  evaluationPeriods?: number;
  missing?: cw.TreatMissingData;
}

/**
 * keyrelay's alarms and dashboard. Secrets Manager publishes no rotation metric, so alarms come from the functions'
 * own EMF metrics (namespace `keyrelay`, dimension `service`=`keyrelay`), their Lambda `Errors`/`Throttles`, the
 * dead-letter queue, and the reconcile sweep's gauges; the EventBridge rule on Secrets Manager's own failure events
 * lives in the engine. Every alarm notifies the topic, and its description says what it means and what to do first.
 * The engine builds one (`engine.monitoring`); its `metric…()` methods give the same metrics for your own alarms.
 *
 * @example
 * new cloudwatch.Alarm(stack, 'AnyRevocationFailed', {
 *   metric: engine.monitoring.metricRevocationsFailed({ period: Duration.minutes(1) }),
 *   threshold: 1,
 *   evaluationPeriods: 1,
 * });
 */
export class KeyRelayMonitoring extends Construct {
  /** Every alarm, by id. */
  readonly alarms: Record<string, cw.Alarm> = {};
  readonly dashboard: cw.Dashboard;

  constructor(scope: Construct, id: string, props: KeyRelayMonitoringProps) {
    super(scope, id);
    // The sweep's gauges come once per sweep: their alarm period is the sweep's interval (refused below 5 minutes,
    // CloudWatch's period for EMF metrics, rather than quietly stretched).
    checkReconcileEvery(this, props.reconcileEvery);
    if (props.overdueAfter.toSeconds() <= 0) refuse(this, 'OverdueAfterNotPositive', `overdueAfter must be positive, got ${props.overdueAfter.toHumanString()}`);
    const sweep = props.reconcileEvery;
    const five = Duration.minutes(5);
    const specs: AlarmSpec[] = [
      {
        id: 'RotationStepFailed',
        metric: this.metricRotationStepsFailed(),
        threshold: 1,
        description:
          'A rotation step threw (Secrets Manager retries inside the window). First: `keyrelay status` to find the key, then the rotation function logs for the step and error code.',
      },
      {
        id: 'RevocationFailed',
        metric: this.metricRevocationsFailed(),
        threshold: 1,
        description:
          'A revocation gave up after retries: an old key may still be alive past its deadline. First: `keyrelay status` on the key, check the provider admin credential, then `keyrelay rotate --emergency` or revoke it by key id.',
      },
      {
        id: 'RevokerDeadLetters',
        metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: five, statistic: 'Maximum' }),
        threshold: 1,
        description:
          'A scheduled or periodic revoker invocation failed every retry and landed in the dead-letter queue: a revocation did not run. First: read the message (it names the secret), fix the cause in the revoker logs, then re-run it with `keyrelay status` and the next sweep.',
      },
      {
        id: 'KeysPastDeadline',
        metric: this.metricKeysPastDeadline({ period: sweep }),
        threshold: 1,
        evaluationPeriods: 2,
        description:
          'Keys are still alive after their revocation deadline (two sweeps in a row). First: `keyrelay status` lists them; check the revoker logs and the dead-letter queue, then revoke by key id.',
      },
      {
        id: 'OldKeyInUse',
        metric: this.metricOldKeysInUse({ period: sweep }),
        threshold: 1,
        description:
          'An old key is still being used after its grace period, so its revocation is held: an application has not picked up the new key. First: `keyrelay status` names the key; find the app (provider last-use data) and restart or fix its refresh.',
      },
      {
        id: 'OldKeyInUsePastHold',
        metric: this.metric(METRICS.oldKeyInUsePastHold, 'Sum', sweep),
        threshold: 1,
        description:
          'An old key was still in use when its usage hold reached its cap, so it was revoked anyway (or failed to be): some application is probably failing now. First: check apps reading that key, then `keyrelay restore` during the observation window if it broke one.',
      },
      {
        id: 'KeysOverdue',
        metric: this.metricKeysOverdue({ period: sweep }),
        threshold: 1,
        description:
          'A key\'s rotation is overdue by its own schedule (its due time plus a one-day window plus one day of slack passed with no successful rotation; frozen keys excluded): rotation silently stopped for it. First: the revoker log line "rotation overdue" (or `keyrelay status`) names the key; check rotation is enabled on it, then the rotation function logs and Secrets Manager\'s RotationFailed events for it.',
      },
      {
        id: 'RotationOverdue',
        metric: this.metricSecondsSinceLastRotation({ period: sweep }),
        threshold: props.overdueAfter.toSeconds(),
        evaluationPeriods: 3,
        // No data means the sweep is not running: that silence must alarm too.
        missing: cw.TreatMissingData.BREACHING,
        description: `The reconcile sweep stopped reporting (no data: KeysOverdue is blind then too), or no key rotated for longer than the longest schedule plus slack (${props.overdueAfter.toHumanString()}). First: the revoker's Errors and logs (the sweep), and its schedule; then \`keyrelay status\` for keys whose last rotation is old.`,
      },
      {
        id: 'SettingsMismatch',
        metric: this.metricSettingsMismatches(),
        threshold: 1,
        description:
          "A secret's keyrelay tags disagree with the deployed manifest, or an undeclared secret wears keyrelay's tags: someone rewrote keyrelay tags or forged a secret. The functions ignored the tags (they act only on the manifest). First: the functions' error log line (settings tags differ from the deployed manifest / a secret wears keyrelay's tags but this deployment does not declare it) names the secret; find who tagged or created it in CloudTrail (TagResource, UntagResource, CreateSecret), then redeploy to restore the tags, or delete the forged secret.",
      },
      ...(props.replicas ? this.replicaAlarms(sweep) : []),
      ...this.leakResponseAlarms(five),
      ...this.functionAlarms('Rotation', props.rotationFunction),
      ...this.functionAlarms('Revoker', props.revokerFunction),
    ];
    const action = new cwActions.SnsAction(props.topic);
    for (const spec of specs) {
      const alarm = new cw.Alarm(this, spec.id, {
        alarmName: `${props.alarmNamePrefix ?? 'KeyRelay'}-${spec.id}`,
        alarmDescription: spec.description,
        metric: spec.metric,
        threshold: spec.threshold,
        evaluationPeriods: spec.evaluationPeriods ?? 1,
        datapointsToAlarm: spec.evaluationPeriods ?? 1,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: spec.missing ?? cw.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      this.alarms[spec.id] = alarm;
    }

    this.dashboard = new cw.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      widgets: [
        [
          new cw.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 4 }),
        ],
        [
          this.graph('Rotations', [METRICS.rotationSucceeded, METRICS.rotationStepFailed], 'Sum'),
          this.graph('Revocations', [METRICS.revocationSucceeded, METRICS.revocationFailed, METRICS.orphansRevoked], 'Sum'),
        ],
        [
          this.graph('Keys past deadline; keys overdue', [METRICS.keysPastDeadline, METRICS.keysOverdue], 'Maximum'),
          this.graph('Old keys in use', [METRICS.oldKeyInUse, METRICS.oldKeyInUsePastHold], 'Maximum'),
        ],
        [
          this.graph('Seconds since last rotation (oldest key)', [METRICS.secondsSinceLastRotation], 'Maximum'),
          new cw.GraphWidget({
            title: 'Functions: errors and throttles; dead letters',
            width: 12,
            left: [props.rotationFunction, props.revokerFunction].flatMap((f) => [f.metricErrors(), f.metricThrottles()]),
            right: [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible()],
          }),
        ],
        [this.graph('Leak response', [METRICS.canaryKeyRejected, METRICS.healthKeyExposed, METRICS.autoEmergencyDone, METRICS.autoEmergencyHeld], 'Sum')],
      ],
    });
  }

  /** A keyrelay metric (EMF, dimension `service`=`keyrelay`). */
  metric(name: string, statistic: string, period: Duration = Duration.minutes(5)): cw.Metric {
    return new cw.Metric({ namespace: METRIC_NAMESPACE, metricName: name, dimensionsMap: { service: 'keyrelay' }, statistic, period });
  }

  /** Rotations that promoted a new key. Sum over 5 minutes. */
  metricRotationsSucceeded(options?: cw.MetricOptions): cw.Metric {
    return this.metric(METRICS.rotationSucceeded, 'Sum').with(options ?? {});
  }

  /** Rotation steps that threw (Secrets Manager retries the rotation). Sum over 5 minutes. */
  metricRotationStepsFailed(options?: cw.MetricOptions): cw.Metric {
    return this.metric(METRICS.rotationStepFailed, 'Sum').with(options ?? {});
  }

  /** Provider keys revoked (or found already gone). Sum over 5 minutes. */
  metricRevocationsSucceeded(options?: cw.MetricOptions): cw.Metric {
    return this.metric(METRICS.revocationSucceeded, 'Sum').with(options ?? {});
  }

  /** Revocations that gave up after retries: those keys may still be alive. Sum over 5 minutes. */
  metricRevocationsFailed(options?: cw.MetricOptions): cw.Metric {
    return this.metric(METRICS.revocationFailed, 'Sum').with(options ?? {});
  }

  /** Keys still alive after their revocation deadline (the sweep's gauge). Maximum over 5 minutes. */
  metricKeysPastDeadline(options?: cw.MetricOptions): cw.Metric {
    return this.metric(METRICS.keysPastDeadline, 'Maximum').with(options ?? {});
  }

  /** Old keys still in use after their grace period, their revocation held (the sweep's gauge). Maximum over 5 minutes. */
  metricOldKeysInUse(options?: cw.MetricOptions): cw.Metric {
    return this.metric(METRICS.oldKeyInUse, 'Maximum').with(options ?? {});
  }

  /** Keys whose rotation is overdue by their own schedule (the sweep's gauge). Maximum over 5 minutes. */
  metricKeysOverdue(options?: cw.MetricOptions): cw.Metric {
    return this.metric(METRICS.keysOverdue, 'Maximum').with(options ?? {});
  }

  /** Seconds since the least recently rotated key last rotated (the sweep's gauge). Maximum over 5 minutes. */
  metricSecondsSinceLastRotation(options?: cw.MetricOptions): cw.Metric {
    return this.metric(METRICS.secondsSinceLastRotation, 'Maximum').with(options ?? {});
  }

  /** Secrets whose keyrelay tags differ from the deployed manifest (a retag or a forged secret). Sum over 5 minutes. */
  metricSettingsMismatches(options?: cw.MetricOptions): cw.Metric {
    return this.metric(METRICS.settingsMismatch, 'Sum').with(options ?? {});
  }

  private graph(title: string, names: string[], statistic: string): cw.GraphWidget {
    return new cw.GraphWidget({ title, width: 12, left: names.map((n) => this.metric(n, statistic)) });
  }

  /** docs/replicas.md, "Alarms". */
  private replicaAlarms(sweep: Duration): AlarmSpec[] {
    return [
      {
        id: 'ReplicationFailed',
        metric: this.metric(METRICS.replicationFailed, 'Maximum', sweep),
        threshold: 1,
        description:
          "A replica of a replicated key failed to replicate, is missing, or its resource policy does not cover it: apps in that region may read a stale key or be refused, and the key's old versions are not revoked meanwhile. First: the revoker log line 'replica not replicated' or 'replica resource policy' names the secret and region; then the replica's status message in Secrets Manager (runbook: Replication failed).",
      },
      {
        id: 'ReplicaOutOfSync',
        metric: this.metric(METRICS.replicaLagSeconds, 'Maximum', Duration.minutes(5)),
        threshold: REPLICA_LAG_ALARM_SECONDS,
        description: `A replica has not served its primary's key for ${REPLICA_LAG_ALARM_SECONDS / 60} minutes: old keys' revocations are held for it (they keep working). First: \`keyrelay status\` shows the region (replica-out-of-sync); check that replica and its key alias/<prefix>-replicas (runbook: A replica is out of sync).`,
      },
    ];
  }

  /**
   * The leak response's alarms (docs/revocation.md, "Leak response"): each says why keyrelay acted on its own, or why
   * it did not. The revoker's log line named in each description carries the key, the trigger and the next step.
   */
  private leakResponseAlarms(period: Duration): AlarmSpec[] {
    const alarm = (id: string, name: string, description: string): AlarmSpec => ({ id, metric: this.metric(name, 'Sum', period), threshold: 1, description });
    return [
      alarm('CanaryKeyDead', METRICS.canaryKeyRejected, 'The canary found a current key rejected by its provider while the admin credential still works: the key is dead (revoked by the provider, e.g. after a secret-scanning report). keyrelay rotated it and revoked the dead key on its own, unless AutoEmergencyHeld fires too. First: the revoker audit line "automaticEmergency" (trigger canary) names the key; find out why the provider revoked it (a leak?).'),
      alarm('AwsHealthKeyExposed', METRICS.healthKeyExposed, 'AWS Health reported one of keyrelay\'s IAM access keys exposed in public (AWS_RISK_CREDENTIALS_EXPOSED). keyrelay rotated it and deleted the exposed key on its own, unless AutoEmergencyHeld fires too. First: the revoker audit line "automaticEmergency" (trigger aws-health) names the key; then CloudTrail for what the exposed key did.'),
      alarm('AwsHealthKeyUnmanaged', METRICS.healthKeyUnmanaged, 'AWS Health reported an IAM access key exposed in public that keyrelay does not manage: nothing was done. First: the revoker log line "an exposed access key that keyrelay does not manage" names it; rotate and delete it by hand.'),
      alarm('CanaryInconclusive', METRICS.canaryInconclusive, 'The canary could not judge a key: the provider was unavailable, or it rejected the admin credential too. Nothing was rotated. First: the revoker log line "canary inconclusive" names the key and says which; check the provider\'s status or fix the admin credential secret.'),
      alarm('AutoEmergencyHeld', METRICS.autoEmergencyHeld, 'A key is dead or exposed but keyrelay did NOT rotate it on its own: automatic emergencies are off for it, it is frozen, it already had one this hour, a rotation is running, or its provider\'s breaker is open. First: the revoker log line "automatic emergency held" names the key and why; then `keyrelay rotate --emergency NAME`.'),
      alarm('AutoEmergencyFailed', METRICS.autoEmergencyFailed, 'An automatic emergency started but did not finish: the dead or exposed key may still be current or alive. First: the revoker log line "automatic emergency failed" names the key and the next step; `keyrelay status NAME`.'),
      alarm('CanaryBreakerOpen', METRICS.canaryBreakerOpen, 'Many keys of one provider were found dead at once: that is the provider, not the keys, so none of them was rotated on its own. First: the revoker log line "circuit breaker open" names the provider and the keys; check the provider\'s status and admin credential, then rotate the keys that are really dead with `keyrelay rotate --emergency NAME`.'),
      alarm('UntrustedEvent', METRICS.untrustedEvent, 'Someone invoked the revoker directly with an AWS-event-shaped payload (only the AWS Health rule may deliver one, through the revoker\'s aws-events alias): it was refused and nothing was done. First: CloudTrail (lambda Invoke on the revoker) for who sent it.'),
    ];
  }

  private functionAlarms(name: string, fn: lambda.IFunction): AlarmSpec[] {
    const five = Duration.minutes(5);
    return [
      {
        id: `${name}Errors`,
        metric: fn.metricErrors({ period: five, statistic: 'Sum' }),
        threshold: 1,
        description: `The ${name.toLowerCase()} function failed (an exception, a timeout or a crash). First: its log group for the error; timeouts usually mean no network path to the provider or Secrets Manager.`,
      },
      {
        id: `${name}Throttles`,
        metric: fn.metricThrottles({ period: five, statistic: 'Sum' }),
        threshold: 1,
        description: `Lambda throttled the ${name.toLowerCase()} function: invocations were refused. First: check the account's concurrency limit and the function's reserved concurrency.`,
      },
    ];
  }
}
