/**
 * What both mutation runs share. Results are kept in `mutation/<scope>.incremental.json`, checked in:
 * a run re-tests only the mutants whose code or covering tests changed since, so CI stays short.
 */
export function base(scope) {
  process.env.MUTATION_SCOPE = scope;
  return {
    testRunner: 'vitest',
    vitest: { configFile: 'mutation/vitest.config.ts' },
    coverageAnalysis: 'perTest',
    concurrency: 2,
    incremental: true,
    incrementalFile: `mutation/${scope}.incremental.json`,
    reporters: ['clear-text', 'progress', 'json'],
    jsonReporter: { fileName: `.tmp/mutation/${scope}.json` },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: false },
    tempDirName: `.tmp/stryker-${scope}`,
    ignorePatterns: ['dist', 'coverage', 'docs/api', 'bench', 'examples', 'test-results', '.tmp'],
    timeoutMS: 10_000,
    cleanTempDir: true,
  };
}
