import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { registerSecret } from '../support/leak-guard';

let child: ChildProcess | undefined;

afterEach(() => {
  if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts main.ts and resolves with its first stdout line. */
async function run(...args: string[]): Promise<string> {
  child = spawn(process.execPath, ['--import', 'tsx', 'local/reference-provider/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return line;
}

describe('Script: local/reference-provider/main.ts', () => {
  it('prints one JSON line with the URL and admin keys, serves, and exits 0 on SIGTERM', async () => {
    // Act
    const ready = JSON.parse(await run('--accounts', '2', '--quota', '1')) as { url: string; adminKeys: string[] };
    const issue = () =>
      fetch(`${ready.url}/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${ready.adminKeys[1]}` }, body: '{"name":"k"}' });
    const created = (await (await issue()).json()) as { key: string; account: string };
    registerSecret(created.key);
    const full = await issue();
    const exited = once(child!, 'exit');
    child!.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    // Assess
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.adminKeys).toHaveLength(2);
    expect(created.account).toBe('acct-2');
    expect(full.status).toBe(409);
    expect(code).toBe(0);
  });
});
