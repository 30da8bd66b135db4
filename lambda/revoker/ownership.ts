import { labelledTokenFor, parseProviderKeyLabel } from '../../core/state';
import type { ProviderKey } from '../providers/types';
import { loadKeyState, readVersionKey, type KeyState } from './keys';
import { providerCall, type SecretWork } from './lifecycle';

/**
 * The one ownership rule every revoke and disable goes through (docs/security.md, "Ownership"). A key may be revoked
 * for a secret only when, re-read immediately before the provider call:
 * - `AWSCURRENT` and `AWSPENDING` of the secret do not reference it (bar `allowReferenced`, the confirmed emergency
 *   without replacement), and
 * - the provider labels it for this secret (its ARN resource id), or, unlabelled (an imported key), a version of this
 *   secret stores it.
 *
 * A key record (`keyrelay:key:*` tag) never counts: records say when, never which key is ours. A key the provider no
 * longer lists passes (its revoke answers "already gone").
 * @returns why the key may not be revoked, or undefined when it may.
 */
export async function ownershipProblem(work: SecretWork, keyId: string, allowReferenced = false): Promise<string | undefined> {
  const { deps } = work;
  const fresh = await refreshLabels(work);
  const stages = fresh.referenced.get(keyId);
  if (stages && !allowReferenced) return `${stages.join(' and ')} references it`;
  const key = (await listedKeys(work)).find((k) => k.keyId === keyId);
  if (!key) return undefined;
  if (labelledTokenFor(fresh.secret, key.label) !== undefined) return undefined;
  const owner = parseProviderKeyLabel(key.label)?.secret;
  if (owner !== undefined) return `it is labelled for secret '${owner}': revoke it through that secret`;
  if (stages) return undefined; // unlabelled but stored as AWSCURRENT/AWSPENDING of this secret
  const versions = new Set([fresh.holders.previous, work.state.records.get(keyId)?.versionId, fresh.records.get(keyId)?.versionId]);
  for (const versionId of versions) {
    if (versionId === undefined || fresh.secret.versions[versionId] === undefined) continue;
    if ((await readVersionKey(deps.sm, fresh.secret, versionId, false))?.keyId === keyId) return undefined;
  }
  return 'it is not labelled by keyrelay and no labelled version of this secret stores it: revoke it at the provider by hand';
}

/**
 * Re-reads the secret's labels and the keys `AWSCURRENT`/`AWSPENDING` reference into `work.state` (records stay as
 * the work knows them), so what the rest of the action decides from is at least this fresh.
 * @returns the fresh state, records included.
 */
export async function refreshLabels(work: SecretWork): Promise<KeyState> {
  const fresh = await loadKeyState(work.deps.sm, work.state.secret.arn, {
    trust: work.deps.trust,
    // As lenient as the load the work opened with: a new secret's placeholder holds no key (freeQuota).
    newSecretOk: work.state.holders.current !== undefined && work.state.current === undefined,
    known: work.state,
  });
  work.state.holders = fresh.holders;
  work.state.referenced = fresh.referenced;
  work.state.current = fresh.current;
  work.state.pending = fresh.pending;
  return fresh;
}

/** The provider's keys, listed at most once per piece of work (labels do not change). */
async function listedKeys(work: SecretWork): Promise<ProviderKey[]> {
  work.listed ??= await providerCall(work, 'list', undefined, () => work.provider.list());
  return work.listed;
}
