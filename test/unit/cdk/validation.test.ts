import { App, Duration, Errors, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { KeyRelayEngine, type KeyRelayEngineProps } from '../../../lib/engine';
import { KeyRelayMonitoring } from '../../../lib/monitoring';

/** What building an engine with `props` throws (the engine itself builds nothing before it validates). */
function engineError(props: KeyRelayEngineProps): unknown {
  try {
    new KeyRelayEngine(new Stack(new App(), 'S'), 'Engine', props);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('Class: KeyRelayEngine (validation)', () => {
  it.each<[string, KeyRelayEngineProps, RegExp]>([
    ['a reconcile sweep more often than every 5 minutes', { reconcileEvery: Duration.minutes(1) }, /reconcileEvery must be whole minutes from 5 minutes to 1 day, got 1 minute/],
    ['a reconcile sweep less often than daily', { reconcileEvery: Duration.days(2) }, /got 2 days/],
    ['a name prefix no stack name can start with', { namePrefix: '1-bad' }, /namePrefix must be .*got '1-bad'/],
    ['a rotation timeout above Lambda\'s 15 minutes', { rotationTimeout: Duration.minutes(20) }, /rotationTimeout must be from 1 to 15 minutes, got 20 minutes/],
    ['a revoker timeout within the sweep\'s reserve', { revokerTimeout: Duration.minutes(1) }, /revokerTimeout must be more than 1/],
    ['a memory size Lambda refuses', { memorySize: 64 }, /memorySize must be .* got 64/],
    ['a reserved concurrency of 0 (the function would never run)', { reservedConcurrency: 0 }, /reservedConcurrency must be .* got 0/],
  ])('refuses %s with a ValidationError naming the construct', (_what, props, message) => {
    // Act
    const err = engineError(props);
    // Assess
    expect(Errors.isValidationError(err)).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect((err as Error & { constructPath?: string }).constructPath).toBe('S/Engine');
  });
});

describe('Class: KeyRelayMonitoring (validation)', () => {
  it('refuses a sweep interval below 5 minutes instead of stretching its alarm period', () => {
    // Prepare
    const stack = new Stack(new App(), 'S');
    const fn = lambda.Function.fromFunctionName(stack, 'Fn', 'f');
    const props = {
      topic: new sns.Topic(stack, 'T'),
      rotationFunction: fn,
      revokerFunction: fn,
      deadLetterQueue: new sqs.Queue(stack, 'Q'),
      reconcileEvery: Duration.minutes(1),
      overdueAfter: Duration.days(2),
    };
    // Act
    const act = () => new KeyRelayMonitoring(stack, 'Monitoring', props);
    // Assess
    expect(act).toThrow(/reconcileEvery must be whole minutes from 5 minutes to 1 day, got 1 minute/);
  });

  it('offers typed metrics with their statistic and period, which options override', () => {
    // Prepare
    const stack = new Stack(new App(), 'S');
    const fn = lambda.Function.fromFunctionName(stack, 'Fn', 'f');
    const monitoring = new KeyRelayMonitoring(stack, 'Monitoring', {
      topic: new sns.Topic(stack, 'T'),
      rotationFunction: fn,
      revokerFunction: fn,
      deadLetterQueue: new sqs.Queue(stack, 'Q'),
      reconcileEvery: Duration.hours(1),
      overdueAfter: Duration.days(2),
    });
    // Act
    const failed = monitoring.metricRevocationsFailed();
    const pastDeadline = monitoring.metricKeysPastDeadline({ period: Duration.hours(1) });
    // Assess
    expect(failed).toMatchObject({ metricName: 'RevocationFailed', namespace: 'keyrelay', statistic: 'Sum', dimensions: { service: 'keyrelay' } });
    expect(failed.period.toMinutes()).toBe(5);
    expect(pastDeadline).toMatchObject({ metricName: 'KeysPastDeadline', statistic: 'Maximum' });
    expect(pastDeadline.period.toHours()).toBe(1);
  });
});
