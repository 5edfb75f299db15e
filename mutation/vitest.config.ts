import { mergeConfig } from 'vitest/config';
import base from '../vitest.config.js';

/**
 * The test run each mutant is judged by: only the tests of the code being mutated (no Redis, no
 * browser, no processes), without coverage or reports, and with the property tests at fewer runs,
 * so that one mutant costs a second or two rather than a minute. `MUTATION_SCOPE` picks the tests.
 */
const scopes: Record<string, string[]> = {
  core: [
    'test/core/**/*.test.ts',
    'test/trackers/**/*.test.ts',
    'test/options/**/*.test.ts',
    'test/snapshot/**/*.test.ts',
    'test/errors/**/*.test.ts',
    'test/events/**/*.test.ts',
    'test/async/**/*.test.ts',
    // The breaker's fleet seam, the registry and the decorator are the core's code too, seen from its users.
    'test/fleet/**/*.test.ts',
    'test/registry/**/*.test.ts',
    'test/decorator/**/*.test.ts',
  ],
  fleet: ['test/fleet/**/*.test.ts'],
};
const scope = process.env.MUTATION_SCOPE ?? 'core';
const include = scopes[scope];
if (include === undefined) throw new RangeError(`MUTATION_SCOPE must be one of ${Object.keys(scopes).join(', ')}; got ${scope}`);

const config = mergeConfig(base, {
  test: {
    coverage: { enabled: false },
    env: { MODEL_RUNS: '200', FLEET_PROPERTY_RUNS: '30', FUZZ_RUNS: '60' },
  },
});
// Arrays merge by concatenation: the base's lists are replaced, not extended.
config.test.include = include;
config.test.exclude = ['**/node_modules/**'];
config.test.reporters = ['dot'];
export default config;
