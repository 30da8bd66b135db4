import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateScheduleCommand, DeleteScheduleCommand, GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRotatedDetail } from '../../../core/ports';
import { eventBridgePublisher } from '../../../lambda/runtime/events';
import { eventBridgeScheduler, revocationScheduleName } from '../../../lambda/runtime/scheduler';
import { LocalClock } from '../../../local/clock';
import { FunctionRegistry } from '../../../local/functions';
import { startProxy, type Proxy as EndpointProxy } from '../../../local/proxy';
import type { RotationService } from '../../../local/rotation-service';
import { LocalEvents, LocalScheduler } from '../../../local/scheduler';

// The Scheduler and EventBridge calls of the deployed code (lambda/runtime), through the real SDK, answered by the
// local endpoint's routes: schedules land in the LocalScheduler and fire the revoker on the local clock.
const START = Date.UTC(2030, 0, 1, 12);
const clock = new LocalClock({ speed: 0, start: START });
const functions = new FunctionRegistry('us-east-1', '123456789012');
const received: unknown[] = [];
functions.register('keyrelay-revoker', async (event) => {
  received.push(event);
  return { keys: [] };
});
const scheduler = new LocalScheduler({ clock, functions, revoker: 'keyrelay-revoker', reconcileEveryMs: 0 });
const events = new LocalEvents(clock);
let proxy: EndpointProxy;
let schedulerClient: SchedulerClient;
let eventsClient: EventBridgeClient;
const credentials = { accessKeyId: 'keyrelay-local-rotation', secretAccessKey: 'x' };
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:payments/api-AbCdEf';
const target = { revokerArn: functions.arn('keyrelay-revoker'), roleArn: 'arn:aws:iam::123456789012:role/scheduler', group: 'KeyRelay-revocations' };

beforeAll(async () => {
  // moto is never reached by these routes
  proxy = await startProxy({
    motoUrl: 'http://127.0.0.1:9',
    rotation: {} as RotationService,
    functions,
    scheduler,
    events,
    admin: async () => ({ status: 404, body: {} }),
  });
  schedulerClient = new SchedulerClient({ region: 'us-east-1', endpoint: proxy.url, credentials });
  eventsClient = new EventBridgeClient({ region: 'us-east-1', endpoint: proxy.url, credentials });
});
afterAll(async () => {
  schedulerClient.destroy();
  eventsClient.destroy();
  scheduler.stop();
  clock.stop();
  await proxy.stop();
});

describe('Scheduler API of the local endpoint', () => {
  it('takes the deployed revocation schedule, answers GetSchedule, and fires the revoker at its time', async () => {
    // Prepare
    const due = START + 3_600_000;
    const request = { secretArn: SECRET, secretName: 'payments/api', keyId: 'key_1', due };

    // Act
    await eventBridgeScheduler(schedulerClient, clock, target).scheduleRevocation(request);
    await eventBridgeScheduler(schedulerClient, clock, target).scheduleRevocation(request); // a retried finishSecret
    const name = revocationScheduleName(SECRET, 'key_1', due);
    const described = await schedulerClient.send(new GetScheduleCommand({ Name: name, GroupName: target.group }));
    const early = await clock.advance(3_600_000 - 1000);
    const ran = await clock.advance(1000);

    // Assess
    expect(described).toMatchObject({ Name: name, GroupName: target.group, ScheduleExpression: 'at(2030-01-01T13:00:00)', State: 'ENABLED' });
    expect(scheduler.revocations).toEqual([
      expect.objectContaining({ secretArn: SECRET, secretName: 'payments/api', keyId: 'key_1', due, status: 'fired', schedule: `${target.group}/${name}` }),
    ]);
    expect(early).toEqual([]);
    expect(ran.map((r) => r.label)).toEqual(['revokeDue payments/api key_1']);
    expect(received).toEqual([{ action: 'revokeDue', secretId: SECRET }]);
    // ActionAfterCompletion DELETE: gone once fired
    await expect(schedulerClient.send(new GetScheduleCommand({ Name: name, GroupName: target.group }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('deletes a schedule before it fires', async () => {
    // Prepare
    const due = clock.now() + 7_200_000;
    await eventBridgeScheduler(schedulerClient, clock, target).scheduleRevocation({ secretArn: SECRET, secretName: 'payments/api', keyId: 'key_2', due });
    const name = revocationScheduleName(SECRET, 'key_2', due);
    received.length = 0;

    // Act
    await schedulerClient.send(new DeleteScheduleCommand({ Name: name, GroupName: target.group }));
    const ran = await clock.advance(7_200_000);

    // Assess
    expect(ran).toEqual([]);
    expect(received).toEqual([]);
    expect(scheduler.revocations.at(-1)).toMatchObject({ keyId: 'key_2', status: 'deleted' });
  });

  it('refuses a schedule that is not a keyrelay revocation, naming what it runs, and a second one of the same name', async () => {
    // Prepare
    const create = (name: string, expression: string) =>
      schedulerClient.send(
        new CreateScheduleCommand({
          Name: name,
          ScheduleExpression: expression,
          FlexibleTimeWindow: { Mode: 'OFF' },
          Description: 'keyrelay: revoke key_9 of payments/api',
          Target: { Arn: target.revokerArn, RoleArn: target.roleArn, Input: JSON.stringify({ action: 'revokeDue', secretId: SECRET }) },
        }),
      );
    await create('once', 'at(2031-01-01T00:00:00)');

    // Act + Assess
    await expect(create('every', 'rate(5 minutes)')).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("keyrelay's revocation schedules only"),
    });
    await expect(create('once', 'at(2031-01-01T00:00:00)')).rejects.toMatchObject({ name: 'ConflictException' });
  });
});

describe('EventBridge PutEvents of the local endpoint', () => {
  it('records KeyRotated from the deployed publisher', async () => {
    // Prepare
    const detail: KeyRotatedDetail = { secretName: 'payments/api', secretArn: SECRET, versionId: 'v2', fingerprint: 'sha256:abc', previousVersionId: 'v1' };

    // Act
    await eventBridgePublisher(eventsClient, 'default').keyRotated(detail);

    // Assess
    expect(events.published).toEqual([{ time: clock.now(), detail }]);
  });
});
