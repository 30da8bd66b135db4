/** Lays rows out in columns (two spaces apart); the first row is the header. Pure. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n');
}

/** JSON as the CLI prints it for `--json`: one document, two-space indent, trailing newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Seconds with one decimal, e.g. `T+2.4 s`. */
export function secondsSince(fromMs: number, toMs: number): string {
  return `T+${((toMs - fromMs) / 1000).toFixed(1)} s`;
}
