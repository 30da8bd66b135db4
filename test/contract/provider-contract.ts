import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { retry } from '../../core/retry';
import { providerKeyLabel } from '../../core/state';
import {
  KeyNotFoundError,
  ProviderAuthError,
  ProviderUnavailableError,
  QuotaExceededError,
  ThrottledError,
} from '../../lambda/providers/errors';
import { providerDefinition } from '../../lambda/providers';
import type { KeyProvider } from '../../lambda/providers/types';
import type { FakeClock } from '../support/fake-clock';
import { leakedSecrets, secretValue } from '../support/leak-guard';

/**
 * The one meaning every adapter gives each operation, checked against each adapter's fake (or the reference
 * provider). A provider file calls {@link describeProviderContract} with a `setup` that starts its fake and builds
 * the adapter; the suite then proves: issue returns a key that verify accepts and list shows with its label; revoke
 * makes verify fail and list drop it; revoking an already-deleted key throws KeyNotFoundError; a full quota throws
 * QuotaExceededError; a bad admin credential throws ProviderAuthError; 429 throws ThrottledError with
 * `retryAfterMs` (and `retry` then succeeds); 5xx throws ProviderUnavailableError. Every fake quotes the request's
 * credentials in each error answer (`test/support/echo-credentials.ts`): no error may repeat them.
 */
export interface ContractHarness {
  /** The adapter, with a valid admin credential. */
  provider: KeyProvider;
  /** The same adapter with a wrong admin credential. */
  badAdmin: KeyProvider;
  /** The clock the adapters were given. */
  clock: FakeClock;
  /** The next provider call answers 429 with `Retry-After: <seconds>`, in the provider's own words. */
  throttleNext(retryAfterSeconds: number): void;
  /** The next provider call answers a 5xx, in the provider's own words. */
  failNext(): void;
  /** Makes the next issue hit the provider's key quota; returns the undo. */
  fillQuota(): () => void;
  /** Deletes a key behind the adapter's back (someone used the console). */
  deleteOutOfBand(keyId: string): void;
  /** Adds keys nobody in the test issued, enough that a listing spans at least three of the provider's pages. */
  seedPages(): void;
  /** How many keys the provider holds now (what a complete listing returns). */
  keyCount(): number;
  /** Id of an existing key to pass as `replaces` on the first issue, when the adapter copies restrictions. */
  initialKeyId?: string;
  /** What a key may do at the provider (scopes, policies, restrictions), for the "same restrictions" check. */
  restrictions?(keyId: string): unknown;
  /** Contract violations recorded so far (requests/responses that do not validate against the provider's spec). */
  violations(): string[];
  stop(): Promise<void>;
}

/** A random key value of `length` characters after `prefix`, registered with the leak guard. */
export function mintKey(prefix: string, length = 40, alphabet: 'hex' | 'base64url' = 'base64url'): string {
  const raw = alphabet === 'hex' ? randomBytes(length).toString('hex') : randomBytes(length).toString('base64url');
  return secretValue(`${prefix}${raw.slice(0, length)}`);
}

