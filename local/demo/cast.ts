import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseSecretValue } from '../../core/secret-value';
import type { ResolvedKey } from '../../lib/config';
import { EMERGENCY_AT } from './emergency';
import { STORY_SPAN_MS } from './options';

/** Who plays which part of the story, picked from the config by settings (any config works; missing parts are skipped). */
export interface Cast {
  /** A rate-scheduled key without holds: its first scheduled rotation meets a provider outage. */
  outage?: ResolvedKey;
  /** A key with a usage hold: a straggler keeps its old key in use. */
  straggler?: ResolvedKey;
  /** The key rotating least often (no scheduled rotation before the emergency): leaked. */
  leaked?: ResolvedKey;
}

/** Casts the story's parts from the keys. */
export function cast(keys: ResolvedKey[]): Cast {
  const leaked = [...keys].sort((a, b) => b.schedule.every - a.schedule.every)[0];
  const straggler = keys.find((k) => k.usageHold && k !== leaked);
  const outage = keys.find(
    (k) => k.schedule.kind === 'rate' && !k.usageHold && k.observationWindow === undefined && k !== leaked && k.schedule.every * 1000 < EMERGENCY_AT,
  );
  return { outage, straggler, leaked: leaked && leaked.schedule.every * 1000 > STORY_SPAN_MS ? leaked : undefined };
}

/** The example config's keys, plus copies of the first up to `count`. */
export function declaredKeys(configKeys: ResolvedKey[], count: number): ResolvedKey[] {
  const keys = configKeys.slice(0, count);
  const model = configKeys[0];
  for (let i = keys.length; model && i < count; i++) keys.push({ ...model, name: `extra/reference-api-${i + 1}` });
  return keys;
}

/** A secret's current key value (a prop: what the straggler, the attacker or the scanner holds). */
export async function currentKey(sm: SecretsManagerClient, name: string): Promise<string> {
  const out = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
  return parseSecretValue(out.SecretString, name).apiKey;
}
