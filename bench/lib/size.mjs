// Bundle size: what each library adds to a user's bundle for a circuit breaker, measured the way the
// project's size budget is (one minified ESM bundle, gzip level 9). Every contender is built in the same run,
// with the esbuild of the root package's devDependencies.
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const benchDir = fileURLToPath(new URL('..', import.meta.url));
const core = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/**
 * What a user imports for the breaker they would pick first. opossum is CommonJS for Node and needs Node's
 * `events` module, which is left out of its figure (a browser bundle would have to add a copy of it).
 */
const CASES = [
  { name: 'breakwater { CircuitBreaker }', lib: 'breakwater', code: `export { CircuitBreaker } from ${JSON.stringify(core)};` },
  { name: 'breakwater, whole core entry', lib: 'breakwater', code: `export * from ${JSON.stringify(core)};` },
  {
    name: 'cockatiel { circuitBreaker, ConsecutiveBreaker, handleAll }',
    lib: 'cockatiel',
    code: "export { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';",
  },
  { name: 'cockatiel, whole package', lib: 'cockatiel', code: "export * from 'cockatiel';" },
  { name: 'opossum (without Node\u2019s events module)', lib: 'opossum', code: "export { default } from 'opossum';", platform: 'node' },
];

/** Minified and gzipped bytes of each case; `ratio` is to breakwater's `{ CircuitBreaker }` import. */
export async function measureSizes() {
  const rows = [];
  for (const c of CASES) {
    const result = await build({
      stdin: { contents: c.code, resolveDir: benchDir, loader: 'js' },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: c.platform ?? 'neutral',
      mainFields: ['module', 'main'],
      write: false,
      logLevel: 'error',
    });
    const bytes = result.outputFiles[0].contents;
    rows.push({ name: c.name, lib: c.lib, minified: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
  }
  const base = rows[0].gzip;
  return rows.map((r) => ({ ...r, ratio: r.gzip / base }));
}
