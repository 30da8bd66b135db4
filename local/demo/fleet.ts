import { Agent, request } from 'node:http';
import type { KeyClient } from '../../client/index';

/** One keep-alive pool for every simulated caller: the load generator must not pay a TCP handshake per request. */
const agent = new Agent({ keepAlive: true, maxSockets: 512 });

/**
 * `GET /v1/whoami` with a bearer key, as an application calls the provider's protected endpoint.
 * @returns the HTTP status, or 0 when the connection failed
 */
export function whoami(providerUrl: string, apiKey: string, retried = false): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${providerUrl}/v1/whoami`, { agent, headers: { authorization: `Bearer ${apiKey}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A pooled keep-alive socket the server closed as it was reused (its idle timeout): the request never reached
      // the provider. Node's documented remedy for an idempotent request is one retry on a fresh socket; without it
      // the demo counted a transport race as a failed application request.
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') resolve(whoami(providerUrl, apiKey, true));
      else resolve(0);
    });
    req.end();
  });
}

/** Closes the pooled connections (the provider's stop would otherwise wait for them). */
export function closeFleetConnections(): void {
  agent.destroy();
}

/** A provider refusal, shaped as `isAuthFailure` expects (`status`). */
class RefusedError extends Error {
  constructor(readonly status: number) {
    super(`whoami answered HTTP ${status}`);
  }
}

/** Counters of one simulated application. */
export interface AppCounters {
  ok: number;
  failed: number;
  /** Attempts refused inside `withApiKey` and retried with a refreshed key (not failures). */
  refusedAttempts: number;
  /** Failures while the emergency window was open. */
  failedInEmergency: number;
  /** Failures on the key the provider revoked behind keyrelay's back, until it worked again (the self-healing act). */
  failedInSelfHeal: number;
  /** Requests not sent because too many were in flight (the load generator falling behind). */
  skipped: number;
}

/** Options of {@link Fleet}. */
export interface FleetOptions {
  providerUrl: string;
  /** One KeyClient per application (each app reads its keys through the project's client). */
  clients: KeyClient[];
  /** Secret names; request n of app i uses `keys[(i + n) % keys.length]` (every app uses every key). */
  keys: string[];
  /** Requests per second per application, real time. */
  rate: number;
  /** True while failures count as emergency failures. */
  inEmergency: () => boolean;
  /** True while failures on `key` count as the self-healing act's. @default - never */
  inSelfHeal?: (key: string) => boolean;
  /** Called on every completed request. */
  onResult: (ok: boolean, key: string) => void;
}

const MAX_IN_FLIGHT = 64;
const TICK_MS = 10;

/**
 * The simulated applications: open-loop load (requests are sent on schedule whether or not earlier ones answered,
 * as independent users would), each through `withApiKey`, so a refused key is refreshed and retried once as the
 * client library does in production.
 */
export class Fleet {
  readonly apps: AppCounters[];
  private timer?: NodeJS.Timeout;
  private inFlight: number[];
  private sent: number[];
  private startedAt = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: FleetOptions) {
    this.apps = options.clients.map(() => ({ ok: 0, failed: 0, refusedAttempts: 0, failedInEmergency: 0, failedInSelfHeal: 0, skipped: 0 }));
    this.inFlight = options.clients.map(() => 0);
    this.sent = options.clients.map(() => 0);
  }

  /** Starts sending. */
  start(): void {
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.pending]);
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.startedAt) / 1000) * this.options.rate);
    this.options.clients.forEach((client, i) => {
      while ((this.sent[i] as number) < due) {
        const n = (this.sent[i] as number) + 1;
        this.sent[i] = n;
        const app = this.apps[i] as AppCounters;
        if ((this.inFlight[i] as number) >= MAX_IN_FLIGHT) {
          app.skipped++;
          continue;
        }
        const key = this.options.keys[(i + n) % this.options.keys.length] as string;
        this.inFlight[i] = (this.inFlight[i] as number) + 1;
        const p = this.call(client, app, key).finally(() => {
          this.inFlight[i] = (this.inFlight[i] as number) - 1;
          this.pending.delete(p);
        });
        this.pending.add(p);
      }
    });
  }

  private async call(client: KeyClient, app: AppCounters, key: string): Promise<void> {
    try {
      await client.withApiKey(key, async (apiKey) => {
        const status = await whoami(this.options.providerUrl, apiKey);
        if (status !== 200) {
          if (status === 401 || status === 403) app.refusedAttempts++;
          throw new RefusedError(status);
        }
      });
      app.ok++;
      this.options.onResult(true, key);
    } catch {
      app.failed++;
      // The dead key's failures are the self-healing act's, even while the leaked key's emergency runs.
      if (this.options.inSelfHeal?.(key)) app.failedInSelfHeal++;
      else if (this.options.inEmergency()) app.failedInEmergency++;
      this.options.onResult(false, key);
    }
  }
}

/**
 * A caller that holds one key value and never refreshes it (an instance deployed before a rotation, outside the
 * client library): it keeps calling whoami every `intervalMs` real ms until stopped.
 */
export class RawCaller {
  ok = 0;
  failed = 0;
  /** Real time (performance.now()) of the first refusal, if any. */
  firstRefusedAt?: number;
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private readonly providerUrl: string,
    private readonly apiKey: string,
    private readonly intervalMs: number,
  ) {}

  /** Starts calling. `onRefused` runs once, at the first non-200 answer. */
  start(onRefused?: (status: number) => void): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const status = await whoami(this.providerUrl, this.apiKey);
        if (status === 200) this.ok++;
        else {
          this.failed++;
          if (this.firstRefusedAt === undefined) {
            this.firstRefusedAt = performance.now();
            onRefused?.(status);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
      }
    })();
  }

  /** Stops calling and waits for the last call. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
