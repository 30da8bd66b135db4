import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../core/errors';

/** Demo time the story spans: every act (rotations, outage, straggler, emergency) falls inside it. */
export const STORY_SPAN_MS = 12 * 86_400_000;

/** Options of {@link import('./run').runDemo}. */
export interface DemoOptions {
  /** Simulated applications. @default 10 */
  clients: number;
  /** Requests per second each application sends (real time). @default 20 */
  rate: number;
  /** Real seconds the fleet runs (the story's 12 days are squeezed into it unless `speed` is set). @default 60 */
  duration: number;
  /** Clock speed (demo seconds per real second). @default - 12 days over `duration` */
  speed?: number;
  /** Keys to declare: the example config's five, plus copies of the first when more. @default 5 */
  keys: number;
  /** Seed of the random moment inside each rotation window. @default 1 */
  seed: number;
  /** Reference provider keys per admin credential (every declared key shares one). @default 1000 */
  quota: number;
  /** Deployable config the keys come from. @default 'examples/keyrelay.config.json' */
  configPath: string;
  /** Directory of the HTML report and the JSON summary. @default '.keyrelay' */
  outDir: string;
}

/** Defaults of {@link DemoOptions}. */
export const DEMO_DEFAULTS: DemoOptions = {
  clients: 10,
  rate: 20,
  duration: 60,
  keys: 5,
  seed: 1,
  quota: 1000,
  configPath: join('examples', 'keyrelay.config.json'),
  outDir: '.keyrelay',
};

/** What `npm start -- --help` prints. */
export const DEMO_USAGE = `npm start [-- options]

Runs keyrelay's whole lifecycle on this machine (moto, the reference provider, the rotation function and the
revoker in-process) on a sped-up clock, under load from a fleet of simulated applications, then prints a summary
and writes an HTML report. Exit status 0 only when no request failed outside the emergency, at most one per
application failed during it, no orphaned key remains and the leaked key was refused.

Options:
  --clients N     simulated applications (default ${DEMO_DEFAULTS.clients})
  --rate N        requests per second per application (default ${DEMO_DEFAULTS.rate})
  --duration S    real seconds the fleet runs (default ${DEMO_DEFAULTS.duration})
  --speed N       clock speed, demo seconds per real second (default: 12 days over --duration)
  --keys N        keys to declare, at least 5: the example config's five plus copies (default ${DEMO_DEFAULTS.keys})
  --seed N        seed of the rotation windows' random moments (default ${DEMO_DEFAULTS.seed})
  --quota N       reference provider keys per admin credential (default ${DEMO_DEFAULTS.quota})
  --config FILE   deployable config to take the keys from (default ${DEMO_DEFAULTS.configPath})
  --out DIR       where the report goes (default ${DEMO_DEFAULTS.outDir})
  -h, --help      this text

Ctrl-C stops everything (moto included) and exits 130.
`;

function positive(name: string, text: string | undefined, fallback: number, integer: boolean, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new ConfigError(`--${name} must be ${integer ? 'a whole number' : 'a number'} of at least ${min}, got '${text}'`);
  }
  return value;
}

/** The demo's flags, parsed strictly (an unknown flag throws). */
function parseDemoFlags(args: string[]) {
  return parseArgs({
    args,
    options: {
      clients: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      speed: { type: 'string' },
      keys: { type: 'string' },
      seed: { type: 'string' },
      quota: { type: 'string' },
      config: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}

/**
 * Parses `npm start` arguments.
 * @returns the options, or `'help'` for `-h`/`--help`
 * @throws ConfigError naming the flag and the value received
 */
export function parseDemoArgs(args: string[]): DemoOptions | 'help' {
  let values: ReturnType<typeof parseDemoFlags>['values'];
  try {
    ({ values } = parseDemoFlags(args));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}; see \`npm start -- --help\``);
  }
  if (values.help) return 'help';
  const d = DEMO_DEFAULTS;
  return {
    clients: positive('clients', values.clients, d.clients, true, 1),
    rate: positive('rate', values.rate, d.rate, false, 0.1),
    duration: positive('duration', values.duration, d.duration, false, 1),
    ...(values.speed !== undefined ? { speed: positive('speed', values.speed, 1, false, 1) } : {}),
    keys: positive('keys', values.keys, d.keys, true, 5),
    seed: positive('seed', values.seed, d.seed, true, 0),
    quota: positive('quota', values.quota, d.quota, true, 1),
    configPath: values.config ?? d.configPath,
    outDir: values.out ?? d.outDir,
  };
}
