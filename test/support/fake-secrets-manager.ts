import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
  type DescribeSecretCommandOutput,
  type GetSecretValueCommandOutput,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { randomUUID } from 'node:crypto';

interface Version {
  stages: Set<string>;
  value?: string;
}

interface Secret {
  arn: string;
  name: string;
  rotationEnabled: boolean;
  tags: Map<string, string>;
  versions: Map<string, Version>;
}

type Op = 'DescribeSecret' | 'GetSecretValue' | 'PutSecretValue' | 'UpdateSecretVersionStage' | 'TagResource' | 'UntagResource';
/**
 * A fault: after letting `skip` calls of `op` through, the next `times` calls throw `error`, `before` the call takes
 * effect or `after` it (a lost answer, or a Lambda that died once the call landed).
 */
export interface SmFault {
  op: Op;
  error: Error;
  when?: 'before' | 'after';
  times?: number;
  skip?: number;
}

const meta = { $metadata: {} };

/**
 * An in-memory Secrets Manager behind aws-sdk-client-mock, for tests that need state across calls (convergence,
 * retries) while still asserting on commands with aws-sdk-client-mock-vitest. Covers what keyrelay's functions use:
 * DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage, TagResource, UntagResource.
 *
 * Faithful to AWS where moto is not: a different value for an existing version is refused (ResourceExistsException);
 * `overwritePending: true` switches to moto's silent overwrite. A value-less version answers ResourceNotFoundException.
 */
export class FakeSecretsManager {
  readonly client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
  readonly mock: AwsClientStub<SecretsManagerClient> = mockClient(this.client);
  private readonly secrets = new Map<string, Secret>();
  private faults: Array<Required<SmFault>> = [];
  /** moto's behaviour: PutSecretValue replaces the value of an existing version. @default false (AWS) */
  overwritePending = false;

  constructor() {
    this.mock.on(DescribeSecretCommand).callsFake((i) => this.run('DescribeSecret', () => this.describe(i.SecretId)));
    this.mock.on(GetSecretValueCommand).callsFake((i) => this.run('GetSecretValue', () => this.get(i.SecretId, i.VersionId, i.VersionStage)));
    this.mock.on(PutSecretValueCommand).callsFake((i) =>
      this.run('PutSecretValue', () => this.put(i.SecretId, i.ClientRequestToken, i.SecretString, i.VersionStages)),
    );
    this.mock.on(UpdateSecretVersionStageCommand).callsFake((i) =>
      this.run('UpdateSecretVersionStage', () => this.updateStage(i.SecretId, i.VersionStage, i.MoveToVersionId, i.RemoveFromVersionId)),
    );
    this.mock.on(TagResourceCommand).callsFake((i) => this.run('TagResource', () => this.tag(i.SecretId, i.Tags ?? [])));
    this.mock.on(UntagResourceCommand).callsFake((i) => this.run('UntagResource', () => this.untag(i.SecretId, i.TagKeys ?? [])));
  }

