import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    setupFiles: ['test/setup/fail-on-unhandled.ts'],
    testTimeout: 30_000,
    // The JSON report is what CI counts passed and failed tests from.
    reporters: ['default', 'json'],
    outputFile: { json: '.tmp/vitest-results.json' },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { lines: 95, branches: 95, functions: 95, statements: 95 },
    },
  },
});
