import type { KeyOutcome } from '../../lambda/revoker/protocol';
import { json } from './text';

/** What a state-changing command did, for `--json` and people alike. */
export interface ActionResult {
  action: string;
  name: string;
  operator?: string;
  /** One line per thing done, e.g. `key k-123 revoked`. */
  done: string[];
  keys?: KeyOutcome[];
}

/** Describes revoker outcomes, one line each. Pure. */
export function describeOutcomes(keys: readonly KeyOutcome[]): string[] {
  return keys.map((k) => `key ${k.keyId} ${k.outcome}${k.nextDue ? ` (next: ${k.nextDue})` : ''}${k.detail ? `: ${k.detail}` : ''}`);
}

/** Renders an {@link ActionResult} (stdout). Pure. */
export function formatAction(result: ActionResult, options: { json: boolean }): string {
  if (options.json) return json(result);
  const head = `${result.action} '${result.name}'${result.operator ? ` by ${result.operator}` : ''}:`;
  const lines = result.done.length > 0 ? result.done : ['nothing to do'];
  return `${head}\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
