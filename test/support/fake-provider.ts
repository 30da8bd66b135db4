import type { Clock } from '../../core/clock';
import { KeyNotFoundError, ProviderAuthError, ProviderUnavailableError, QuotaExceededError, ThrottledError } from '../../lambda/providers/errors';
import type { IssueRequest, IssuedKey, KeyProvider, ProviderKey, VerifiedKey } from '../../lambda/providers/types';
import { secretValue } from './leak-guard';

/** One key the fake holds. */
export interface FakeKey {
  keyId: string;
  apiKey: string;
  label: string;
  status: 'active' | 'disabled' | 'deleted';
  createdAt: number;
  lastUsedAt: number | null;
  principal: string;
}

type Operation = 'issue' | 'verify' | 'revoke' | 'list' | 'disable' | 'enable' | 'lastUsed';
/** A fault to inject: the next `times` calls of `op` fail with `error`. */
export type FakeFault = { op: Operation; error: 'auth' | 'quota' | 'throttled' | 'unavailable' | 'notFound'; times?: number };

/**
 * An in-memory provider for unit and property tests: labels, a quota, disable/enable, last use, and faults.
 * Every key it mints is registered with the leak guard. `issue` may also fail *after* creating the key
 * (`crashAfterIssue`), the way a Lambda dies between the provider's answer and `PutSecretValue`.
 */
export class FakeProvider implements KeyProvider {
  readonly type = 'fake';
  readonly capabilities = { disable: true, lastUsed: true };
  /** Settings `list` depends on (the sweep shares a listing across secrets agreeing on them). @default - every setting */
  listedBy?: readonly string[];
  /** Documented request limit (the revoker paces its calls to it). @default - none */
  rateLimit?: { requests: number; perMs: number };
  readonly keys = new Map<string, FakeKey>();
  /** Every call, in order; for `issue`, `keyId` is the key it replaces. */
  readonly calls: Array<{ op: Operation; keyId?: string }> = [];
  /** Prefix of the key ids it mints (an IAM-shaped `AKIA…` for tests of AWS Health events). */
  idPrefix = 'fk-';
  private faults: Array<Required<FakeFault>> = [];
  private seq = 0;
  /** When set, the next `issue` creates the key and then throws (a crash before the caller saw the answer). */
  crashAfterIssue = false;

  constructor(
    private readonly clock: Clock,
    readonly quota: number | undefined = 5,
    readonly principal = 'acct-1',
  ) {}

  /** Queues a fault. */
  fail(fault: FakeFault): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** Keys not deleted. */
  alive(): FakeKey[] {
    return [...this.keys.values()].filter((k) => k.status !== 'deleted');
  }

  /** Records a use of `apiKey` (as an application would), when the key is active. */
  use(apiKey: string): boolean {
    const key = [...this.keys.values()].find((k) => k.apiKey === apiKey && k.status === 'active');
    if (key) key.lastUsedAt = this.clock.now();
    return key !== undefined;
  }

  private check(op: Operation, keyId?: string): void {
    this.calls.push({ op, keyId });
    const i = this.faults.findIndex((f) => f.op === op);
    const fault = this.faults[i];
    if (!fault) return;
    if (--fault.times <= 0) this.faults.splice(i, 1);
    switch (fault.error) {
      case 'auth':
        throw new ProviderAuthError(this.type, 'injected: credential rejected', { status: 401 });
      case 'quota':
        throw new QuotaExceededError(this.type, 'injected: quota full', { quota: this.quota, status: 409 });
      case 'throttled':
        throw new ThrottledError(this.type, 'injected: slow down', { retryAfterMs: 1000, status: 429 });
      case 'unavailable':
        throw new ProviderUnavailableError(this.type, 'injected: outage', { status: 503 });
      case 'notFound':
        throw new KeyNotFoundError(this.type, `injected: key '${keyId ?? ''}' not found`, { status: 404 });
    }
  }

  private find(keyId: string): FakeKey {
    const key = this.keys.get(keyId);
    if (!key || key.status === 'deleted') throw new KeyNotFoundError(this.type, `key '${keyId}' not found`, { status: 404 });
    return key;
  }

  async issue({ label, replaces }: IssueRequest): Promise<IssuedKey> {
    this.check('issue', replaces);
    if (this.quota !== undefined && this.alive().length >= this.quota) {
      throw new QuotaExceededError(this.type, `quota of ${this.quota} keys reached`, { quota: this.quota, status: 409 });
    }
    const keyId = `${this.idPrefix}${++this.seq}`;
    const apiKey = secretValue(`fake-secret-${keyId}-${Math.random().toString(36).slice(2, 12)}`);
    this.keys.set(keyId, { keyId, apiKey, label, status: 'active', createdAt: this.clock.now(), lastUsedAt: null, principal: this.principal });
    if (this.crashAfterIssue) {
      this.crashAfterIssue = false;
      throw new ProviderUnavailableError(this.type, 'injected: crashed after issuing');
    }
    return { apiKey, keyId, principal: this.principal };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    this.check('verify');
    const key = [...this.keys.values()].find((k) => k.apiKey === apiKey);
    if (key?.status !== 'active') throw new ProviderAuthError(this.type, 'key rejected', { status: 401 });
    key.lastUsedAt = this.clock.now();
    return { principal: key.principal };
  }

  async revoke(keyId: string): Promise<void> {
    this.check('revoke', keyId);
    this.find(keyId).status = 'deleted';
  }

  async list(): Promise<ProviderKey[]> {
    this.check('list');
    return this.alive().map((k) => ({
      keyId: k.keyId,
      label: k.label,
      status: k.status === 'disabled' ? 'disabled' : 'active',
      createdAt: k.createdAt,
      lastUsedAt: k.lastUsedAt,
    }));
  }

  async disable(keyId: string): Promise<void> {
    this.check('disable', keyId);
    this.find(keyId).status = 'disabled';
  }

  async enable(keyId: string): Promise<void> {
    this.check('enable', keyId);
    this.find(keyId).status = 'active';
  }

  async lastUsed(keyId: string): Promise<number | null> {
    this.check('lastUsed', keyId);
    return this.find(keyId).lastUsedAt;
  }
}
