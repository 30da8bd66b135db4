import { z } from 'zod';
import { ConfigError } from '../../core/errors';

/**
 * A switchable fault: what the next matching requests suffer instead of (or before) their normal answer.
 * Faults never apply to `/_admin/faults` itself, so an outage can always be switched off again.
 */
export const FaultSchema = z.strictObject({
  /** Answer with this status and a JSON error body instead of handling the request. @default - handle normally (or 429 when `retryAfterSeconds` is set) */
  status: z.int().min(200).max(599).optional(),
  /** Error code of the injected body, e.g. `quota_exceeded`. @default - from the status text, e.g. `service_unavailable` */
  code: z.string().regex(/^[a-z0-9_]+$/).optional(),
  /** Wait this long (on the service's clock) before answering. @default 0 */
  latencyMs: z.int().min(0).max(3_600_000).optional(),
  /** Send `Retry-After: <seconds>`; alone it means a 429. @default - no header */
  retryAfterSeconds: z.int().min(0).max(86_400).optional(),
  /**
   * Simulate an outage: `true` or `'drop'` drops the connection without an answer (a crashed host); `'503'` answers
   * 503 `service_unavailable`. @default - no outage
   */
  outage: z.union([z.boolean(), z.literal('drop'), z.literal('503')]).optional(),
  /** How many requests the fault hits before it switches itself off. @default - every matching request until cleared */
  times: z.int().min(1).optional(),
  /** Which requests it hits. @default - every request */
  match: z
    .strictObject({
      /** HTTP method, case-insensitive. @default - any */
      method: z.string().min(1).optional(),
      /** Path prefix, e.g. `/v1/whoami` or `/v1/keys`. @default - any */
      path: z.string().startsWith('/').optional(),
    })
    .optional(),
});

/** A switchable fault (see {@link FaultSchema}). */
export type Fault = z.infer<typeof FaultSchema>;

/** What a request suffers, resolved from the fault that matched it. */
export interface FaultEffect {
  latencyMs: number;
  /** `drop`: destroy the socket; `respond`: answer `status`; `none`: only the latency, then handle normally. */
  action: 'drop' | 'respond' | 'none';
  status: number;
  code?: string;
  retryAfterSeconds?: number;
}

/**
 * The active faults, first match wins. `times` is counted when a request arrives, so a fault with `times: 1`
 * hits exactly one request even when several are in flight.
 */
export class FaultSet {
  private faults: Array<{ fault: Fault; left: number }> = [];

  /** Replaces the active faults with `faults` (one fault or a list). @throws ConfigError naming the bad field */
  set(faults: Fault | readonly Fault[]): void {
    const list: readonly Fault[] = Array.isArray(faults) ? faults : [faults as Fault];
    this.faults = list.map((fault, i) => {
      const parsed = FaultSchema.safeParse(fault);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ConfigError(`fault ${i}: '${issue?.path.join('.') || '(fault)'}' ${issue?.message ?? 'is invalid'}`);
      }
      return { fault: parsed.data, left: parsed.data.times ?? Infinity };
    });
  }

  /** Switches every fault off. */
  clear(): void {
    this.faults = [];
  }

  /** The active faults, `times` showing how many hits each has left. */
  list(): Fault[] {
    return this.faults.map(({ fault, left }) => (Number.isFinite(left) ? { ...fault, times: left } : { ...fault }));
  }

  /** Consumes one hit of the first fault matching the request, if any. */
  take(method: string, path: string): FaultEffect | undefined {
    const i = this.faults.findIndex(({ fault: { match } }) => {
      if (match?.method && match.method.toUpperCase() !== method.toUpperCase()) return false;
      return !match?.path || path.startsWith(match.path);
    });
    const entry = this.faults[i];
    if (!entry) return undefined;
    if (--entry.left <= 0) this.faults.splice(i, 1);
    const { fault } = entry;
    const effect = { latencyMs: fault.latencyMs ?? 0, code: fault.code, retryAfterSeconds: fault.retryAfterSeconds };
    if (fault.outage === true || fault.outage === 'drop') return { ...effect, action: 'drop', status: 0 };
    if (fault.outage === '503') return { ...effect, action: 'respond', status: 503 };
    const status = fault.status ?? (fault.retryAfterSeconds === undefined ? undefined : 429);
    return status === undefined ? { ...effect, action: 'none', status: 0 } : { ...effect, action: 'respond', status };
  }
}
