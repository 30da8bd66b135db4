import { mkdtempSync, rmSync } from 'node:fs';
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
  });
});
