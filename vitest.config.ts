import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { defineConfig, type Plugin } from 'vitest/config';

/**
 * Vite's default transformer keeps standard (TC39) decorators as they are, and Node 20 cannot
 * parse them: lower them with esbuild in the files that use them.
 */
const standardDecorators: Plugin = {
  name: 'standard-decorators',
  enforce: 'pre',
  async transform(code, id) {
    if (!/\.ts$/.test(id) || !/^\s*@\w+/m.test(code)) return null;
    const out = await transform(code, { loader: 'ts', target: 'es2022', sourcemap: true, sourcefile: id });
    return { code: out.code, map: out.map };
  },
};

export default defineConfig({
  plugins: [standardDecorators],
  // The integrations import the core by its package name, as users do; in tests that is the source.
  resolve: {
    alias: [
      { find: /^breakwater$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^breakwater\/fleet$/, replacement: fileURLToPath(new URL('./src/fleet/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    // The fleet chaos run (real time, many processes) is opt-in: `npm run test:chaos`.
    exclude: process.env.BREAKWATER_CHAOS === '1' ? ['**/node_modules/**'] : ['**/node_modules/**', 'test/chaos/**'],
    setupFiles: ['test/setup/fail-on-unhandled.ts'],
    testTimeout: 30_000,
    // The JSON report is what CI counts passed and failed tests from.
    reporters: ['default', 'json'],
    outputFile: { json: '.tmp/vitest-results.json' },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {
        lines: 95,
        branches: 95,
        functions: 95,
        statements: 95,
        // Fleet mode, held to the same bar file by file.
        'src/fleet/engine.ts': { lines: 95, branches: 95, functions: 95, statements: 95 },
        'src/fleet/codec.ts': { lines: 95, branches: 95, functions: 95, statements: 95 },
        'src/fleet/shared-store.ts': { lines: 95, branches: 95, functions: 95, statements: 95 },
        'src/redis/client.ts': { lines: 95, branches: 95, functions: 95, statements: 95 },
        'src/redis/store.ts': { lines: 95, branches: 95, functions: 95, statements: 95 },
      },
    },
  },
});
