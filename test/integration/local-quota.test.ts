import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Issue 20: `npm run local` could not start with more than 5 keys on one provider (the reference provider's quota),
// and nothing said how to raise it.

const ROOT = join(import.meta.dirname, '..', '..');
const KEYS = 50;
const dir = mkdtempSync(join(tmpdir(), 'keyrelay-quota-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A config of `KEYS` reference keys sharing one admin credential. */
function manyKeysConfig(): string {
  const file = join(dir, 'keyrelay.config.json');
  const keys = Object.fromEntries(Array.from({ length: KEYS }, (_, i) => [`many/api-${i}`, {}]));
  writeFileSync(
    file,
    JSON.stringify({ defaults: { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/many', rotateEvery: '7d', gracePeriod: '1h' }, keys }),
  );
  return file;
}

/** Runs `npm run local -- args` until its ready line (then stops its process group) or its exit. */
async function runLocal(args: string[]): Promise<{ ready?: Record<string, unknown>; code?: number | null; stderr: string }> {
  const child = spawn('npm', ['run', 'local', '--', ...args, '--out', join(dir, 'local.json')], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const outcome = await new Promise<{ ready?: Record<string, unknown>; code?: number | null }>((resolve) => {
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const line = text.split('\n').find((l) => l.startsWith('keyrelay local ready '));
        if (line) resolve({ ready: JSON.parse(line.slice('keyrelay local ready '.length)) as Record<string, unknown> });
      });
      void exited.then((code) => resolve({ code }));
    });
    return { ...outcome, stderr };
  } finally {
    try {
      process.kill(-(child.pid as number), 'SIGTERM');
    } catch {
      // already gone
    }
    await exited;
  }
}

describe('Command: npm run local --quota', () => {
  it(`starts with ${KEYS} keys on one provider when --quota makes room for them`, async () => {
    // Act
    const run = await runLocal(['--config', manyKeysConfig(), '--quota', String(2 * KEYS)]);
    // Assess
    expect(run.ready, run.stderr).toBeDefined();
    expect(run.ready?.secrets).toHaveLength(KEYS);
  }, 240_000); // 50 first rotations through the functions' bundles (npm run local's default), on a shared machine

  it('fails at the first key past the quota with an error naming the option that raises it', async () => {
    // Act
    const run = await runLocal(['--config', manyKeysConfig()]);
    // Assess
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/first rotation of 'many\/api-5' did not succeed/);
    expect(run.stderr).toMatch(/the reference provider's quota of 5 keys per admin credential is full: raise it with `npm run local -- --quota N`/);
  }, 120_000);

  it('refuses a --quota that is not a whole number of keys', async () => {
    // Act
    const run = await runLocal(['--config', manyKeysConfig(), '--quota', '0']);
    // Assess
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/--quota must be a whole number >= 1 .* got '0'/);
  });
});
