import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock';

/** Where a key is in its life. Deleted keys stay in the store (without their value) so tests can see them go. */
export type KeyStatus = 'active' | 'disabled' | 'deleted';

/** A key as the store keeps it: no key value, only its hash. */
export interface KeyInfo {
  /** `key_` and 16 hex digits. */
  id: string;
  /** Account id (`acct-1`, ...) of the admin credential that issued it. */
  account: string;
  name: string;
  status: KeyStatus;
  /** Issue time, ms since the epoch (service clock). */
  createdAt: number;
  /** Last successful `GET /v1/whoami`, ms since the epoch; null when never used. */
  lastUsedAt: number | null;
}

/** An HTTP-shaped refusal: the server turns it into `{error:{code,message,...extra}}` with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface StoredKey extends KeyInfo {
  /** Creation order; page tokens point into it. */
  seq: number;
  /** SHA-256 of the key value, absent once deleted. */
  hash?: string;
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/**
 * Accounts and their keys, in memory. Like a SaaS it keeps only a hash of each key value (the value is returned once,
 * at issue), so a dump of the store holds nothing an application could use.
 */
export class KeyStore {
  private readonly keys = new Map<string, StoredKey>();
  private readonly byHash = new Map<string, StoredKey>();
  private readonly accounts = new Map<string, string>();
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    /** Most keys not deleted per account. */
    readonly quota: number,
    private readonly onIssue?: (apiKey: string) => void,
  ) {}

  /** Creates account `acct-<n>` and returns its admin credential. */
  addAccount(): string {
    const adminKey = `rk_admin_${randomBytes(24).toString('base64url')}`;
    this.accounts.set(sha256(adminKey), `acct-${this.accounts.size + 1}`);
    return adminKey;
  }

  /** The account an admin credential belongs to. */
  account(adminKey: string): string | undefined {
    return this.accounts.get(sha256(adminKey));
  }

  /** The active or disabled key whose value is `apiKey`. */
  byValue(apiKey: string): KeyInfo | undefined {
    return this.byHash.get(sha256(apiKey));
  }

  /** Issues a key; the returned `apiKey` is the only copy of its value. @throws ApiError 409 when the quota is full */
  issue(account: string, name: string): { key: KeyInfo; apiKey: string } {
    const held = [...this.keys.values()].filter((k) => k.account === account && k.status !== 'deleted').length;
    if (held >= this.quota) {
      throw new ApiError(
        409,
        'quota_exceeded',
        `account ${account} already holds ${held} keys (limit ${this.quota}, disabled keys count); delete one first`,
        { limit: this.quota },
      );
    }
    const apiKey = `rk_live_${randomBytes(32).toString('base64url')}`;
    this.onIssue?.(apiKey);
    const key: StoredKey = {
      id: `key_${randomBytes(8).toString('hex')}`,
      account,
      name,
      status: 'active',
      createdAt: this.clock.now(),
      lastUsedAt: null,
      seq: ++this.seq,
      hash: sha256(apiKey),
    };
    this.keys.set(key.id, key);
    this.byHash.set(key.hash!, key);
    return { key: publicView(key), apiKey };
  }

  /** One page of the account's keys not deleted, oldest first, after creation number `after`. */
  page(account: string, size: number, after: number): { keys: KeyInfo[]; last?: number } {
    const alive = [...this.keys.values()].filter((k) => k.account === account && k.status !== 'deleted' && k.seq > after);
    const page = alive.slice(0, size);
    return { keys: page.map(publicView), last: alive.length > size ? page.at(-1)?.seq : undefined };
  }

  /** The account's key `id`. @throws ApiError 404 when unknown, deleted or another account's */
  get(account: string, id: string): KeyInfo {
    return publicView(this.find(account, id));
  }

  /** Deletes the key for good. @throws ApiError 404 when unknown, already deleted or another account's */
  delete(account: string, id: string): void {
    const key = this.find(account, id);
    key.status = 'deleted';
    if (key.hash) this.byHash.delete(key.hash);
    delete key.hash;
  }

  /**
   * Revokes a key found in public, as a secret-scanning partner of the provider does (GitHub sends the partner the
   * value it found; the provider deletes the key without asking its owner). By value or by id, whatever the account.
   * @returns the key, deleted. @throws ApiError 404 when no live key matches
   */
  revokeFound(found: { key: string } | { id: string }): KeyInfo {
    const key = 'key' in found ? this.byHash.get(sha256(found.key)) : this.keys.get(found.id);
    if (!key || key.status === 'deleted') throw new ApiError(404, 'not_found', 'no live key matches what the scanner found');
    this.delete(key.account, key.id);
    return publicView(key);
  }

  /** Disables or re-enables the key (idempotent). @throws ApiError 404 as {@link get} */
  setStatus(account: string, id: string, status: 'active' | 'disabled'): KeyInfo {
    const key = this.find(account, id);
    key.status = status;
    return publicView(key);
  }

  /** Records a use of an active key now. */
  touch(id: string): void {
    const key = this.keys.get(id);
    if (key) key.lastUsedAt = this.clock.now();
  }

  /** Every key ever issued, deleted ones included, without values. */
  all(): KeyInfo[] {
    return [...this.keys.values()].map(publicView);
  }

  private find(account: string, id: string): StoredKey {
    const key = this.keys.get(id);
    // Another account's key answers exactly like a missing one: ids must not leak across accounts.
    if (!key || key.account !== account || key.status === 'deleted') {
      throw new ApiError(404, 'not_found', `no key '${id}' in account ${account}`);
    }
    return key;
  }
}

function publicView({ id, account, name, status, createdAt, lastUsedAt }: StoredKey): KeyInfo {
  return { id, account, name, status, createdAt, lastUsedAt };
}
