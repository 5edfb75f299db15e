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
        'src/{fleet-sync,fleet-codec}.ts': { perFile: true, lines: 95, branches: 95, functions: 95, statements: 95 },
        'src/redis/{client,scripts,store}.ts': { perFile: true, lines: 95, branches: 95, functions: 95, statements: 95 },
      },
    },
  },
});
