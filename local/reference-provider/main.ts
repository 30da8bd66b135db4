/**
 * Runs the reference provider on its own: prints one JSON line `{"url":...,"adminKeys":[...]}` on stdout (admin keys
 * are local-only credentials) and stops on SIGINT/SIGTERM.
 *
 * @example
 * npx tsx local/reference-provider/main.ts --port 8080 --quota 5 --accounts 2
 */
import { parseArgs } from 'node:util';
import { describeError } from '../../core/errors';
import { startReferenceProvider } from './index';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      quota: { type: 'string', default: '5' },
      accounts: { type: 'string', default: '1' },
    },
  });
  const provider = await startReferenceProvider({
    host: values.host,
    port: Number(values.port),
    quota: Number(values.quota),
    accounts: Number(values.accounts),
  });
  process.stdout.write(`${JSON.stringify({ url: provider.url, adminKeys: provider.adminKeys })}\n`);
  const shutdown = (): void => {
    // A latency fault may hold a timer on the system clock: exit once the server is closed rather than wait for it.
    provider.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`reference provider: stop failed: ${describeError(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`reference provider: ${describeError(err)}\n`);
  process.exitCode = 1;
});
