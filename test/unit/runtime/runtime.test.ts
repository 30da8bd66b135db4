import { PutEventsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ConflictException, CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../core/errors';
import { settingsToTags, managedSecretFrom } from '../../../core/state';
import type { ProviderContext } from '../../../lambda/providers/types';
import { ProviderCache, providerForSecret } from '../../../lambda/runtime';
import { eventBridgePublisher, EventPublishError } from '../../../lambda/runtime/events';
import { eventBridgeScheduler, revocationScheduleName, schedulerTargetFromEnv } from '../../../lambda/runtime/scheduler';
import { FakeClock } from '../../support/fake-clock';
import { FakeProvider } from '../../support/fake-provider';
import { FakeSecretsManager } from '../../support/fake-secrets-manager';
import { secretValue } from '../../support/leak-guard';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/stripe-AbCdEf';
const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

describe('Function: revocationScheduleName', () => {
  it.each([
    ['a short name', ARN, 'fk-1'],
    ['a 256-character name', `arn:aws:secretsmanager:eu-west-1:1:secret:${'a/'.repeat(128)}-x`, 'AKIA'.repeat(30)],
    ['odd characters', 'arn:aws:secretsmanager:eu-west-1:1:secret:a+b=c@d/e f-x', 'key id/with:colons'],
  ])('stays within 64 characters of [0-9A-Za-z-_.] for %s', (_case, arn, keyId) => {
    // Act
    const name = revocationScheduleName(arn, keyId, NOW);

    // Assess
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^[0-9A-Za-z_.-]+$/);
  });

  it('is the same for the same secret, key and due time, and differs otherwise', () => {
    // Act + Assess
    expect(revocationScheduleName(ARN, 'fk-1', NOW)).toBe(revocationScheduleName(ARN, 'fk-1', NOW));
    expect(revocationScheduleName(ARN, 'fk-1', NOW)).not.toBe(revocationScheduleName(ARN, 'fk-2', NOW));
    expect(revocationScheduleName(ARN, 'fk-1', NOW)).not.toBe(revocationScheduleName(`${ARN}x`, 'fk-1', NOW));
    // The revoker re-arming a key for later (usage hold, two-phase delete) must not collide with the first schedule.
    expect(revocationScheduleName(ARN, 'fk-1', NOW)).not.toBe(revocationScheduleName(ARN, 'fk-1', NOW + 3_600_000));
  });
});

describe('Function: eventBridgeScheduler', () => {
  const target = { revokerArn: 'arn:aws:lambda:eu-west-1:1:function:revoker', roleArn: 'arn:aws:iam::1:role/sched', dlqArn: 'arn:aws:sqs:eu-west-1:1:dlq' };

  it('creates a one-time, self-deleting schedule that invokes revokeDue at the deadline', async () => {
    // Prepare
    const client = new SchedulerClient({ region: 'eu-west-1' });
    const mock = mockClient(client);
    mock.on(CreateScheduleCommand).resolves({});
    const scheduler = eventBridgeScheduler(client, new FakeClock(NOW), target);

    // Act
    await scheduler.scheduleRevocation({ secretArn: ARN, secretName: 'payments/stripe', keyId: 'fk-1', due: NOW + 86_400_000 + 1 });

    // Assess
    expect(mock).toHaveReceivedCommandExactlyOnceWith(CreateScheduleCommand, {
      Name: revocationScheduleName(ARN, 'fk-1', NOW + 86_400_000 + 1),
      GroupName: 'default',
      ScheduleExpression: 'at(2026-11-23T10:00:01)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: target.revokerArn,
        RoleArn: target.roleArn,
        Input: JSON.stringify({ action: 'revokeDue', secretId: ARN }),
        DeadLetterConfig: { Arn: target.dlqArn },
      },
    });
  });

  it('arranges a deadline already past a minute from now', async () => {
    // Prepare
    const client = new SchedulerClient({ region: 'eu-west-1' });
    const mock = mockClient(client);
    const scheduler = eventBridgeScheduler(client, new FakeClock(NOW), target);

    // Act
    await scheduler.scheduleRevocation({ secretArn: ARN, secretName: 'payments/stripe', keyId: 'fk-1', due: NOW - 5_000 });

    // Assess
    expect(mock).toHaveReceivedCommandWith(CreateScheduleCommand, { ScheduleExpression: 'at(2026-11-22T10:01:00)' });
  });

  it('treats ConflictException as already arranged', async () => {
    // Prepare
    const client = new SchedulerClient({ region: 'eu-west-1' });
    mockClient(client).on(CreateScheduleCommand).rejects(new ConflictException({ message: 'exists', Message: 'exists', $metadata: {} }));
    const scheduler = eventBridgeScheduler(client, new FakeClock(NOW), target);

    // Act
    const result = scheduler.scheduleRevocation({ secretArn: ARN, secretName: 's', keyId: 'fk-1', due: NOW + 1000 });

    // Assess
    await expect(result).resolves.toBeUndefined();
  });

  it('throws a ConfigError naming the variables when the revoker is not configured', async () => {
    // Prepare
    const client = new SchedulerClient({ region: 'eu-west-1' });
    const mock = mockClient(client);
    const scheduler = eventBridgeScheduler(client, new FakeClock(NOW), schedulerTargetFromEnv({}));

    // Act
    const result = scheduler.scheduleRevocation({ secretArn: ARN, secretName: 's', keyId: 'fk-1', due: NOW + 1000 });

    // Assess
    await expect(result).rejects.toThrow(ConfigError);
    await expect(result).rejects.toThrow(/KEYRELAY_REVOKER_ARN and KEYRELAY_SCHEDULER_ROLE_ARN must be set/);
    expect(mock).toHaveReceivedCommandTimes(CreateScheduleCommand, 0);
  });
});

