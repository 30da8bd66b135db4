import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { TAGS } from '../../../core/state';
import { secretValue } from '../../support/leak-guard';

/** The JSON of a valid secret value holding `apiKey`. */
export function secretJson(apiKey: string, keyId = 'key_1'): string {
  return JSON.stringify({ apiKey, keyId, provider: 'reference', issuedAt: '2026-11-22T10:00:00Z' });
}

/** A fresh key value, registered with the leak guard. */
export function mintKey(label: string): string {
  return secretValue(`rk_test_${label}_${Math.random().toString(36).slice(2, 14)}`);
}

type Op = 'describe' | 'get';

/**
 * One secret behind a mocked Secrets Manager client: versions, AWSCURRENT, the grace-period tag, faults per operation,
 * and a gate that holds answers back (to see what readers do while a request is in flight).
 */
export class FakeSecret {
  readonly client = new SecretsManagerClient({ region: 'us-east-1' });
  readonly sm = mockClient(this.client);
  private readonly versions = new Map<string, string>();
  current = '';
  /** Value of the `keyrelay:grace-period` tag; undefined: no tag. */
  grace: string | undefined = '86400';
  /** DescribeSecret answers without any `Tags` (a secret that has none). */
  untagged = false;
  deleted = false;
  /** Thrown by every call of an operation until cleared. */
  readonly faults: Partial<Record<Op, unknown>> = {};
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  constructor(
    readonly name: string,
    apiKey = mintKey('first'),
  ) {
    this.rotate(apiKey);
    this.sm.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) =>
      this.answer('describe', input.SecretId, () => ({
        Name: this.name,
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${this.name}-AbCdEf`,
        DeletedDate: this.deleted ? new Date() : undefined,
        VersionIdsToStages: Object.fromEntries([...this.versions.keys()].map((v) => [v, v === this.current ? ['AWSCURRENT'] : []])),
        // The managed marker first, as keyrelay writes its tags: the grace period is found by name, not position.
        Tags: this.untagged
          ? undefined
          : [{ Key: TAGS.managed, Value: 'v1' }, ...(this.grace === undefined ? [] : [{ Key: TAGS.gracePeriod, Value: this.grace }])],
      })),
    );
    this.sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string; VersionId?: string; VersionStage?: string }) =>
      this.answer('get', input.SecretId, () => {
        const versionId = input.VersionId ?? (input.VersionStage === 'AWSCURRENT' ? this.current : undefined);
        const text = versionId === undefined ? undefined : this.versions.get(versionId);
        if (text === undefined) throw new ResourceNotFoundException({ message: 'version not found', $metadata: {} });
        return { Name: this.name, VersionId: versionId, SecretString: text };
      }),
    );
  }

  /** The answer as of the moment the request arrives, delivered when the gate opens. */
  private async answer<T>(op: Op, secretId: string, build: () => T): Promise<T> {
    let result: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      if (secretId !== this.name) {
        throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });
      }
      if (this.faults[op] !== undefined) throw this.faults[op];
      result = { ok: true, value: build() };
    } catch (error) {
      result = { ok: false, error };
    }
    if (this.gate) await this.gate;
    if (!result.ok) throw result.error;
    return result.value;
  }

  /** Stores a new version holding `apiKey` (or raw `text`) and moves AWSCURRENT to it. @returns the version id */
  rotate(apiKey: string, text = secretJson(apiKey)): string {
    const versionId = `v${this.versions.size + 1}`;
    this.versions.set(versionId, text);
    this.current = versionId;
    return versionId;
  }

  /** Holds every answer (as of when its request arrived) until {@link release}. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  calls(op: Op): number {
    return this.sm.commandCalls(op === 'describe' ? DescribeSecretCommand : GetSecretValueCommand).length;
  }

  /** GetSecretValue inputs, in order. */
  gets(): Array<{ VersionId?: string; VersionStage?: string }> {
    return this.sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input);
  }
}

/** SDK-shaped errors, as Secrets Manager (or moto) returns them. */
export const awsErrors = {
  throttled: () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }),
  serverError: () => Object.assign(new Error('internal error'), { name: 'InternalServiceError', $metadata: { httpStatusCode: 500 } }),
  network: () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' }),
  /** moto answers auth failures in XML, which the JSON-protocol SDK reports as a deserialization error with the status. */
  denied: () =>
    Object.assign(new Error('Deserialization error: to see the raw response, inspect the hidden field {error}.$response'), {
      $metadata: { httpStatusCode: 403 },
    }),
  notFound: () => new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }),
  decryption: () =>
    Object.assign(new Error('KMS key is disabled'), { name: 'DecryptionFailure', $metadata: { httpStatusCode: 400 } }),
};

/** Lets pending promise callbacks and one event-loop turn run (the client re-reads its clock once per turn). */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
