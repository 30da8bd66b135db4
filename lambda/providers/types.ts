import type { Clock } from '../../core/clock';

/** A key the provider has just issued. `apiKey` is key material: never log it. */
export interface IssuedKey {
  /** The secret value applications send. */
  apiKey: string;
  /** The provider's handle for the key; not secret. */
  keyId: string;
  /** The account/principal the key acts as, where the provider says (confused-deputy check in setSecret). */
  principal?: string;
  /** Provider-specific public attributes worth keeping in the secret value (e.g. an access key id). */
  attributes?: Record<string, string>;
}

/** What `issue` is asked for. */
export interface IssueRequest {
  /** Name to give the key at the provider (see `providerKeyLabel`). */
  label: string;
  /** Id of the key this one replaces, when there is one. */
  replaces?: string;
}

/** A key as the provider lists it. Never carries key material. */
export interface ProviderKey {
  keyId: string;
  /** The label keyrelay gave it at issue time (see `providerKeyLabel`), or the provider's name for it. */
  label?: string;
  status: 'active' | 'disabled';
  /** Issue time, ms since the epoch, when the provider says. */
  createdAt?: number;
  /** Last use, ms since the epoch; null when never used; undefined when the provider does not report it. */
  lastUsedAt?: number | null;
}

/** What `verify` learned about a key that authenticated. */
export interface VerifiedKey {
  /** The account/principal the key acts as, when the provider says. */
  principal?: string;
}

/** What a provider can do beyond the required operations. */
export interface ProviderCapabilities {
  /** `disable`/`enable` exist: revocation can be two-phase. */
  disable: boolean;
  /** `lastUsed` (or `list`'s `lastUsedAt`) exists: revocation can wait for the key to go quiet. */
  lastUsed: boolean;
}

/**
 * One provider's key API, as keyrelay needs it. Every method throws the errors of `./errors` and nothing else
 * on purpose; adapters never log.
 */
export interface KeyProvider {
  /** Provider type as written in the config, e.g. `reference`, `aws-iam`. */
  readonly type: string;
  readonly capabilities: ProviderCapabilities;
  /** Most keys one admin credential may hold at once, when the provider has a limit. */
  readonly quota?: number;
  /**
   * The settings that decide what `list` returns. Secrets on one admin credential that agree on these share one
   * listing per reconcile sweep, whatever their other settings (scopes, a template key). @default - every setting
   */
  readonly listedBy?: readonly string[];
  /**
   * The provider's documented request limit per admin credential: the revoker spaces its calls through one adapter
   * `perMs / requests` apart. @default - none documented
   */
  readonly rateLimit?: { readonly requests: number; readonly perMs: number };
  /**
   * Issues a new key labelled `label`, so a retry can find it with `list`. `replaces` is the id of the key the new
   * one succeeds (the current key): adapters whose keys carry scopes, policies or restrictions copy them from it, so
   * a rotation never widens or narrows what the key may do. @default replaces - none (first issue: the adapter falls
   * back to its settings, e.g. a template key id)
   */
  issue(request: IssueRequest): Promise<IssuedKey>;
  /** Authenticates with `apiKey`. Throws `ProviderAuthError` when the key is rejected. */
  verify(apiKey: string): Promise<VerifiedKey>;
  /** Deletes the key for good. Throws `KeyNotFoundError` when it is already gone. */
  revoke(keyId: string): Promise<void>;
  /** Every key this admin credential can see (all pages). */
  list(): Promise<ProviderKey[]>;
  /** Makes the key stop working without deleting it. */
  disable?(keyId: string): Promise<void>;
  /** Undoes `disable`. */
  enable?(keyId: string): Promise<void>;
  /** Last use of the key (ms since the epoch), null if never used. */
  lastUsed?(keyId: string): Promise<number | null>;
}

/** What an adapter factory is given. */
export interface ProviderContext {
  /** Provider settings from the secret's tags (validated by the adapter's own schema). */
  settings: Readonly<Record<string, string>>;
  /** Reads the admin credential (a JSON string) from its own secret, once per call site. */
  adminCredential: () => Promise<string>;
  clock: Clock;
  /** HTTP client; injectable for tests. @default globalThis.fetch */
  fetch?: typeof fetch;
}
