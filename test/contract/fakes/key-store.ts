import type { FakeClock } from '../../support/fake-clock';

/** One key a contract fake holds. */
export interface StoredKey<R = unknown> {
  id: string;
  /** Key material (registered with the leak guard by whoever minted it). */
  value: string;
  name: string;
  status: 'active' | 'disabled';
  created: number;
  lastUsed: number | null;
  /** Scopes/policies/restrictions, in the provider's shape. */
  restrictions?: R;
}

/**
 * The state every contract fake shares: keys by id, a quota, and lookups by value. Provider fakes wrap it in
 * their own paths and JSON shapes.
 */
export class KeyStore<R = unknown> {
  readonly keys = new Map<string, StoredKey<R>>();
  private seq = 0;

  constructor(
    readonly clock: FakeClock,
    /** Most keys the account may hold. */
    public quota: number,
    private readonly newId: (n: number) => string,
    private readonly newValue: () => string,
  ) {}

  /** Whether another key fits. */
  full(): boolean {
    return this.keys.size >= this.quota;
  }

  add(name: string, restrictions?: R): StoredKey<R> {
    const key: StoredKey<R> = {
      id: this.newId(++this.seq),
      value: this.newValue(),
      name,
      status: 'active',
      created: this.clock.now(),
      lastUsed: null,
      restrictions,
    };
    this.keys.set(key.id, key);
    return key;
  }

  /** The active key with this value, marking it used; undefined when unknown, disabled or deleted. */
  use(value: string | undefined): StoredKey<R> | undefined {
    const key = [...this.keys.values()].find((k) => k.value === value);
    if (key?.status !== 'active') return undefined;
    key.lastUsed = this.clock.now();
    return key;
  }

  /** Makes the next issue hit the quota; returns the undo. */
  fill(): () => void {
    const before = this.quota;
    this.quota = this.keys.size;
    return () => {
      this.quota = before;
    };
  }

  /** Adds `count` keys named `seed-<n>`. */
  seed(count: number, restrictions?: R): void {
    for (let i = 0; i < count; i++) this.add(`seed-${this.keys.size + 1}`, restrictions);
  }

  /** Keys in creation order, `size` per page, page `index` (0-based). */
  page(index: number, size: number): { items: StoredKey<R>[]; more: boolean } {
    const all = [...this.keys.values()];
    return { items: all.slice(index * size, (index + 1) * size), more: (index + 1) * size < all.length };
  }
}

/** The bearer token of a request's `Authorization` header. */
export function bearer(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
}
