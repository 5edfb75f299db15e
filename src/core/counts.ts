import type { TrackerStats } from '../trackers/tracker.js';
import type { BreakerMetrics, CircuitState } from './types.js';

/**
 * What a breaker counted since it was made or last reset. Made at the first count: a breaker never called holds
 * none (idle memory), and a reset drops it.
 */
export class Counts {
  successes = 0;
  failures = 0;
  neutral = 0;
  timeouts = 0;
  slowCalls = 0;
  rejected = 0;
  limited = 0;
  fallbacks = 0;
  /** Wall-clock ms when the last counted failure settled, or `null`: none. */
  lastFailureAt: number | null = null;
}

const NOTHING_COUNTED = new Counts();

/**
 * The breaker's metrics from its counts (`undefined`: nothing counted) and the rest. In consecutive mode the rates
 * cover every judged call counted, not the window (which holds the run of failures); in rate mode, the window.
 */
export function metricsOf(
  counts: Counts | undefined,
  name: string | undefined,
  state: CircuitState,
  since: number,
  inFlight: number,
  w: TrackerStats,
  consecutive: boolean,
  retryAfter: number,
): BreakerMetrics {
  const n = counts ?? NOTHING_COUNTED;
  const judged = n.successes + n.failures + n.timeouts;
  return {
    name,
    state,
    since,
    successes: n.successes,
    failures: n.failures,
    neutral: n.neutral,
    rejected: n.rejected,
    limited: n.limited,
    timeouts: n.timeouts,
    fallbacks: n.fallbacks,
    slowCalls: n.slowCalls,
    inFlight,
    lastFailureAt: n.lastFailureAt,
    failureRate: consecutive ? (judged === 0 ? 0 : (n.failures + n.timeouts) / judged) : w.failureRate,
    slowCallRate: consecutive ? (judged === 0 ? 0 : n.slowCalls / judged) : w.slowCallRate,
    window: { calls: w.calls, failures: w.failures, slowCalls: w.slowCalls },
    retryAfter,
  };
}
