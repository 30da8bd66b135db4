import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { EVENTS, type KeyRotatedDetail } from '../core/ports';
import { AwsServiceError } from './rotation-service';
import type { CreateScheduleInput, LocalEvents, LocalScheduler } from './scheduler';

/**
 * The wire of EventBridge Scheduler (REST JSON, `/schedules/{Name}`) and EventBridge `PutEvents` (JSON 1.1) as the
 * local endpoint answers them for keyrelay's functions run from their bundles: schedules land in the
 * {@link LocalScheduler} (they fire on the local clock), `KeyRotated` events in {@link LocalEvents}. The proxy
 * routes here; everything else of both services goes on to moto.
 */

/** An answer for the proxy to send. */
export interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

const SCHEDULE_PATH = /^\/schedules\/([^/]+)$/;

/** The service a SigV4-signed request names in its credential scope (`.../<region>/<service>/aws4_request`). */
export function signingService(headers: IncomingHttpHeaders): string | undefined {
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(String(headers.authorization ?? ''))?.[1];
}

/** Whether the request is a Scheduler schedule call the local scheduler answers. */
export function isScheduleCall(method: string, path: string, headers: IncomingHttpHeaders): boolean {
  return ['POST', 'GET', 'DELETE'].includes(method) && SCHEDULE_PATH.test(path) && signingService(headers) === 'scheduler';
}

/** Answers `CreateSchedule` (POST), `GetSchedule` (GET), `DeleteSchedule` (DELETE) at `/schedules/{Name}`. */
export function answerSchedule(scheduler: LocalScheduler, method: string, url: URL, body: Buffer): Answer {
  const name = decodeURIComponent(SCHEDULE_PATH.exec(url.pathname)?.[1] ?? '');
  const group = url.searchParams.get('groupName') ?? undefined;
  try {
    switch (method) {
      case 'POST': {
        const input = (body.length > 0 ? JSON.parse(body.toString('utf8')) : {}) as Omit<CreateScheduleInput, 'Name'>;
        return json(200, scheduler.createSchedule({ ...input, Name: name }));
      }
      case 'GET':
        return json(200, scheduler.getSchedule(name, group));
      default:
        scheduler.deleteSchedule(name, group);
        return json(200, {});
    }
  } catch (err) {
    const e = err instanceof AwsServiceError ? err : new AwsServiceError('ValidationException', `request body is not JSON: ${String(err)}`);
    return { status: e.status, body: { Message: e.message }, headers: { 'content-type': 'application/json', 'x-amzn-errortype': e.type } };
  }
}

/**
 * Answers `PutEvents` when every entry is keyrelay's `KeyRotated` (recorded in {@link LocalEvents}); undefined for
 * any other batch (the proxy sends it on to moto).
 */
export async function answerPutEvents(events: LocalEvents, body: Buffer): Promise<Answer | undefined> {
  const input = JSON.parse(body.toString('utf8')) as { Entries?: Array<{ Source?: string; DetailType?: string; Detail?: string }> };
  const entries = input.Entries ?? [];
  if (entries.length === 0 || !entries.every((e) => e.Source === EVENTS.source && e.DetailType === EVENTS.keyRotated)) return undefined;
  for (const entry of entries) await events.keyRotated(JSON.parse(entry.Detail ?? '{}') as KeyRotatedDetail);
  return {
    status: 200,
    body: { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) },
    headers: { 'content-type': 'application/x-amz-json-1.1' },
  };
}

function json(status: number, body: unknown): Answer {
  return { status, body, headers: { 'content-type': 'application/json' } };
}
