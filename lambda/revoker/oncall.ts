import { randomUUID } from 'node:crypto';
import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { isoTime } from '../../core/clock';
import { fingerprint, formatSecretValue, type SecretValue } from '../../core/secret-value';
import { demotionRecord, labelledTokenFor, parseProviderKeyLabel } from '../../core/state';
import { ProviderAuthError } from '../providers/errors';
import { audit, cancel, open } from './actions';
import type { RevokerDeps } from './deps';
import { NothingToDoError, OnCallRefusedError } from './errors';
import { loadKeyState, readVersionKey } from './keys';
import { deleteKey, providerCall, throwIfFailed, writeRecord, type SecretWork } from './lifecycle';
import type { RevokerRequest, RevokerResponse } from './protocol';

/**
 * On-call actions that change which key a secret holds, or end its management: what the CLI once did with its own
 * Secrets Manager rights (PutSecretValue, UpdateSecretVersionStage, key-record tags), now done by the revoker, which
 * checks the input against the provider and the secret's state and takes its times from its own clock
 * (docs/security.md, "On-call goes through the revoker").
 */

type Req<A extends RevokerRequest['action']> = Extract<RevokerRequest, { action: A }>;

/**
 * A previous key whose record is due within this is not rolled back to: a revocation running now may be deleting it.
 * Measured on the revoker's clock, the one revocations are due by.
 */
export const ROLLBACK_MARGIN_MS = 60_000;

function refuseRotationInProgress(work: SecretWork): void {
  const { current, pending } = work.state.holders;
  if (pending !== undefined && pending !== current) {
    throw new OnCallRefusedError(
      'RotationInProgress',
      `secret '${work.state.secret.name}' has a rotation running or stuck (AWSPENDING on version ${pending}); ` +
        `wait for it, or abandon it with \`keyrelay cancel ${work.state.secret.name}\` first`,
    );
  }
}

/**
 * `rollback`: `AWSCURRENT` back to the `AWSPREVIOUS` version, when its key is still valid: its record is in `grace` or
 * `held`, not due within {@link ROLLBACK_MARGIN_MS} of the revoker's clock, not an emergency or cancel, and the provider
 * still accepts it. The key it demotes gets a full grace period first (`demotionRecord`, finishSecret's rule). The
 * move names the current version it read (`RemoveFromVersionId`), so a rotation finishing meanwhile makes it fail.
 */
export async function rollback(deps: RevokerDeps, request: Req<'rollback'>): Promise<RevokerResponse> {
  const work = await open(deps, request.secretId);
  const { state, provider } = work;
  const name = state.secret.name;
  refuseRotationInProgress(work);
  const { current, previous } = state.holders;
  const target = await readVersionKey(deps.sm, state.secret, previous, false);
  if (!previous || !current || !target) {
    throw new OnCallRefusedError('NoPreviousKey', `secret '${name}' has no AWSPREVIOUS key to roll back to; \`keyrelay history ${name}\` shows its versions`);
  }
  const record = state.records.get(target.keyId);
  const now = deps.clock.now();
  const why = !record
    ? 'has no lifecycle record, so its validity is unknown'
    : record.phase === 'revoked' || record.phase === 'disabled'
      ? `is ${record.phase}`
      : record.reason === 'emergency' || record.reason === 'cancel'
        ? `is being revoked (${record.reason})`
        : record.due <= now + ROLLBACK_MARGIN_MS
          ? `is due for revocation at ${isoTime(record.due)}: the revoker may be revoking it now`
          : undefined;
  if (why) {
    throw new OnCallRefusedError(
      'PreviousKeyNotValid',
      `secret '${name}': the previous key ${target.keyId} ${why}; rolling back would make a dead key current. ` +
        (record?.phase === 'disabled' ? `\`keyrelay restore ${name}\` first, then roll back` : `rotate instead: \`keyrelay rotate ${name}\``),
    );
  }
  try {
    await providerCall(work, 'verify', target.keyId, () => provider.verify(target.apiKey));
  } catch (err) {
    if (!(err instanceof ProviderAuthError)) throw err;
    throw new OnCallRefusedError('PreviousKeyNotValid', `secret '${name}': the provider no longer accepts the previous key ${target.keyId}; rotate instead: \`keyrelay rotate ${name}\``);
  }
  audit(deps, 'rollback', name, { keyId: target.keyId, fingerprint: fingerprint(target.apiKey), operator: request.operator, reason: request.reason });
  const demoted = state.current ? demotionRecord(state.secret, state.current.keyId, current, now) : undefined;
  if (demoted) await writeRecord(work, { ...demoted, reason: 'rollback', by: request.operator });
  await deps.sm.send(
    new UpdateSecretVersionStageCommand({ SecretId: state.secret.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: previous, RemoveFromVersionId: current }),
  );
  work.outcomes.push({ secretName: name, keyId: target.keyId, outcome: 'kept', detail: `AWSCURRENT again (version ${previous})` });
  if (demoted) work.outcomes.push({ secretName: name, keyId: demoted.keyId, outcome: 'kept', nextDue: isoTime(demoted.due), detail: 'demoted to AWSPREVIOUS' });
  return { action: 'rollback', keys: work.outcomes };
}

