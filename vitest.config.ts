import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    setupFiles: ['test/setup/fail-on-unhandled.ts'],
    testTimeout: 30_000,
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
        'src/fleet-sync.ts': { lines: 95, branches: 95, functions: 95, statements: 95 },
        'src/fleet-codec.ts': { lines: 95, branches: 95, functions: 95, statements: 95 },
        'src/redis/client.ts': { lines: 95, branches: 95, functions: 95, statements: 95 },
        'src/redis/store.ts': { lines: 95, branches: 95, functions: 95, statements: 95 },
      },
    },
  },
});
