import { mapLimit } from '../aws';
import type { Context } from '../context';
import { EXIT, toCliError, type ExitCode } from '../errors';
import { formatRotateResults, formatRotationEvent, type RotateOutcome } from '../format/rotate';
import { rotateSecret } from '../rotation';
import { selectSecrets, type Selection } from '../secrets';

/** `keyrelay rotate NAME... | --all | --provider P` options. */
export interface RotateCommandOptions extends Selection {
  json: boolean;
  /** Rotations in flight at once (Secrets Manager allows 50 RotateSecret/s per account). @default 4 */
  concurrency: number;
  /** @default 300_000 */
  timeoutMs: number;
}

/**
 * Rotates the selected keys through Secrets Manager and waits for each outcome, printing each step on stderr and
 * a summary on stdout. Exits {@link EXIT.failed} when any rotation failed.
 */
export async function runRotate(ctx: Context, options: RotateCommandOptions): Promise<ExitCode> {
  const secrets = await selectSecrets(ctx, options);
  ctx.progress(`rotating ${secrets.length} key(s), ${Math.min(options.concurrency, secrets.length)} at a time`);
  const outcomes = await mapLimit(secrets, options.concurrency, async (secret): Promise<RotateOutcome> => {
    const started = ctx.clock.now();
    try {
      const result = await rotateSecret(ctx, secret, {
        timeoutMs: options.timeoutMs,
        onEvent: (e) => ctx.progress(formatRotationEvent(e, started)),
      });
      return { name: secret.name, ok: true, versionId: result.versionId, seconds: (result.currentAt - result.startedAt) / 1000 };
    } catch (err) {
      const e = toCliError(err, `key '${secret.name}'`);
      ctx.progress(`${secret.name}: failed [${e.code}] ${e.message}`);
      return { name: secret.name, ok: false, error: { code: e.code, message: e.message, hint: e.hint } };
    }
  });
  ctx.io.stdout.write(formatRotateResults(outcomes, { json: options.json }));
  return outcomes.every((o) => o.ok) ? EXIT.ok : EXIT.failed;
}
