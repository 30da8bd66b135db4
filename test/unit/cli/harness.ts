import { PassThrough } from 'node:stream';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient, type SecretListEntry, type Tag } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { Clients } from '../../../cli/aws';
import type { CliIo } from '../../../cli/io';
import { main } from '../../../cli/main';
import { formatSecretValue, type SecretValue } from '../../../core/secret-value';
import { keyRecordTag, settingsToTags, TAGS, type KeyRecord } from '../../../core/state';
import type { RevokerResponse } from '../../../lambda/revoker/protocol';
import { FakeClock } from '../../support/fake-clock';
import { leakedSecrets, secretValue } from '../../support/leak-guard';

/** An in-process CLI with mocked AWS, a fake clock and scripted stdin. */
export function harness(options: { stdin?: string | null; tty?: boolean } = {}) {
  const clients: Clients = {
    sm: new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    lambda: new LambdaClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    cloudwatch: new CloudWatchClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    sts: new STSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    // The proof is opaque to the CLI's commands: a fixed stand-in naming the binding it was asked for.
    proveCaller: async (binding) => ({ url: 'https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity', headers: { 'x-keyrelay-request': binding } }),
  };
  const mocks = { sm: mockClient(clients.sm), lambda: mockClient(clients.lambda), cloudwatch: mockClient(clients.cloudwatch), sts: mockClient(clients.sts) };
  mocks.sts.rejects(new Error('no STS in unit tests'));
  mocks.cloudwatch.resolves({ MetricAlarms: [], CompositeAlarms: [] });
  const clock = new FakeClock(Date.UTC(2026, 10, 22, 10, 0, 0), true);
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (options.tty) stdin.isTTY = true;
  if (options.stdin !== null) stdin.end(options.stdin ?? '');
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    stdin,
    env: { USER: 'oncall-alice' },
    clock,
    clients: () => clients,
  };
  return {
    mocks,
    clock,
    stdin,
    io,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    /** Runs `keyrelay <argv>` in-process; returns the exit code. */
    async run(...argv: string[]): Promise<number> {
      out.length = 0;
      err.length = 0;
      const code = await main(argv, io);
      // Every run is scanned: in-process output bypasses the process streams the suite-wide guard watches.
      const leaks = leakedSecrets(out.join('') + err.join(''));
      if (leaks.length > 0) throw new Error(`CLI printed key material; near: ${leaks[0]}`);
      return code;
    },
  };
}

/** A managed secret as Secrets Manager lists and describes it. */
export interface SecretFixture {
  name: string;
  versions?: Record<string, string[]>;
  records?: KeyRecord[];
  frozen?: string;
  revoker?: string | null;
  lastRotated?: Date;
  nextRotation?: Date;
  rotationEnabled?: boolean;
  extraTags?: Tag[];
}

export function arnOf(name: string): string {
  return `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
}

/** The list/describe entry for a fixture. */
export function entry(f: SecretFixture): SecretListEntry & { VersionIdsToStages?: Record<string, string[]> } {
  const tags = [
    ...settingsToTags({ provider: 'reference', providerSettings: {}, gracePeriod: 86_400, rotateEvery: 7 * 86_400, revoker: f.revoker === null ? undefined : (f.revoker ?? 'keyrelay-revoker') }),
    ...(f.records ?? []).map(keyRecordTag),
    ...(f.frozen ? [{ Key: TAGS.frozen, Value: f.frozen }] : []),
    ...(f.extraTags ?? []),
  ];
  const versions = f.versions ?? { 'v-cur': ['AWSCURRENT'] };
  return {
    ARN: arnOf(f.name),
    Name: f.name,
    Tags: tags,
    SecretVersionsToStages: versions,
    VersionIdsToStages: versions,
    RotationEnabled: f.rotationEnabled ?? true,
    LastRotatedDate: f.lastRotated ?? new Date(Date.UTC(2026, 10, 20)),
    NextRotationDate: f.nextRotation ?? new Date(Date.UTC(2026, 10, 27)),
  };
}

/** A key value registered with the leak guard, and its SecretString. */
export function keyValue(keyId: string): { value: SecretValue; text: string } {
  const value: SecretValue = { apiKey: secretValue(`rk_live_${keyId}_${'s3cr3t'.repeat(4)}`), keyId, provider: 'reference', issuedAt: '2026-11-20T00:00:00Z' };
  return { value, text: formatSecretValue(value) };
}

/** A Lambda Invoke answer carrying a revoker response (or a thrown revoker error). */
export function revokerAnswer(body: RevokerResponse | { errorType: string; errorMessage: string }, failed = false) {
  return { StatusCode: 200, FunctionError: failed ? 'Unhandled' : undefined, Payload: new TextEncoder().encode(JSON.stringify(body)) as never };
}
