import { Readable } from 'node:stream';
import { Context } from '../../cli/context';
import { runEmergency } from '../../cli/commands/emergency';
import type { CliIo } from '../../cli/io';
import { systemClock } from '../../core/clock';
import { describeError } from '../../core/errors';
import { fingerprint } from '../../core/secret-value';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalStack } from '../stack';
import { RawCaller } from './fleet';
import type { DemoRun } from './state';
import type { Timeline } from './timeline';

const DAY = 86_400_000;
/** When, in the story, the leaked key's emergency rotation runs. */
export const EMERGENCY_AT = 9.5 * DAY;
/** Real ms the emergency window stays open after the old key is revoked: apps holding it get their one failure. */
const EMERGENCY_TAIL_MS = 1000;

/**
 * Act: a key leaks. An attacker calls with it from the start; at {@link EMERGENCY_AT} the on-call runs
 * `keyrelay rotate --emergency` (the CLI's code path) and the act measures when the leaked key is refused.
 */
export function armEmergency(run: DemoRun, s: LocalStack, name: string, leakedValue: string): void {
  const leakedFp = fingerprint(leakedValue);
  run.attacker = new RawCaller(s.providerUrl, leakedValue, 5);
  s.clock.at(
    run.timeline.start + EMERGENCY_AT,
    () => {
      if (run.stopping) return; // the run ended first: no half-done emergency
      run.emergency.run = emergency(run, s, name, leakedFp);
    },
    'demo: emergency rotation',
  );
}

async function emergency(run: DemoRun, s: LocalStack, name: string, leakedFp: string): Promise<void> {
  const { emit, timeline } = run;
  run.emergency.open = true;
  const begun = performance.now();
  const window: NonNullable<Timeline['emergency']> = { secretName: name, start: s.clock.now() };
  timeline.emergency = window;
  emit('emergency', `${name}: key ${leakedFp} leaked: keyrelay rotate --emergency ${name} (the CLI's code path)`, name);
  run.attacker?.start((status) => {
    run.emergency.refusedAfterMs = Math.round(performance.now() - begun);
    emit('leak-refused', `${name}: the leaked key ${leakedFp} is refused (HTTP ${status}) ${run.emergency.refusedAfterMs} ms after the emergency began`, name);
  });
  const ctx = new Context(cliIo((text) => {
    for (const l of text.split('\n').filter(Boolean)) emit('emergency', `cli: ${l.trim()}`, name);
  }), { endpointUrl: s.endpoint, region: LOCAL_REGION, operator: 'demo-oncall' });
  try {
    run.emergency.cliExit = await runEmergency(ctx, {
      name,
      reason: 'key leaked in a public repository (demo)',
      json: false,
      yes: true,
      withoutReplacement: false,
      timeoutMs: 60_000,
    });
  } catch (err) {
    run.emergency.cliExit = 1;
    emit('emergency', `cli failed: ${describeError(err)}`, name);
  } finally {
    ctx.clients.sm.destroy();
    ctx.clients.lambda.destroy();
  }
  await new Promise((r) => setTimeout(r, EMERGENCY_TAIL_MS));
  run.emergency.open = false;
  window.end = s.clock.now();
  await run.attacker?.stop();
}

/** The on-call's terminal, as the CLI sees it: its output goes to `line`. */
function cliIo(line: (text: string) => void): CliIo {
  return {
    stdout: { write: (c: string) => line(c) },
    stderr: { write: (c: string) => line(c) },
    stdin: Readable.from([]),
    env: {
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_REGION: LOCAL_REGION,
      USER: 'demo-oncall',
    },
    // The operator's real time: the CLI polls and reports in wall-clock seconds.
    clock: systemClock,
  };
}
