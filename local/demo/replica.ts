import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createKeyClient, handleKeyRotatedEvent, type KeyClient } from '../../client/index';
import { EVENTS } from '../../core/ports';
import type { KeyOutcome } from '../../lambda/revoker/protocol';
import type { ResolvedKey } from '../../lib/config';
import type { RecordedEvent } from '../scheduler';
import { LOCAL_CREDENTIALS, type LocalStack } from '../stack';
import { Fleet } from './fleet';
import type { DemoEvent } from './timeline';

/**
 * The demo's replica act (docs/replicas.md): one key is replicated to {@link REPLICA_REGION}, and an application there
 * reads it from its own region through keyrelay's client. At the key's first scheduled rotation the replica lags (the
 * local endpoint freezes it, `local/replicas.ts`): the app keeps the old key, the revoker holds that key's revocation at
 * its deadline (`ReplicaOutOfSync`) instead of breaking the app; an hour later the replica catches up and the next
 * check revokes the key.
 */

/** Where the replicated key's replica and its application live. */
export const REPLICA_REGION = 'us-west-2';
/**
 * How long the replica keeps lagging after the revoker first held a revocation for it (demo time). The catch-up waits
 * for the hold rather than a fixed time: at the demo's clock speeds a revoker action takes hours of demo time, so a
 * fixed catch-up time could pass before the revoker ever met the lagging replica.
 */
const LAG_AFTER_HOLD_MS = 3_600_000;

/** The key to replicate: one no other act uses, rotating during the story (the cron key of the example config). */
export function replicatedKey(keys: readonly ResolvedKey[], taken: ReadonlyArray<ResolvedKey | undefined>): ResolvedKey | undefined {
  return keys.find((k) => !taken.includes(k) && !k.usageHold && k.observationWindow === undefined && k.schedule.kind === 'cron') ??
    keys.find((k) => !taken.includes(k) && !k.usageHold && k.observationWindow === undefined);
}

/** What the replica act reports in the summary. */
export interface ReplicaResult {
  region: string;
  secretName: string;
  ok: number;
  failed: number;
  /** Revoker checks that held a revocation for the lagging replica. */
  heldChecks: number;
  /** Demo ms the replica lagged, when it did. */
  lagMs?: number;
  /** The held key was revoked after the replica caught up. */
  revokedAfterCatchUp: boolean;
}

/** Options of {@link ReplicaAct}. */
export interface ReplicaActOptions {
  stack: LocalStack;
  key: ResolvedKey;
  /** Requests per second of the replica region's application. */
  rate: number;
  /** The fleet's client ttl, seconds. */
  ttl: number;
  emit: (kind: DemoEvent['kind'], text: string, secretName?: string) => void;
}

/** The act; see the module comment. */
export class ReplicaAct {
  private readonly sm: SecretsManagerClient;
  private readonly client: KeyClient;
  private readonly app: Fleet;
  private heldChecks = 0;
  private heldKey?: string;
  private lag?: { from: number; to?: number };
  private revokedAfterCatchUp = false;

  constructor(private readonly options: ReplicaActOptions) {
    const { stack, key } = options;
    // The application's own region: its reads go to the replica.
    this.sm = new SecretsManagerClient({ region: REPLICA_REGION, credentials: LOCAL_CREDENTIALS, endpoint: stack.endpoint });
    this.client = createKeyClient({
      secretsManager: this.sm,
      secretsManagerIn: (region) => new SecretsManagerClient({ region, credentials: LOCAL_CREDENTIALS, endpoint: stack.endpoint }),
      clock: stack.clock,
      ttl: options.ttl,
    });
    this.app = new Fleet({ providerUrl: stack.providerUrl, clients: [this.client], keys: [key.name], rate: options.rate, inEmergency: () => false, onResult: () => undefined });
  }

  /** Makes the replica lag from the key's first scheduled rotation until {@link LAG_AFTER_HOLD_MS} after the revoker held the old key for it. */
  arm(): void {
    const { stack, key, emit } = this.options;
    stack.hookOnce(
      'before:createSecret',
      async () => {
        await stack.replicas.lag(REPLICA_REGION);
        this.lag = { from: stack.clock.now() };
        emit('replica', `${key.name}: replication to ${REPLICA_REGION} lags: the replica keeps serving the current key while the primary rotates`, key.name);
      },
      key.name,
    );
    emit('replica', `${key.name}: replicated to ${REPLICA_REGION}; an application there reads it from its own region`, key.name);
  }

  /** Lets the replica catch up {@link LAG_AFTER_HOLD_MS} from now. */
  private catchUpSoon(): void {
    const { stack, key, emit } = this.options;
    stack.clock.at(
      stack.clock.now() + LAG_AFTER_HOLD_MS,
      () => {
        stack.replicas.catchUp(REPLICA_REGION);
        if (this.lag) this.lag.to = stack.clock.now();
        emit('replica', `${key.name}: the ${REPLICA_REGION} replica caught up (InSync, the primary's version)`, key.name);
      },
      'demo: replica catches up',
    );
  }

  /** True when the revoker held `outcome`'s key for a replica (and the act took it). */
  onHeld(outcome: KeyOutcome): boolean {
    if (!outcome.detail?.startsWith('replica')) return false;
    this.heldChecks++;
    if (this.heldKey === undefined) {
      this.heldKey = outcome.keyId;
      this.catchUpSoon();
      this.options.emit('replica', `${outcome.secretName}: key ${outcome.keyId} is past its deadline but the ${REPLICA_REGION} replica still serves it: revocation held (metric ReplicaOutOfSync)`, outcome.secretName);
    }
    return true;
  }

  /** Notes a revocation (the held key's, once the replica caught up). */
  onRevoked(outcome: KeyOutcome): void {
    if (outcome.keyId === this.heldKey && this.lag?.to !== undefined) this.revokedAfterCatchUp = true;
  }

  /** `KeyRotated` reaches the replica region too (the forwarding rule): its app drops the cached key. */
  onKeyRotated(detail: RecordedEvent['detail']): void {
    handleKeyRotatedEvent({ source: EVENTS.source, 'detail-type': EVENTS.keyRotated, detail }, this.client);
  }

  start(): void {
    this.app.start();
  }

  async stop(): Promise<void> {
    await this.app.stop();
  }

  close(): void {
    this.sm.destroy();
  }

  result(): ReplicaResult {
    const [app] = this.app.apps;
    return {
      region: REPLICA_REGION,
      secretName: this.options.key.name,
      ok: app?.ok ?? 0,
      failed: app?.failed ?? 0,
      heldChecks: this.heldChecks,
      ...(this.lag ? { lagMs: (this.lag.to ?? this.options.stack.clock.now()) - this.lag.from } : {}),
      revokedAfterCatchUp: this.revokedAfterCatchUp,
    };
  }
}
