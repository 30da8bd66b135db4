import type { CliError } from '../errors';

function causeChain(err: unknown): string[] {
  const out: string[] = [];
  for (let c = (err as { cause?: unknown }).cause, depth = 0; c !== undefined && c !== err && depth < 3; depth++) {
    const text = c instanceof Error ? `${c.name}: ${c.message}` : String(c);
    if (!out.includes(text)) out.push(text);
    c = (c as { cause?: unknown } | null)?.cause;
  }
  return out;
}

/**
 * An error for stderr: `error [Code]: message`, its causes, the next step, and the stack only with `--debug`. Pure.
 */
export function formatError(err: CliError, options: { debug: boolean }): string {
  const lines = [`error [${err.code}]: ${err.message}`];
  for (const c of causeChain(err)) if (!err.message.includes(c)) lines.push(`  cause: ${c}`);
  lines.push(`  next: ${err.hint}`);
  if (options.debug) {
    lines.push(err.stack ?? '');
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.stack) lines.push(`caused by ${cause.stack}`);
  }
  return `${lines.join('\n')}\n`;
}
