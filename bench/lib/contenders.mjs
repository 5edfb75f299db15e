// The libraries under test and how each one is configured. breakwater is loaded from the built
// package (what users run), the peers from bench/node_modules at the exact versions in bench/package.json.
import { ConsecutiveBreaker, CountBreaker, circuitBreaker, handleAll, SamplingBreaker } from 'cockatiel';
import Opossum from 'opossum';
import { CircuitBreaker, countWindow, timeWindow } from '../../dist/index.js';

export { CircuitBreaker, ConsecutiveBreaker, CountBreaker, circuitBreaker, countWindow, handleAll, Opossum, SamplingBreaker, timeWindow };

/** Long enough that no breaker leaves the open state during a run, short enough for a 32-bit timer. */
export const LONG_MS = 1_000_000_000;

/** breakwater's three trackers, as users would configure them. */
export const breakwaterModes = {
  consecutive: (extra = {}) => new CircuitBreaker({ failureThreshold: 5, ...extra }),
  count: (extra = {}) => new CircuitBreaker({ failureRateThreshold: 0.5, window: countWindow(100), ...extra }),
  time: (extra = {}) => new CircuitBreaker({ failureRateThreshold: 0.5, window: timeWindow({ duration: 10_000 }), ...extra }),
};

/** cockatiel's consecutive breaker (its closest match to breakwater's default). */
export const cockatiel = (threshold = 5, halfOpenAfter = 60_000) =>
  circuitBreaker(handleAll, { halfOpenAfter, breaker: new ConsecutiveBreaker(threshold) });

/**
 * opossum with its defaults except `timeout: false`: breakwater and cockatiel arm no timer unless asked,
 * so we do not make opossum pay for one (its default 10 s timeout adds a timer per call).
 */
export const opossum = (fn, extra = {}) => new Opossum(fn, { timeout: false, ...extra });

export const versions = async () => {
  const { readFile } = await import('node:fs/promises');
  const read = async (url) => JSON.parse(await readFile(new URL(url, import.meta.url), 'utf8')).version;
  return {
    breakwater: await read('../../package.json'),
    cockatiel: await read('../node_modules/cockatiel/package.json'),
    opossum: await read('../node_modules/opossum/package.json'),
  };
};