describe('Function: eventBridgePublisher', () => {
  const detail = { secretName: 'payments/stripe', secretArn: ARN, versionId: 'v2', fingerprint: 'sha256:0123456789ab' };

  it('puts one KeyRotated event from source keyrelay on the bus', async () => {
    // Prepare
    const client = new EventBridgeClient({ region: 'eu-west-1' });
    const mock = mockClient(client);
    mock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });

    // Act
    await eventBridgePublisher(client, 'apps').keyRotated(detail);

    // Assess
    expect(mock).toHaveReceivedCommandExactlyOnceWith(PutEventsCommand, {
      Entries: [{ Source: 'keyrelay', DetailType: 'KeyRotated', Detail: JSON.stringify(detail), EventBusName: 'apps', Resources: [ARN] }],
    });
  });

  it('throws when EventBridge refuses the entry', async () => {
    // Prepare
    const client = new EventBridgeClient({ region: 'eu-west-1' });
    mockClient(client)
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'not allowed' }] });

    // Act
    const result = eventBridgePublisher(client).keyRotated(detail);

    // Assess
    await expect(result).rejects.toThrow(EventPublishError);
    await expect(result).rejects.toThrow("bus 'default' refused KeyRotated for 'payments/stripe': AccessDeniedException not allowed");
  });
});

describe('Function: providerForSecret', () => {
  function managed(adminSecret: string | undefined, providerSettings: Record<string, string> = {}) {
    return managedSecretFrom({
      ARN,
      Name: 'payments/stripe',
      Tags: settingsToTags({ provider: 'fake', providerSettings, gracePeriod: 60, adminSecret }),
      $metadata: {},
    });
  }

  it('reads the admin credential lazily, at AWSCURRENT, and reuses the adapter', async () => {
    // Prepare
    const sm = new FakeSecretsManager();
    const credential = secretValue(`{"adminKey":"admin-${Math.random().toString(36).slice(2)}"}`);
    sm.addSecret('keyrelay/admin/fake', { value: credential });
    const clock = new FakeClock(NOW);
    const contexts: ProviderContext[] = [];
    const create = vi.fn((_type: string, context: ProviderContext) => {
      contexts.push(context);
      return new FakeProvider(clock);
    });
    const cache = new ProviderCache();

    // Act
    const first = await providerForSecret(managed('keyrelay/admin/fake'), sm.client, clock, cache, create);
    const again = await providerForSecret(managed('keyrelay/admin/fake'), sm.client, clock, cache, create);
    const readBefore = sm.mock.commandCalls(GetSecretValueCommand).length;
    const read = await contexts[0]?.adminCredential();

    // Assess
    expect(again).toBe(first);
    expect(create).toHaveBeenCalledTimes(1);
    expect(readBefore).toBe(0);
    expect(read).toBe(credential);
    expect(sm.mock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'keyrelay/admin/fake', VersionStage: 'AWSCURRENT' });
  });

  it('builds a new adapter once the cached one has expired, or for other settings', async () => {
    // Prepare
    const sm = new FakeSecretsManager();
    const clock = new FakeClock(NOW);
    const create = vi.fn(() => new FakeProvider(clock));
    const cache = new ProviderCache(1000);

    // Act
    await providerForSecret(managed('a'), sm.client, clock, cache, create);
    await providerForSecret(managed('a', { region: 'eu' }), sm.client, clock, cache, create);
    await clock.advance(1000);
    await providerForSecret(managed('a'), sm.client, clock, cache, create);

    // Assess
    expect(create).toHaveBeenCalledTimes(3);
  });

  it('throws a ConfigError naming the tag when the adapter needs a credential and none is configured', async () => {
    // Prepare
    const sm = new FakeSecretsManager();
    const clock = new FakeClock(NOW);
    let context: ProviderContext | undefined;
    const create = (_type: string, c: ProviderContext) => ((context = c), new FakeProvider(clock));
    await providerForSecret(managed(undefined), sm.client, clock, new ProviderCache(), create);

    // Act
    const result = context?.adminCredential();

    // Assess
    await expect(result).rejects.toThrow(ConfigError);
    await expect(result).rejects.toThrow(/tag 'keyrelay:admin-secret' is missing/);
  });
});
