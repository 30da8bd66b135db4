import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KeyRelayError } from '../core/errors';

/** moto could not be found, installed or started. The message says what to run. */
export class MotoError extends KeyRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MotoUnavailable', message, options);
  }
}

/** The moto version the local stack is tested with. */
export const MOTO_VERSION = '5.2.1';

/** A running `moto_server`. */
export interface MotoServer {
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  pid: number;
  /** Kills the server's whole process group and waits for it to exit. */
  stop(): Promise<void>;
}

/** Options for {@link startMoto}. */
export interface StartMotoOptions {
  /** Directory whose `.venv` is used (or created) when `moto_server` is not on PATH. @default process.cwd() */
  projectDir?: string;
  /** Install moto into `<projectDir>/.venv` when it is missing. @default true */
  install?: boolean;
  /** How long to wait for the port line and the first answer, ms. @default 30_000 */
  timeoutMs?: number;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Finds `moto_server`: on PATH, else in `<projectDir>/.venv`, else (with `install`) creates that virtualenv and
 * `pip install "moto[server]==5.2.1"` into it.
 * @throws MotoError naming the exact commands to run when none of that works.
 */
export function findMotoServer(options: StartMotoOptions = {}): string {
  if (onPath('moto_server')) return 'moto_server';
  const venv = join(options.projectDir ?? process.cwd(), '.venv');
  const local = join(venv, 'bin', 'moto_server');
  if (existsSync(local)) return local;
  const manual =
    `python3 -m venv ${venv} && ${join(venv, 'bin', 'pip')} install "moto[server]==${MOTO_VERSION}"` +
    ' (or put moto_server on PATH)';
  if (options.install === false) throw new MotoError(`moto_server is not on PATH and ${local} does not exist; run: ${manual}`);
  process.stderr.write(`keyrelay local: moto_server not found; installing moto ${MOTO_VERSION} into ${venv}\n`);
  const steps: Array<[string, string[]]> = [
    ['python3', ['-m', 'venv', venv]],
    [join(venv, 'bin', 'pip'), ['install', '--quiet', `moto[server]==${MOTO_VERSION}`]],
  ];
  for (const [cmd, args] of steps) {
    const result = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) {
      throw new MotoError(`could not install moto (${cmd} ${args.join(' ')} failed); run by hand: ${manual}`, {
        cause: result.error,
      });
    }
  }
  return local;
}

// The watchdog kills moto's process group when this process dies without stopping it (SIGKILL, crash):
// it polls the parent's pid, which a plain `detached` child cannot do for itself.
const WATCHDOG = `
const [parent, group] = process.argv.slice(1).map(Number);
setInterval(() => {
  try { process.kill(parent, 0); } catch {
    try { process.kill(-group, 'SIGKILL'); } catch {}
    process.exit(0);
  }
}, 500);
process.on('SIGTERM', () => process.exit(0));
`;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts `moto_server -H 127.0.0.1 -p 0` in its own process group, reads the port it prints, and waits until it
 * answers. `stop()` (or the death of this process, through a small watchdog) kills the whole group, so no
 * python process is left behind.
 * @throws MotoError when moto is missing (see {@link findMotoServer}) or does not come up in time.
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const command = findMotoServer(options);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(command, ['-H', '127.0.0.1', '-p', '0'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), String(child.pid)], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  // A start that fails must not leave the watchdog polling: it would outlive the failure and later kill whatever
  // process group reuses moto's pid.
  const abandon = (): void => {
    killGroup(child, 'SIGKILL');
    watchdog.kill('SIGTERM');
  };

  let output = '';
  let onEarlyExit: (code: number | null) => void = () => undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(`moto_server printed no port within ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string): void => {
      clearTimeout(timer);
      abandon();
      reject(new MotoError(`${why}; output: ${output.slice(-500) || '(none)'}. Check \`${command} -H 127.0.0.1 -p 0\` by hand`));
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => fail(`cannot run ${command}: ${err.message}`));
    onEarlyExit = (code) => fail(`moto_server exited (code ${String(code)}) before it was ready`);
    child.once('exit', onEarlyExit);
  });
  // Keep draining moto's request log so its pipe never fills up, but drop it.
  child.stdout?.removeAllListeners('data').resume();
  child.stderr?.removeAllListeners('data').resume();
  child.off('exit', onEarlyExit);
  child.unref();
  (child.stdout as NodeJS.ReadableStream & { unref?: () => void } | null)?.unref?.();
  (child.stderr as NodeJS.ReadableStream & { unref?: () => void } | null)?.unref?.();

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/moto-api/data.json`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      abandon();
      throw new MotoError(`moto_server at ${url} did not answer within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  let stopping: Promise<void> | undefined;
  return {
    url,
    pid: child.pid as number,
    stop() {
      stopping ??= (async () => {
        killGroup(child, 'SIGTERM');
        // A ref'd timer keeps this process alive until moto is gone (the child itself is unref'd).
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 3000)));
        const outcome = await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          killGroup(child, 'SIGKILL');
          await exited;
        }
        // The group may hold more than the direct child (pyenv shims exec, but be sure).
        killGroup(child, 'SIGKILL');
        try {
          watchdog.kill('SIGTERM');
        } catch {
          // already gone
        }
      })();
      return stopping;
    },
  };
}
