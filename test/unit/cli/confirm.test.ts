import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirm, readSecretInput } from '../../../cli/confirm';
import { CliError, EXIT } from '../../../cli/errors';
import type { CliIo } from '../../../cli/io';
import { FakeClock } from '../../support/fake-clock';
import { secretValue } from '../../support/leak-guard';

function io(stdin: PassThrough & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown }): CliIo & { err: string[] } {
  const err: string[] = [];
  return { stdout: { write: () => true }, stderr: { write: (s: string) => err.push(s) }, stdin, env: {}, clock: new FakeClock(), err };
}

function piped(text: string | null): PassThrough {
  const stdin = new PassThrough();
  if (text !== null) stdin.end(text);
  return stdin;
}

/** A terminal-like stdin: raw mode switchable, keystrokes pushed by the test. */
function terminal(): PassThrough & { isTTY: boolean; setRawMode: (mode: boolean) => unknown; modes: boolean[] } {
  const stdin = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode: (mode: boolean) => unknown; modes: boolean[] };
  stdin.isTTY = true;
  stdin.modes = [];
  stdin.setRawMode = (mode: boolean) => stdin.modes.push(mode);
  return stdin;
}

describe('Function: confirm', () => {
  it('accepts the typed name and prints the consequence first', async () => {
    // Prepare
    const target = io(piped('payments/api\n'));

    // Act
    await confirm(target, { expected: 'payments/api', consequence: 'Revoke everything.' });

    // Assess
    expect(target.err.join('')).toBe("Revoke everything.\nType 'payments/api' to confirm: ");
  });

  it('tolerates surrounding spaces and a CRLF line end', async () => {
    // Act / Assess
    await expect(confirm(io(piped('  payments/api \r\n')), { expected: 'payments/api', consequence: 'x' })).resolves.toBeUndefined();
  });

  it.each([
    ['a different name', 'payments/other\n', /did not match: expected 'payments\/api'/],
    ['end of input', '', /no confirmation received \(end of input\)/],
  ])('refuses %s with ConfirmationRefused and exit 4', async (_what, input, message) => {
    // Act
    const result = confirm(io(piped(input)), { expected: 'payments/api', consequence: 'x' });

    // Assess
    await expect(result).rejects.toThrow(message);
    await expect(confirm(io(piped(input)), { expected: 'payments/api', consequence: 'x' })).rejects.toMatchObject({ code: 'ConfirmationRefused', exitCode: EXIT.refused });
  });

  it('never repeats the answer, which may be a key pasted by mistake', async () => {
    // Prepare: the leaked key is on the clipboard at 3 a.m.
    const pasted = secretValue('rk_live_pasted_by_mistake_0123456789');
    const target = io(piped(`${pasted}\n`));

    // Act
    const err = await confirm(target, { expected: 'payments/api', consequence: 'x' }).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(CliError);
    expect(`${(err as CliError).message} ${(err as CliError).hint} ${target.err.join('')}`).not.toContain(pasted);
  });

  it('does not read stdin with yes', async () => {
    // Prepare: a stdin that never ends would hang a read
    const target = io(piped(null));

    // Act
    await confirm(target, { expected: 'payments/api', consequence: 'x', yes: true });

    // Assess
    expect(target.err).toEqual([]);
  });
});

describe('Function: readSecretInput', () => {
  it('reads all of piped stdin, trimmed', async () => {
    // Act
    const value = await readSecretInput(io(piped('  sk_value_123456 \n')), 'Key: ');

    // Assess
    expect(value).toBe('sk_value_123456');
  });

  it('reads a terminal in raw mode without echo, honouring backspace', async () => {
    // Prepare
    const stdin = terminal();
    const target = io(stdin);

    // Act
    const pending = readSecretInput(target, 'Key (hidden): ');
    stdin.write('sk_abX\u007fc123\r');
    const value = await pending;

    // Assess
    expect(value).toBe('sk_abc123');
    expect(stdin.modes).toEqual([true, false]);
    expect(target.err.join('')).toBe('Key (hidden): \n');
  });

  it('treats Ctrl-C at the hidden prompt as a refusal', async () => {
    // Prepare
    const stdin = terminal();

    // Act
    const pending = readSecretInput(io(stdin), 'Key: ');
    stdin.write('sk\u0003');

    // Assess
    await expect(pending).rejects.toBeInstanceOf(CliError);
    expect(stdin.modes).toEqual([true, false]);
  });

  it('refuses empty input with exit 2', async () => {
    // Act / Assess
    await expect(readSecretInput(io(piped('\n')), 'Key: ')).rejects.toMatchObject({ code: 'NoKeyValue', exitCode: EXIT.usage });
  });
});
