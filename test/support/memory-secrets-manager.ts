import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../../core/clock';

interface Version {
  value?: string;
  stages: string[];
  created: number;
}

interface Secret {
  arn: string;
  name: string;
  tags: Map<string, string>;
  versions: Map<string, Version>;
  rotationEnabled: boolean;
  created: number;
  lastRotated?: number;
  nextRotation?: number;
}

function awsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

/**
 * An in-memory Secrets Manager for the revoker's unit and property tests: the calls the revoker and the rotation
 * steps make, with AWS's semantics (not moto's): versions by id or stage, `AWSPREVIOUS` following `AWSCURRENT`, a
 * different value under an existing token refused, unlabelled versions left out of `VersionIdsToStages`.
 * Beyond `FakeSecretsManager` (aws-sdk-client-mock based, for command assertions) it has what the sweep needs:
 * `ListSecrets`, `LastRotatedDate`, AWS's 50-tag limit, and a `beforeSend` hook that can crash any call, at the
 * speed 100,000 property cases need (no mock library in the path).
 */
export class MemorySecretsManager {
  readonly secrets = new Map<string, Secret>();
  /** Every command name sent, in order. */
  readonly sent: string[] = [];
  /** Called before each command; throw from it to inject a fault. */
  beforeSend?: (command: string) => void;

  constructor(private readonly clock: Clock) {}

  /** This fake as an SDK client (only `send` is used). */
  get client(): SecretsManagerClient {
    return this as unknown as SecretsManagerClient;
  }

  /** Creates a secret with tags and no versions. */
  create(name: string, tags: Tag[]): string {
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    this.secrets.set(arn, {
      arn, name, versions: new Map(), rotationEnabled: true, created: this.clock.now(),
      tags: new Map(tags.map((t) => [t.Key ?? '', t.Value ?? ''])),
    });
    return arn;
  }

  /** RotateSecret's first half: a value-less `AWSPENDING` placeholder for `token` (the label leaves any other version). */
  startRotation(secretId: string, token: string): void {
    const secret = this.find(secretId);
    for (const v of secret.versions.values()) v.stages = v.stages.filter((s) => s !== 'AWSPENDING');
    if (!secret.versions.has(token)) secret.versions.set(token, { stages: ['AWSPENDING'], created: this.clock.now() });
    secret.lastRotated = this.clock.now();
  }

  /** Sets the rotation dates and switch DescribeSecret reports (times in ms; undefined clears a date). */
  setRotation(secretId: string, dates: { enabled?: boolean; lastRotated?: number; nextRotation?: number }): void {
    const secret = this.find(secretId);
    secret.rotationEnabled = dates.enabled ?? secret.rotationEnabled;
    secret.lastRotated = dates.lastRotated;
    secret.nextRotation = dates.nextRotation;
  }

  /** VersionIdsToStages: versions without a label are left out, as AWS does. */
  stages(secretId: string): Record<string, string[]> {
    return Object.fromEntries([...this.find(secretId).versions].filter(([, v]) => v.stages.length > 0).map(([id, v]) => [id, [...v.stages]]));
  }

  /** The value a stage points at (test assertions). */
  valueAt(secretId: string, stage: string): string | undefined {
    return [...this.find(secretId).versions.values()].find((v) => v.stages.includes(stage))?.value;
  }