/** Registers the shared contract suite for one adapter. */
export function describeProviderContract(name: string, setup: () => Promise<ContractHarness>): void {
  describe(`Provider contract: ${name}`, () => {
    let h: ContractHarness;
    let n = 0;
    const label = () => providerKeyLabel({ arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:contract/${name}-AbCdEf`, name: `contract/${name}` }, `token-${++n}`);

    beforeAll(async () => {
      h = await setup();
    });
    afterAll(async () => {
      await h?.stop();
    });
    afterEach(() => {
      // Every request the adapter sent and every answer the fake gave matched the provider's published contract.
      expect(h.violations()).toEqual([]);
    });

    it('has the capabilities its registry entry declares (declared once, so config checks and the revoker agree)', () => {
      expect(h.provider.capabilities).toBe(providerDefinition(h.provider.type).capabilities);
    });

    it('issues a key that verify accepts and list shows with its label', async () => {
      // Prepare
      const wanted = label();

      // Act
      const issued = await h.provider.issue({ label: wanted, replaces: h.initialKeyId });
      await h.provider.verify(issued.apiKey);
      const listed = await h.provider.list();

      // Assess
      expect(issued.keyId).not.toBe('');
      expect(issued.apiKey).not.toBe('');
      expect(listed.find((k) => k.keyId === issued.keyId)).toMatchObject({ label: wanted, status: 'active' });
    });

    it('lists every key across pages', async () => {
      // Prepare
      h.seedPages();
      const issued = await h.provider.issue({ label: label(), replaces: h.initialKeyId });

      // Act
      const listed = await h.provider.list();

      // Assess
      expect(listed.length).toBe(h.keyCount());
      expect(new Set(listed.map((k) => k.keyId)).size).toBe(listed.length);
      expect(listed.some((k) => k.keyId === issued.keyId)).toBe(true);
    });

    it('makes verify fail and list drop the key when revoked', async () => {
      // Prepare
      const issued = await h.provider.issue({ label: label(), replaces: h.initialKeyId });

      // Act
      await h.provider.revoke(issued.keyId);

      // Assess
      await expect(h.provider.verify(issued.apiKey)).rejects.toBeInstanceOf(ProviderAuthError);
      expect((await h.provider.list()).some((k) => k.keyId === issued.keyId)).toBe(false);
    });

    it('throws KeyNotFoundError when revoking a key that is already deleted', async () => {
      // Prepare
      const issued = await h.provider.issue({ label: label(), replaces: h.initialKeyId });
      h.deleteOutOfBand(issued.keyId);

      // Act
      const revoking = h.provider.revoke(issued.keyId);

      // Assess
      await expect(revoking).rejects.toBeInstanceOf(KeyNotFoundError);
    });

    it('throws ProviderAuthError when verifying a key it never issued', async () => {
      await expect(h.provider.verify(mintKey('never-issued-', 48))).rejects.toBeInstanceOf(ProviderAuthError);
    });

    it('throws QuotaExceededError when the key quota is full', async () => {
      // Prepare
      const undo = h.fillQuota();

      // Act
      const issuing = h.provider.issue({ label: label(), replaces: h.initialKeyId });

      // Assess
      await expect(issuing).rejects.toBeInstanceOf(QuotaExceededError);
      undo();
    });

    it('throws ProviderAuthError when the admin credential is wrong', async () => {
      await expect(h.badAdmin.list()).rejects.toBeInstanceOf(ProviderAuthError);
      await expect(h.badAdmin.issue({ label: label(), replaces: h.initialKeyId })).rejects.toBeInstanceOf(ProviderAuthError);
    });

    it('throws ThrottledError with retryAfterMs on 429, and succeeds when retried after it', async () => {
      // Prepare
      h.throttleNext(7);

      // Act
      const first = await h.provider.list().catch((err: unknown) => err);
      h.throttleNext(3);
      const start = h.clock.now();
      h.clock.autoAdvance = true;
      const listed = await retry(() => h.provider.list(), { clock: h.clock, attempts: 3 });
      h.clock.autoAdvance = false;

      // Assess
      expect(first).toBeInstanceOf(ThrottledError);
      expect((first as ThrottledError).retryAfterMs).toBe(7000);
      expect(Array.isArray(listed)).toBe(true);
      expect(h.clock.now() - start).toBe(3000);
    });

    it('throws ProviderUnavailableError on a 5xx', async () => {
      // Prepare
      h.failNext();

      // Act
      const listing = h.provider.list();

      // Assess
      await expect(listing).rejects.toBeInstanceOf(ProviderUnavailableError);
    });

    it('keeps every credential it sent out of its errors, though the provider quotes them', async () => {
      // Prepare: one failure of each kind, each answer quoting the admin credential or the key being verified.
      const issued = await h.provider.issue({ label: label(), replaces: h.initialKeyId });
      const failures: Array<() => Promise<unknown>> = [
        () => h.provider.verify(mintKey('never-issued-', 48)),
        () => h.badAdmin.list(),
        () => h.badAdmin.issue({ label: label(), replaces: h.initialKeyId }),
        () => (h.throttleNext(1), h.provider.list()),
        () => (h.failNext(), h.provider.list()),
        async () => {
          const undo = h.fillQuota();
          await h.provider.issue({ label: label(), replaces: h.initialKeyId }).finally(undo);
        },
        async () => {
          h.deleteOutOfBand(issued.keyId);
          await h.provider.revoke(issued.keyId);
        },
      ];

      // Act
      const errors: unknown[] = [];
      for (const fail of failures) errors.push(await fail().then(() => undefined, (err: unknown) => err));

      // Assess
      for (const err of errors) {
        expect(err).toBeInstanceOf(Error);
        const e = err as Error;
        expect(leakedSecrets(`${String(e)}\n${e.stack ?? ''}\n${JSON.stringify({ ...e })}\n${String(e.cause ?? '')}`)).toEqual([]);
      }
    });

    it('gives a new key exactly the restrictions of the key it replaces', async ({ skip }) => {
      if (!h.restrictions) skip('keys of this provider carry no per-key restrictions');
      // Prepare: what the key keyrelay starts from may do (a first issue copies it too).
      const wanted = h.restrictions?.(h.initialKeyId ?? '');
      const first = await h.provider.issue({ label: label(), replaces: h.initialKeyId });

      // Act
      const second = await h.provider.issue({ label: label(), replaces: first.keyId });

      // Assess: the same as the starting key, not merely the same as each other (an adapter dropping a
      // restriction every time would pass that).
      expect(wanted).not.toBeUndefined();
      expect(h.restrictions?.(first.keyId)).toEqual(wanted);
      expect(h.restrictions?.(second.keyId)).toEqual(wanted);
    });

    it('makes verify fail when disabled and work again when enabled', async ({ skip }) => {
      if (!h.provider.capabilities.disable) skip('the provider cannot disable a key');
      // Prepare
      const issued = await h.provider.issue({ label: label(), replaces: h.initialKeyId });

      // Act
      await h.provider.disable?.(issued.keyId);
      const whileDisabled = await h.provider.verify(issued.apiKey).catch((err: unknown) => err);
      const listed = (await h.provider.list()).find((k) => k.keyId === issued.keyId);
      await h.provider.enable?.(issued.keyId);

      // Assess
      expect(whileDisabled).toBeInstanceOf(ProviderAuthError);
      expect(listed?.status).toBe('disabled');
      await expect(h.provider.verify(issued.apiKey)).resolves.toBeDefined();
    });

    it('reports when a key was last used', async ({ skip }) => {
      if (!h.provider.capabilities.lastUsed) skip('the provider does not report last use');
      // Prepare
      const issued = await h.provider.issue({ label: label(), replaces: h.initialKeyId });
      const before = h.provider.lastUsed ? await h.provider.lastUsed(issued.keyId) : undefined;

      // Act
      await h.provider.verify(issued.apiKey);
      const after = h.provider.lastUsed
        ? await h.provider.lastUsed(issued.keyId)
        : (await h.provider.list()).find((k) => k.keyId === issued.keyId)?.lastUsedAt;

      // Assess
      if (h.provider.lastUsed) expect(before).toBeNull();
      expect(typeof after).toBe('number');
    });
  });
}