  /** Creates a secret; with `value`, a first version holding AWSCURRENT. @returns its ARN. */
  addSecret(name: string, options: { tags?: Record<string, string>; value?: string; rotationEnabled?: boolean } = {}): string {
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-${randomUUID().slice(0, 6)}`;
    const secret: Secret = {
      arn,
      name,
      rotationEnabled: options.rotationEnabled ?? true,
      tags: new Map(Object.entries(options.tags ?? {})),
      versions: new Map(),
    };
    if (options.value !== undefined) secret.versions.set(randomUUID(), { stages: new Set(['AWSCURRENT']), value: options.value });
    this.secrets.set(arn, secret);
    return arn;
  }

  /** What RotateSecret does first: a value-less AWSPENDING placeholder whose VersionId is the token. */
  startRotation(secretId: string, token: string = randomUUID()): string {
    const secret = this.find(secretId);
    for (const v of secret.versions.values()) v.stages.delete('AWSPENDING');
    secret.versions.set(token, { stages: new Set(['AWSPENDING']) });
    return token;
  }

  /** Writes a version's value directly (test setup, e.g. an invalid pending value). */
  setValue(secretId: string, versionId: string, value: string): void {
    const version = this.find(secretId).versions.get(versionId);
    if (!version) throw new Error(`no version ${versionId}`);
    version.value = value;
  }

  /** Queues a fault. */
  fail(fault: SmFault): void {
    this.faults.push({ when: 'before', times: 1, skip: 0, ...fault });
  }

  /** VersionIdsToStages (versions without a label omitted, as DescribeSecret does). */
  stages(secretId: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [id, v] of this.find(secretId).versions) if (v.stages.size > 0) out[id] = [...v.stages].sort();
    return out;
  }

  /** The value of the version holding `stage`. */
  valueAt(secretId: string, stage: string): string | undefined {
    for (const v of this.find(secretId).versions.values()) if (v.stages.has(stage)) return v.value;
    return undefined;
  }

  /** Number of versions (labelled or not). */
  versionCount(secretId: string): number {
    return this.find(secretId).versions.size;
  }

  /** The secret's tags. */
  tags(secretId: string): Record<string, string> {
    return Object.fromEntries(this.find(secretId).tags);
  }

  private run<T>(op: Op, action: () => T): T {
    const i = this.faults.findIndex((f) => f.op === op);
    let fault = this.faults[i];
    if (fault && fault.skip > 0) {
      fault.skip--;
      fault = undefined;
    } else if (fault && --fault.times <= 0) this.faults.splice(i, 1);
    if (fault?.when === 'before') throw fault.error;
    const out = action();
    if (fault) throw fault.error;
    return out;
  }

  private find(secretId: string | undefined): Secret {
    for (const s of this.secrets.values()) if (s.arn === secretId || s.name === secretId) return s;
    throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", ...meta });
  }

  private describe(secretId: string | undefined): DescribeSecretCommandOutput {
    const s = this.find(secretId);
    return {
      ARN: s.arn,
      Name: s.name,
      RotationEnabled: s.rotationEnabled,
      VersionIdsToStages: this.stages(s.arn),
      Tags: [...s.tags].map(([Key, Value]) => ({ Key, Value })),
      ...meta,
    };
  }

  private get(secretId: string | undefined, versionId?: string, stage?: string): GetSecretValueCommandOutput {
    const s = this.find(secretId);
    const wanted = stage ?? (versionId ? undefined : 'AWSCURRENT');
    const entry = [...s.versions].find(([id, v]) => (!versionId || id === versionId) && (!wanted || v.stages.has(wanted)));
    if (!entry || entry[1].value === undefined) {
      throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value.", ...meta });
    }
    return { ARN: s.arn, Name: s.name, VersionId: entry[0], SecretString: entry[1].value, VersionStages: [...entry[1].stages], ...meta };
  }

  private put(secretId: string | undefined, token = randomUUID(), value?: string, stages: string[] = ['AWSCURRENT']) {
    const s = this.find(secretId);
    const existing = s.versions.get(token);
    if (existing?.value !== undefined && existing.value !== value && !this.overwritePending) {
      throw new ResourceExistsException({ message: `A resource with the ID you requested already exists.`, ...meta });
    }
    const version = existing ?? { stages: new Set<string>() };
    version.value = value;
    s.versions.set(token, version);
    for (const stage of stages) this.moveStage(s, stage, token);
    return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...version.stages], ...meta };
  }

  private updateStage(secretId: string | undefined, stage?: string, moveTo?: string, removeFrom?: string) {
    const s = this.find(secretId);
    if (!stage) throw new InvalidParameterException({ message: 'VersionStage is required', ...meta });
    const holder = [...s.versions].find(([, v]) => v.stages.has(stage))?.[0];
    if (removeFrom !== undefined && holder !== removeFrom) {
      throw new InvalidParameterException({ message: `The staging label ${stage} is not attached to version ${removeFrom}.`, ...meta });
    }
    if (moveTo === undefined) {
      if (removeFrom !== undefined) s.versions.get(removeFrom)?.stages.delete(stage);
      return { ARN: s.arn, Name: s.name, ...meta };
    }
    if (holder !== undefined && holder !== moveTo && removeFrom === undefined) {
      throw new InvalidParameterException({
        message: `The staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
        ...meta,
      });
    }
    if (!s.versions.has(moveTo)) throw new InvalidRequestException({ message: `Version ${moveTo} not found`, ...meta });
    this.moveStage(s, stage, moveTo);
    return { ARN: s.arn, Name: s.name, ...meta };
  }

  private moveStage(s: Secret, stage: string, to: string): void {
    let from: string | undefined;
    for (const [id, v] of s.versions) {
      if (id !== to && v.stages.delete(stage)) from = id;
    }
    s.versions.get(to)?.stages.add(stage);
    if (stage === 'AWSCURRENT' && from !== undefined) this.moveStage(s, 'AWSPREVIOUS', from);
  }

  private tag(secretId: string | undefined, tags: Tag[]) {
    const s = this.find(secretId);
    for (const t of tags) if (t.Key) s.tags.set(t.Key, t.Value ?? '');
    return meta;
  }

  private untag(secretId: string | undefined, keys: string[]) {
    const s = this.find(secretId);
    for (const k of keys) s.tags.delete(k);
    return meta;
  }
}