  private find(id: string | undefined): Secret {
    const secret = this.secrets.get(id ?? '') ?? [...this.secrets.values()].find((s) => s.name === id);
    if (!secret) throw awsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret: ${id}`);
    return secret;
  }

  private moveStage(secret: Secret, stage: string, to: string | undefined, from: string | undefined): void {
    const holder = [...secret.versions].find(([, v]) => v.stages.includes(stage))?.[0];
    if (holder !== undefined && holder !== to && holder !== from) {
      throw awsError('InvalidParameterException', `The staging label ${stage} is attached to version ${holder}; pass it as RemoveFromVersionId`);
    }
    if (from !== undefined) {
      const v = secret.versions.get(from);
      if (!v?.stages.includes(stage)) throw awsError('InvalidParameterException', `version ${from} does not have ${stage}`);
      v.stages = v.stages.filter((s) => s !== stage);
    }
    if (to !== undefined) {
      const v = secret.versions.get(to);
      if (!v) throw awsError('ResourceNotFoundException', `version ${to} not found`);
      if (!v.stages.includes(stage)) v.stages.push(stage);
    }
    if (stage === 'AWSCURRENT' && from !== undefined && to !== undefined && from !== to) {
      for (const v of secret.versions.values()) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
      secret.versions.get(from)?.stages.push('AWSPREVIOUS');
    }
  }

  /** A secret as a `ListSecrets` entry (`DescribeSecret` names the stages `VersionIdsToStages`). */
  private entry(s: Secret) {
    return {
      ARN: s.arn, Name: s.name, RotationEnabled: s.rotationEnabled,
      LastRotatedDate: s.lastRotated === undefined ? undefined : new Date(s.lastRotated),
      NextRotationDate: s.nextRotation === undefined ? undefined : new Date(s.nextRotation),
      CreatedDate: new Date(s.created),
      Tags: [...s.tags].map(([Key, Value]) => ({ Key, Value })),
      SecretVersionsToStages: this.stages(s.arn),
    };
  }

  async send(command: object): Promise<unknown> {
    const name = command.constructor.name.replace(/Command$/, '');
    this.sent.push(name);
    this.beforeSend?.(name);
    const input = (command as { input: Record<string, unknown> }).input;
    if (command instanceof DescribeSecretCommand) {
      const s = this.find(command.input.SecretId);
      const { SecretVersionsToStages, ...entry } = this.entry(s);
      return { ...entry, VersionIdsToStages: SecretVersionsToStages };
    }
    if (command instanceof GetSecretValueCommand) {
      const s = this.find(command.input.SecretId);
      const { VersionId, VersionStage } = command.input;
      const entry = VersionId !== undefined
        ? [VersionId, s.versions.get(VersionId)] as const
        : [...s.versions].find(([, v]) => v.stages.includes(VersionStage ?? 'AWSCURRENT'));
      const v = entry?.[1];
      if (!entry || !v || v.value === undefined || (VersionStage && !v.stages.includes(VersionStage))) {
        throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value");
      }
      return { ARN: s.arn, Name: s.name, VersionId: entry[0], SecretString: v.value, VersionStages: [...v.stages] };
    }
    if (command instanceof PutSecretValueCommand) {
      const s = this.find(command.input.SecretId);
      const token = command.input.ClientRequestToken ?? `v-${s.versions.size + 1}`;
      const existing = s.versions.get(token);
      if (existing?.value !== undefined && existing.value !== command.input.SecretString) {
        throw awsError('ResourceExistsException', `A version with ClientRequestToken ${token} already exists with a different value`);
      }
      const stages = command.input.VersionStages ?? ['AWSCURRENT'];
      const v = existing ?? { stages: [], created: this.clock.now() };
      v.value = command.input.SecretString;
      s.versions.set(token, v);
      // PutSecretValue moves each label it names (AWSCURRENT taking AWSPREVIOUS along).
      for (const stage of stages) {
        const holder = [...s.versions].find(([id, x]) => id !== token && x.stages.includes(stage))?.[0];
        this.moveStage(s, stage, token, holder);
      }
      return { ARN: s.arn, VersionId: token };
    }
    if (command instanceof UpdateSecretVersionStageCommand) {
      const s = this.find(command.input.SecretId);
      this.moveStage(s, command.input.VersionStage ?? '', command.input.MoveToVersionId, command.input.RemoveFromVersionId);
      return { ARN: s.arn };
    }
    if (command instanceof TagResourceCommand) {
      const s = this.find(command.input.SecretId);
      const tags = command.input.Tags ?? [];
      const size = new Set([...s.tags.keys(), ...tags.map((t) => t.Key ?? '')]).size;
      if (size > 50) throw awsError('ValidationException', `a secret may hold at most 50 tags, got ${size}`);
      for (const t of tags) s.tags.set(t.Key ?? '', t.Value ?? '');
      return {};
    }
    if (command instanceof UntagResourceCommand) {
      const s = this.find(command.input.SecretId);
      for (const k of command.input.TagKeys ?? []) s.tags.delete(k);
      return {};
    }
    if (command instanceof ListSecretsCommand) {
      // Entries carry tags, stages and rotation dates, as AWS's do; pages of MaxResults (AWS: at most 100).
      const key = command.input.Filters?.find((f) => f.Key === 'tag-key')?.Values?.[0];
      const all = [...this.secrets.values()].filter((s) => !key || s.tags.has(key));
      const from = Number(command.input.NextToken ?? 0);
      const to = from + Math.min(command.input.MaxResults ?? 100, 100);
      return { SecretList: all.slice(from, to).map((s) => this.entry(s)), NextToken: to < all.length ? String(to) : undefined };
    }
    throw new Error(`MemorySecretsManager: ${name} is not implemented (input ${JSON.stringify(Object.keys(input))})`);
  }
}
