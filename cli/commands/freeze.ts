import { isoTime } from '../../core/clock';
import { setFrozen } from '../../core/state';
import { mapLimit, withThrottleRetry } from '../aws';
import type { Context } from '../context';
import { EXIT, type ExitCode } from '../errors';
import { formatAction } from '../format/outcomes';
import { selectSecrets, type Selection } from '../secrets';

/** Makes free text fit AWS's tag value rules (letters, digits, spaces, `_ . : / = + - @`; 256 characters). Pure. */
export function tagSafe(text: string, max = 256): string {
  return text.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, max);
}

/**
 * `keyrelay freeze NAME...|--all` / `unfreeze`: pauses rotation (the rotation handler refuses a frozen secret) with a
 * note `<time> <operator>: <reason>` that `status` shows; unfreeze removes it.
 */
export async function runFreeze(ctx: Context, options: Selection & { json: boolean; reason?: string; unfreeze: boolean }): Promise<ExitCode> {
  const secrets = await selectSecrets(ctx, options);
  const operator = await ctx.operator();
  const note = options.unfreeze ? undefined : tagSafe(`${isoTime(ctx.clock.now())} ${operator}: ${options.reason ?? 'no reason given'}`);
  await mapLimit(secrets, 4, (s) => withThrottleRetry(ctx.clock, () => setFrozen(ctx.clients.sm, s.arn, note)));
  const action = options.unfreeze ? 'unfreeze' : 'freeze';
  const done = secrets.map((s) => (note ? `${s.name}: frozen (${note})` : `${s.name}: rotation resumed`));
  const name = options.names.length > 0 ? options.names.join(', ') : options.all ? 'all keys' : `provider ${options.provider}`;
  ctx.io.stdout.write(formatAction({ action, name, operator, done }, options));
  return EXIT.ok;
}
