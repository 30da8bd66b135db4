import { createInterface } from 'node:readline';
import { CliError, EXIT } from './errors';
import type { CliIo } from './io';

/** What a person must type to go ahead, and what the prompt says it will do. */
export interface ConfirmRequest {
  /** The exact text to type, usually the key's name. */
  expected: string;
  /** What happens when confirmed, shown before the prompt (e.g. the downtime it causes). */
  consequence: string;
  /** `--yes`: skip the prompt (automation). */
  yes?: boolean;
}

/**
 * Reads one line from stdin (a terminal or a pipe). Resolves `undefined` at end of input. Nothing is echoed by us;
 * a terminal echoes what is typed.
 */
export function readLine(io: CliIo): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.stdin, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}

/**
 * Asks the operator to type `expected` (on stderr, answer from stdin: a terminal or piped input) unless `yes`.
 * @throws CliError `ConfirmationRefused` (exit {@link EXIT.refused}) on a different answer or end of input.
 */
export async function confirm(io: CliIo, request: ConfirmRequest): Promise<void> {
  if (request.yes) return;
  io.stderr.write(`${request.consequence}\nType '${request.expected}' to confirm: `);
  const answer = await readLine(io);
  if (answer === undefined) {
    io.stderr.write('\n');
    throw new CliError(
      'ConfirmationRefused',
      `no confirmation received (end of input); nothing was changed`,
      `type '${request.expected}' at the prompt, or pass --yes in automation`,
      { exitCode: EXIT.refused },
    );
  }
  if (answer.trim() !== request.expected) {
    // The answer is not repeated: it may be the leaked key, pasted by mistake (a terminal shows what was typed anyway).
    throw new CliError(
      'ConfirmationRefused',
      `confirmation did not match: expected '${request.expected}' (${answer.trim().length} characters received); nothing was changed`,
      `rerun and type '${request.expected}' exactly`,
      { exitCode: EXIT.refused },
    );
  }
}

/**
 * Reads a secret (a key value to import) without echoing it: from a pipe, the whole of stdin; on a terminal, a
 * hidden prompt in raw mode. Never from an argument, which would land in shell history and `ps`.
 * @throws CliError `NoKeyValue` when nothing was given.
 */
export async function readSecretInput(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  let value: string;
  if (stdin.isTTY && stdin.setRawMode) {
    io.stderr.write(prompt);
    value = await readHidden(stdin as NodeJS.ReadStream);
    io.stderr.write('\n');
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    value = Buffer.concat(chunks).toString('utf8');
  }
  value = value.trim();
  if (!value) {
    throw new CliError('NoKeyValue', 'no key value received on stdin', 'pipe the key in: `keyrelay import NAME --key-id ID < key.txt`, or type it at the hidden prompt', {
      exitCode: EXIT.usage,
    });
  }
  return value;
}

function readHidden(stdin: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    const done = (result: string | Error): void => {
      stdin.setRawMode(false);
      stdin.off('data', onData);
      stdin.pause();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (text: string): void => {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          done(value);
          return;
        }
        if (ch === '\u0003') {
          done(new CliError('ConfirmationRefused', 'interrupted; nothing was changed', 'rerun when ready', { exitCode: EXIT.refused }));
          return;
        }
        value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
