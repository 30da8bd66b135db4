import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findMotoServer, MotoError, startMoto } from '../../local/moto';

// moto_server as the local stack runs it: found (or not), started on a free port, stopped with nothing left behind.
const PATH = process.env.PATH;
afterEach(() => {
  process.env.PATH = PATH;
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the moto watchdogs this process started that are still running (Linux /proc). */
function watchdogs(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    if (argv[1] === '-e' && argv[2]?.includes('process.kill(-group') && argv[3] === String(process.pid)) found.push(Number(entry));
  }
  return found;
}

/** Waits (real process exits, at most 5 s) until no watchdog of this process is left; returns those left. */
async function watchdogsAfterExit(): Promise<number[]> {
  for (let i = 0; i < 100 && watchdogs().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return watchdogs();
}

describe('Function: findMotoServer', () => {
  it('throws naming the exact commands to run when moto_server is missing and install is off', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'keyrelay-nomoto-'));
    process.env.PATH = '/usr/bin:/bin';

    try {
      // Act & Assess
      expect(() => findMotoServer({ projectDir: dir, install: false })).toThrow(MotoError);
      expect(() => findMotoServer({ projectDir: dir, install: false })).toThrow(
        `python3 -m venv ${join(dir, '.venv')} && ${join(dir, '.venv', 'bin', 'pip')} install "moto[server]==5.2.1"`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Function: startMoto', () => {
  it('serves on a free 127.0.0.1 port and leaves no process behind after stop', async () => {
    // Prepare
    const moto = await startMoto();

    // Act
    const before = await fetch(`${moto.url}/moto-api/data.json`);
    await before.arrayBuffer();
    await moto.stop();

    // Assess
    expect(moto.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(before.status).toBe(200);
    expect(alive(moto.pid)).toBe(false);
    await expect(fetch(`${moto.url}/moto-api/data.json`)).rejects.toThrow();
    expect(await watchdogsAfterExit()).toEqual([]);
  });

  it('throws MotoError and leaves neither moto nor its watchdog behind when moto is not up in time', async () => {
    // Act
    const starting = startMoto({ timeoutMs: 1 });

    // Assess
    await expect(starting).rejects.toThrow(MotoError);
    expect(await watchdogsAfterExit()).toEqual([]);
  });
});