/**
 * `import`: adopts a key an application already uses as the new `AWSCURRENT`. Refused unless the provider accepts the
 * key, lists `keyId` for this admin credential, does not label it for another secret, and (when the current key names
 * one) it acts as the same principal. The key it replaces gets a full grace period.
 */
export async function importKey(deps: RevokerDeps, request: Req<'import'>): Promise<RevokerResponse> {
  const work = await open(deps, request.secretId);
  const { state, provider } = work;
  const name = state.secret.name;
  refuseRotationInProgress(work);
  if (state.current?.keyId === request.keyId) throw new NothingToDoError(`secret '${name}': key ${request.keyId} is already current`);
  let principal: string | undefined;
  try {
    principal = (await providerCall(work, 'verify', undefined, () => provider.verify(request.apiKey))).principal;
  } catch (err) {
    if (!(err instanceof ProviderAuthError)) throw err;
    throw new OnCallRefusedError('ImportInvalid', `secret '${name}': provider '${provider.type}' rejects the key given for ${request.keyId}; check you pasted the right key`);
  }
  const listed = (await providerCall(work, 'list', undefined, () => provider.list())).find((k) => k.keyId === request.keyId);
  if (!listed) {
    throw new OnCallRefusedError('ImportInvalid', `secret '${name}': provider '${provider.type}' lists no key ${request.keyId} for this admin credential; pass the id shown in the provider console`);
  }
  const owner = parseProviderKeyLabel(listed.label)?.secret;
  if (owner !== undefined && labelledTokenFor(state.secret, listed.label) === undefined) {
    throw new OnCallRefusedError('ImportInvalid', `secret '${name}': key ${request.keyId} is labelled for secret '${owner}'; import it there, or issue a key for this one`);
  }
  const currentPrincipal = state.current?.principal;
  if (currentPrincipal !== undefined && principal !== undefined && currentPrincipal !== principal) {
    throw new OnCallRefusedError('ImportInvalid', `secret '${name}': the key acts as '${principal}' but the current key as '${currentPrincipal}'; import a key of the same account`);
  }
  const now = deps.clock.now();
  const value: SecretValue = {
    apiKey: request.apiKey, keyId: request.keyId, provider: state.secret.settings.provider, issuedAt: isoTime(now),
    ...(principal === undefined ? {} : { principal }),
  };
  audit(deps, 'import', name, { keyId: request.keyId, fingerprint: fingerprint(request.apiKey), operator: request.operator, reason: request.reason });
  const { current } = state.holders;
  const demoted = state.current && current ? demotionRecord(state.secret, state.current.keyId, current, now) : undefined;
  if (demoted) await writeRecord(work, { ...demoted, reason: 'import', by: request.operator });
  const versionId = randomUUID();
  await deps.sm.send(
    new PutSecretValueCommand({ SecretId: state.secret.arn, ClientRequestToken: versionId, SecretString: formatSecretValue(value), VersionStages: ['AWSCURRENT'] }),
  );
  work.outcomes.push({ secretName: name, keyId: request.keyId, outcome: 'kept', detail: `AWSCURRENT (version ${versionId})` });
  if (demoted) work.outcomes.push({ secretName: name, keyId: demoted.keyId, outcome: 'kept', nextDue: isoTime(demoted.due), detail: 'replaced: valid for its grace period' });
  return { action: 'import', keys: work.outcomes };
}

/**
 * `retire`: ends a key's management at the provider: abandons a pending rotation, revokes every key its records name
 * (each through the ownership check), and, unless `handOver`, the current key too. Freezing it first, turning rotation
 * off and removing its tags stay the CLI's and the deploy's.
 */
export async function retire(deps: RevokerDeps, request: Req<'retire'>): Promise<RevokerResponse> {
  const keys = [];
  const { current, pending } = (await loadKeyState(deps.sm, request.secretId, { trust: deps.trust })).holders;
  if (pending !== undefined && pending !== current) {
    keys.push(...(await cancel(deps, { action: 'cancel', secretId: request.secretId, reason: request.reason, operator: request.operator })).keys);
  }
  const work = await open(deps, request.secretId);
  const { state } = work;
  audit(deps, 'retire', state.secret.name, { handOver: request.handOver, operator: request.operator, reason: request.reason });
  const by = request.operator;
  for (const record of [...state.records.values()]) {
    if (record.phase === 'revoked' || state.referenced.has(record.keyId)) continue;
    await deleteKey(work, record.keyId, { versionId: record.versionId, reason: 'retired', by });
  }
  if (!request.handOver && state.current) {
    await deleteKey(work, state.current.keyId, { versionId: state.holders.current, reason: 'retired', by }, true);
  }
  throwIfFailed(work.failures);
  return { action: 'retire', keys: [...keys, ...work.outcomes] };
}
