import { buildSync } from 'esbuild';
import { bundleBuildOptions } from '../lib/build';
import { LAMBDA_ENTRIES, type LambdaName } from '../lib/bundles';

/**
 * What each function's bundle holds: its size in bytes (as `buildLambdaBundles` makes it), keyrelay's own code in it,
 * and the bytes each of keyrelay's folders contributes, so a function that pulls in another's code shows. The rotation
 * bundle should hold of the revoker only `freeQuota` and what it needs (quota relief before createSecret gives up).
 *
 * Run: `npx tsx bench/bundle-size.ts`
 */

for (const name of Object.keys(LAMBDA_ENTRIES) as LambdaName[]) {
  const result = buildSync({ ...bundleBuildOptions(name), outfile: `/${name}.js`, write: false, metafile: true });
  const output = Object.values(result.metafile.outputs)[0]!;
  const byFolder = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    if (path.includes('node_modules/') || input.bytesInOutput === 0) continue;
    const folder = path.split('/').slice(0, path.startsWith('lambda/') ? 2 : 1).join('/');
    byFolder.set(folder, (byFolder.get(folder) ?? 0) + input.bytesInOutput);
  }
  const own = [...byFolder.values()].reduce((a, b) => a + b, 0);
  console.log(`${name}: ${result.outputFiles[0]!.contents.length} bytes, keyrelay's own code ${own} bytes`);
  for (const [folder, bytes] of [...byFolder].sort((a, b) => b[1] - a[1])) console.log(`  ${String(bytes).padStart(7)}  ${folder}/`);
}
