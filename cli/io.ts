import type { Clock } from '../core/clock';
import { systemClock } from '../core/clock';
import type { ClientFactory } from './aws';

/** Where the CLI writes: results on `stdout`, progress, prompts and errors on `stderr`. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** True when a person is watching (prompts and progress may use the terminal). */
  isTTY?: boolean;
}

/** Where the CLI reads confirmations and imported key values. */
export type InputStream = NodeJS.ReadableStream & {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
};

/**
 * Everything the CLI touches outside itself, injectable so commands run in-process under tests: streams,
 * environment (AWS settings, `$USER`), the clock, and the AWS client factory.
 */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  /** Environment read for region, endpoint, credentials and `$USER`. @default process.env */
  env: Record<string, string | undefined>;
  /** @default systemClock */
  clock: Clock;
  /** Builds the AWS clients (tests inject mocks or counting middleware). @default createClients */
  clients?: ClientFactory;
}

/** The real process's streams, environment and clock. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // Read on first use: creating `process.stdin` costs startup time, and only prompts and `import` read it.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    clock: systemClock,
  };
}
