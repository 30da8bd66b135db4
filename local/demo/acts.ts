import { fingerprint } from '../../core/secret-value';
import type { ResolvedKey } from '../../lib/config';
import type { LocalStack } from '../stack';
import { currentKey } from './cast';
import { RawCaller } from './fleet';
import { SELF_HEAL_AT, type SelfHealAct } from './self-heal';
import type { DemoRun } from './state';

const DAY = 86_400_000;
/** How long after its revocation is first held the straggler is redeployed (and stops using the old key). */
const STRAGGLER_REDEPLOY_AFTER = DAY;
/** Failed rotation steps after which the provider's outage ends. */
export const OUTAGE_FAILED_STEPS = 2;

/** Act: the provider's key API goes down as the first scheduled rotation of the outage key starts. */
export function armOutage(run: DemoRun, s: LocalStack, name: string): void {
  s.hookOnce(
    'before:createSecret',
    () => {
      run.outageOn = true;
      s.provider.faults.set({ outage: '503', match: { method: 'POST', path: '/v1/keys' } });
      run.emit('outage', `provider outage: POST /v1/keys answers 503 while ${name} starts rotating`, name);
    },
    name,
  );
}

/** Act: the provider revokes a key on its own (a secret-scanning partner's report), without telling keyrelay. */
export function armSelfHeal(run: DemoRun, s: LocalStack, act: SelfHealAct): void {
  s.clock.at(
    run.timeline.start + SELF_HEAL_AT,
    async () => {
      if (run.stopping) return;
      const reader = s.secretsManager();
      try {
        const value = await currentKey(reader, act.secretName);
        s.provider.scannerRevoke({ key: value });
        act.revoked(s.clock.now(), performance.now());
        run.emit('emergency', `${act.secretName}: the provider revoked key ${fingerprint(value)} on its own (found in a public repository) and told nobody; apps using it now fail`, act.secretName);
      } finally {
        reader.destroy();
      }
    },
    'demo: key revoked behind keyrelay\'s back',
  );
}

/** Act: a straggler instance holds the key current at the start and never refreshes it. */
export function armStraggler(run: DemoRun, s: LocalStack, key: ResolvedKey, value: string): void {
  const quiet = (key.usageHold?.quietPeriod ?? 3600) * 1000;
  run.stragglerKeyId = run.currentOf.get(key.name);
  run.straggler = new RawCaller(s.providerUrl, value, Math.max(5, Math.min(250, quiet / 4 / run.speed)));
  run.emit('straggler', `${key.name}: a straggler instance holds key ${run.stragglerKeyId ?? '?'} (${fingerprint(value)}) and never refreshes it`, key.name);
}

/** The straggler act's answer to its key's revocation being held: the instance is redeployed a day later. */
export function onStragglerHeld(run: DemoRun, stragglerName: string | undefined, secretName: string, keyId: string): void {
  const stack = run.stack;
  if (secretName !== stragglerName || keyId !== run.stragglerKeyId || !stack) return;
  stack.clock.at(
    stack.clock.now() + STRAGGLER_REDEPLOY_AFTER,
    async () => {
      await run.straggler?.stop();
      run.emit('straggler', `${secretName}: the straggler instance is redeployed and stops using key ${keyId}; the hold ends after the quiet period`, secretName);
    },
    'demo: straggler redeployed',
  );
}
