import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { vi } from 'vitest';
import type { KeyRotatedDetail, RevocationRequest } from '../../../core/ports';
import { formatSecretValue } from '../../../core/secret-value';
import { settingsToTags, type ManagedSecret } from '../../../core/state';
import type { KeyProvider } from '../../../lambda/providers/types';
import { createRotationHandler, ROTATION_STEPS, type RotationDeps, type RotationHandler } from '../../../lambda/rotation';
import { FakeClock } from '../../support/fake-clock';
import { FakeProvider } from '../../support/fake-provider';
import { FakeSecretsManager } from '../../support/fake-secrets-manager';
import { capturedOutput } from '../../support/leak-guard';

/** Grace period the harness's secret carries, seconds. */
export const GRACE = 86_400;

/** Options for {@link rotationHarness}. */
export interface HarnessOptions {
  /** Store a first key as AWSCURRENT. @default true */
  withCurrent?: boolean;
  quota?: number;
  rotationEnabled?: boolean;
  tags?: Record<string, string>;
  deps?: Partial<RotationDeps>;
}

/**
 * One managed secret in a {@link FakeSecretsManager}, a {@link FakeProvider}, a FakeClock that moves on every sleep,
 * recording scheduler and event fakes, real Powertools logger/metrics (their output is captured), and the handler.
 */
export async function rotationHarness(options: HarnessOptions = {}) {
  const clock = new FakeClock(undefined, true);
  const sm = new FakeSecretsManager();
  const provider = new FakeProvider(clock, options.quota ?? 5);
  const scheduled: RevocationRequest[] = [];
  const published: KeyRotatedDetail[] = [];
  const name = `app/key-${Math.random().toString(36).slice(2, 8)}`;
  const tags = Object.fromEntries(
    settingsToTags({ provider: 'fake', providerSettings: {}, gracePeriod: GRACE }).map((t) => [t.Key, t.Value]),
  );
  let initialVersion: string | undefined;
  let initialKeyId: string | undefined;
  let value: string | undefined;
  if (options.withCurrent ?? true) {
    const issued = await provider.issue({ label: 'initial' });
    initialKeyId = issued.keyId;
    value = formatSecretValue({ apiKey: issued.apiKey, keyId: issued.keyId, provider: 'fake', issuedAt: '2026-11-01T00:00:00Z', principal: issued.principal });
  }
  const arn = sm.addSecret(name, { tags: { ...tags, ...options.tags }, value, rotationEnabled: options.rotationEnabled ?? true });
  if (value !== undefined) initialVersion = Object.keys(sm.stages(arn))[0];
  const providerFor = vi.fn(async (_secret: ManagedSecret): Promise<KeyProvider> => provider);
  const deps: RotationDeps = {
    sm: sm.client,
    provider: providerFor,
    clock,
    scheduler: { scheduleRevocation: vi.fn(async (r: RevocationRequest) => void scheduled.push(r)) },
    events: { keyRotated: vi.fn(async (d: KeyRotatedDetail) => void published.push(d)) },
    logger: new Logger({ serviceName: 'keyrelay', logLevel: 'DEBUG' }),
    metrics: new Metrics({ namespace: 'keyrelay', serviceName: 'keyrelay' }),
    retry: { random: () => 0.5 },
    ...options.deps,
  };
  const handler: RotationHandler = createRotationHandler(deps);
  const outputStart = capturedOutput.text().length;
  return {
    clock,
    sm,
    provider,
    deps,
    handler,
    arn,
    name,
    initialVersion,
    initialKeyId,
    scheduled,
    published,
    /** Starts a rotation the way RotateSecret does (value-less AWSPENDING placeholder). */
    start: (token?: string) => sm.startRotation(arn, token),
    /** Invokes one step. */
    step: (Step: string, token: string, extra: Record<string, unknown> = {}) =>
      handler({ Step, SecretId: arn, ClientRequestToken: token, ...extra }),
    /** The four steps in order; on a failure, starts over like Secrets Manager, up to `attempts` times. */
    async rotate(token: string, attempts = 1, extra: Record<string, unknown> = {}): Promise<number> {
      for (let attempt = 1; ; attempt++) {
        try {
          for (const Step of ROTATION_STEPS) await handler({ Step, SecretId: arn, ClientRequestToken: token, ...extra });
          return attempt;
        } catch (err) {
          if (attempt >= attempts) throw err;
        }
      }
    },
    /** Everything logged (logger and metrics) since the harness was made. */
    output: () => capturedOutput.text().slice(outputStart),
    /** EMF data points emitted since the harness was made. */
    metrics(): Array<Record<string, unknown>> {
      return capturedOutput
        .text()
        .slice(outputStart)
        .split('\n')
        .filter((line) => line.includes('"_aws"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    /** Provider keys still alive, labelled for `token`. */
    keysFor: (token: string) => provider.alive().filter((k) => k.label.endsWith(`/${token}`)),
  };
}

/** The harness {@link rotationHarness} returns. */
export type Harness = Awaited<ReturnType<typeof rotationHarness>>;
