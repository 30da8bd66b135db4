/**
 * Catches key material in anything a test's code prints. Every component that mints key values in tests (the
 * reference provider, contract fakes, fixtures) calls {@link registerSecret}; the setup file checks all captured
 * stdout, stderr and console output against the registry after each test file.
 */
const secrets = new Set<string>();
let output: string[] = [];

/** Registers a value that must never be printed. Values shorter than 8 characters are ignored (too many false hits). */
export function registerSecret(value: string): void {
  if (value.length >= 8) secrets.add(value);
}

/** Registers a value that must never be printed (same as {@link registerSecret}) and returns it. */
export function secretValue<T extends string>(value: T): T {
  registerSecret(value);
  return value;
}

export const capturedOutput = {
  install(): void {
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        return write(chunk, ...rest);
      }) as typeof stream.write;
    }
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const original = console[method].bind(console);
      console[method] = (...args: unknown[]) => {
        output.push(args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' '));
        original(...args);
      };
    }
  },
  /** Everything captured so far in this test file. */
  text(): string {
    return output.join('');
  },
  clear(): void {
    output = [];
  },
};

function safeJson(value: unknown): string {
  try {
    return value instanceof Error ? `${value.name}: ${value.message}` : JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Snippets around every registered secret found in the captured output (empty when clean). */
export function leakedSecrets(text = capturedOutput.text()): string[] {
  const found: string[] = [];
  for (const s of secrets) {
    const at = text.indexOf(s);
    if (at >= 0) found.push(`${text.slice(Math.max(0, at - 80), at).replace(/\s+/g, ' ')}<KEY>`);
  }
  return found;
}
