import { ConfigError, describeError } from '../../core/errors';
import { onShutdown } from '../shutdown';
import { DEMO_USAGE, parseDemoArgs } from './options';
import { runDemo } from './run';

/**
 * `npm start [-- options]`: the demo (see `npm start -- --help`). Exit 0 when every check passed, 1 when one failed,
 * 2 for bad arguments, 130 after Ctrl-C (everything started, moto included, is stopped first).
 */
async function main(): Promise<number> {
  const options = parseDemoArgs(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  // Nothing reads EMF metric lines here; the demo records the data points itself.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  // The SDK's notice about its future Node 22 requirement would be the first thing a newcomer reads; the project
  // runs on Node 20 (package.json engines).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const abort = new AbortController();
  onShutdown((reason) => {
    process.stderr.write(`\nkeyrelay demo: ${reason}, stopping everything\n`);
    abort.abort();
  });
  const result = await runDemo({ ...options, signal: abort.signal });
  return result.aborted ? 130 : result.exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`keyrelay demo: ${describeError(err)}\n`);
    process.exitCode = err instanceof ConfigError ? 2 : 1;
  },
);
