/**
 * Startup cost of the compiled CLI (docs/benchmarks.md "CLI startup"): `keyrelay --help` against a bare `node -e ''`,
 * side by side on the same Node binary, alternating the two so that a machine getting busier or quieter weighs on
 * both alike. The figure is CPU time (user + sys of the process and its children, from bash's `times`, to the
 * millisecond), steadier than wall time on a shared machine; the ratio is taken pair by pair, then its median.
 * Target (issue 16): at most 2x.
 *
 * Run: npm run build && npx tsx bench/cli-startup.ts [--runs 40] [--node /path/to/node ...]
 * Default nodes: each supported major found in node_modules (22, 24), and the Node running this if another major.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../lib/bundles';
import { SUPPORTED_NODES } from '../test/support/node-versions';

const BIN = join(PACKAGE_ROOT, 'cli', 'bin.cjs');

/** CPU milliseconds (user + sys) of one run of `argv`, its output discarded. */
function cpuMs(argv: string[]): number {
  // `times` prints the shell's own, then its children's user and sys time: the second line is the command's.
  const r = spawnSync('bash', ['-c', '"$@" >/dev/null 2>&1; status=$?; times; exit $status', 'bench', ...argv], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const line = r.stdout.trim().split('\n')[1] ?? '';
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(line);
  if (!m) throw new Error(`unexpected \`times\` output: ${r.stdout}`);
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

function bench(node: string, runs: number): void {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const cli = [node, BIN, '--help'];
  const bare = [node, '-e', ''];
  // Warm-up: the file system cache.
  for (let i = 0; i < 2; i++) {
    cpuMs(cli);
    cpuMs(bare);
  }
  const pairs = Array.from({ length: runs }, () => ({ cli: cpuMs(cli), bare: cpuMs(bare) }));
  const ratios = pairs.map((p) => p.cli / p.bare);
  const f = (n: number): string => n.toFixed(n < 10 ? 2 : 0);
  console.log(
    `| ${version} | ${f(median(pairs.map((p) => p.cli)))} ms | ${f(median(pairs.map((p) => p.bare)))} ms | ` +
      `**${f(median(ratios))}x** (${f(Math.min(...ratios))} to ${f(Math.max(...ratios))}) | ${runs} |`,
  );
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' }, node: { type: 'string', multiple: true } } });
if (!existsSync(join(PACKAGE_ROOT, 'dist', 'cli', 'main.cjs'))) throw new Error('dist/cli is not built: run `npm run build` first');
const nodes = values.node ?? [...new Set([...SUPPORTED_NODES.map((n) => n.path), process.execPath])];
console.log(`keyrelay --help (node cli/bin.cjs --help) vs node -e '', CPU (user+sys), alternating pairs, medians`);
console.log('| Node | `keyrelay --help` | `node -e \'\'` | ratio, median (min to max) | pairs |\n|---|---|---|---|---|');
for (const node of nodes) bench(node, Number(values.runs));
