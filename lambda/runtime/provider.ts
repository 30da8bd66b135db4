import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../../core/clock';
import { ConfigError } from '../../core/errors';
import { providerIdentity, TAGS, type ManagedSecret } from '../../core/state';
import type { createProvider } from '../providers';
import type { KeyProvider } from '../providers/types';

/**
 * Provider adapters per container, keyed by provider type, settings and admin secret. The admin credential is read
 * lazily (only when the adapter makes an admin call: verifying a key needs none) with `VersionStage: AWSCURRENT`
 * (moto answers a stale version without it).
 *
 * Trade-off: adapters keep their credential, so an admin credential rotated in its own secret is picked up when the
 * adapter expires (`ttlMs`), not at once.
 */
export class ProviderCache {
  private readonly adapters = new Map<string, { adapter: KeyProvider; createdAt: number }>();

  /** @param ttlMs how long an adapter (and the credential it read) is reused. @default 300000 */
  constructor(readonly ttlMs = 300_000) {}

  /** The cached adapter for `key`, or a new one from `create`. */
  get(key: string, now: number, create: () => KeyProvider): KeyProvider {
    const hit = this.adapters.get(key);
    if (hit && now - hit.createdAt < this.ttlMs) return hit.adapter;
    const adapter = create();
    this.adapters.set(key, { adapter, createdAt: now });
    return adapter;
  }
}

const containerCache = new ProviderCache();

/**
 * Builds (or reuses) the adapter for a managed secret from its tags: provider type and settings, and the secret named
 * by `keyrelay:admin-secret` holding the admin credential.
 * @throws ConfigError on an unknown provider type or bad settings; when the adapter first needs its credential,
 *   ConfigError if the tag is missing or the admin secret is empty.
 */
export async function providerForSecret(
  secret: ManagedSecret,
  sm: SecretsManagerClient,
  clock: Clock,
  cache: ProviderCache = containerCache,
  /** Adapter factory (tests). @default createProvider (lambda/providers), loaded on first use: adapters stay out of cold start */
  create?: typeof createProvider,
): Promise<KeyProvider> {
  const make = create ?? (await import('../providers')).createProvider;
  const { provider, providerSettings, adminSecret } = secret.settings;
  return cache.get(providerIdentity(secret.settings), clock.now(), () =>
    make(provider, {
      settings: providerSettings,
      clock,
      adminCredential: async () => {
        if (adminSecret === undefined) {
          throw new ConfigError(
            `secret '${secret.name}': provider '${provider}' needs an admin credential but tag '${TAGS.adminSecret}' is missing; ` +
              `set adminSecret for this key in keyrelay.config.json and deploy`,
          );
        }
        const out = await sm.send(new GetSecretValueCommand({ SecretId: adminSecret, VersionStage: 'AWSCURRENT' }));
        if (!out.SecretString) {
          throw new ConfigError(
            `admin credential secret '${adminSecret}' (for '${secret.name}', provider '${provider}') has no string value; ` +
              'store the provider admin credential JSON in it',
          );
        }
        return out.SecretString;
      },
    }),
  );
}
