import type { ResolvedKey } from '../../lib/config';

/**
 * The demo's self-healing act (issue 19): at {@link SELF_HEAL_AT} of the story the reference provider revokes one key's
 * current key on its own, as after a secret-scanning partner's report, without telling keyrelay. The canary rule
 * finds it dead and the revoker rotates it and revokes it with no human. The act measures how long the apps failed:
 * from the revocation to the first request that works again on that key, in real and demo time, and the requests
 * that failed meanwhile (the only failures outside the emergency the demo's checks allow).
 */

/** When, in the story, the provider revokes the key behind keyrelay's back. */
export const SELF_HEAL_AT = 5.5 * 86_400_000;
/**
 * Real ms the act's window stays open after the new key became current: requests already in flight with the dead key,
 * and apps that have not yet dropped it (the KeyRotated event, or their one refresh), fail inside it.
 */
export const SELF_HEAL_TAIL_MS = 1000;

/** What the act measured (the fleet counts the requests that failed in its window: `AppCounters.failedInSelfHeal`). */
export interface SelfHealResult {
  secretName: string;
  /** The provider revoked the key. */
  ran: boolean;
  /** A new key became current (KeyRotated). */
  healed: boolean;
  /** Real ms from the revocation to the first request that worked again on the key. */
  appsFailedForMs?: number;
  /** The same span on the demo clock, ms. */
  appsFailedForDemoMs?: number;
}

/** Picks the key the act revokes: one with a canary that no other act plays. */
export function selfHealKey(keys: readonly ResolvedKey[], taken: ReadonlyArray<ResolvedKey | undefined>): ResolvedKey | undefined {
  return keys.find((k) => !taken.includes(k) && k.canaryEvery !== undefined);
}

/** The act's bookkeeping; the run calls it from the fleet's results and the KeyRotated events it observes. */
export class SelfHealAct {
  private revokedAt?: { t: number; real: number };
  private healed = false;
  private healedReal?: number;
  private workingAgain?: { t: number; real: number };

  constructor(readonly secretName: string) {}

  /** The provider revoked the key (demo clock ms, real ms). */
  revoked(t: number, real: number): void {
    this.revokedAt = { t, real };
  }

  /** A new key of the secret became current (real ms). */
  rotated(secretName: string, real: number): void {
    if (secretName !== this.secretName || !this.revokedAt || this.healed) return;
    this.healed = true;
    this.healedReal = real;
  }

  /** Whether a failure on `key` at real time `real` is the act's: the key is dead, or the new one just came. */
  owns(key: string, real: number): boolean {
    return key === this.secretName && this.revokedAt !== undefined && (this.healedReal === undefined || real < this.healedReal + SELF_HEAL_TAIL_MS);
  }

  /** A request on `key` worked: the first after the new key became current is when the apps work again. */
  worked(key: string, t: number, real: number): void {
    if (key === this.secretName && this.healed && this.workingAgain === undefined) this.workingAgain = { t, real };
  }

  /** What it measured. */
  summary(): SelfHealResult {
    const { revokedAt, workingAgain } = this;
    return {
      secretName: this.secretName,
      ran: revokedAt !== undefined,
      healed: this.healed,
      ...(revokedAt && workingAgain ? { appsFailedForMs: Math.round(workingAgain.real - revokedAt.real), appsFailedForDemoMs: workingAgain.t - revokedAt.t } : {}),
    };
  }
}
