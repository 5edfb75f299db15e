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

/** What a breaker knows besides its counts, at the moment its metrics are read. */
export interface MetricsSource {
  /** What was counted; `undefined`: nothing yet. */
  readonly counts: Counts | undefined;
  readonly name: string | undefined;
  readonly state: CircuitState;
  /** Wall-clock ms when the state was entered. */
  readonly since: number;
  readonly inFlight: number;
  /** The tracker's counts over its window. */
  readonly window: TrackerStats;
  /** Consecutive mode: the rates cover every judged call counted, not the window (which holds the run of failures). */
  readonly consecutive: boolean;
  readonly retryAfter: number;
}

/** The breaker's metrics. In consecutive mode the rates cover every judged call counted; in rate mode, the window. */
export function metricsOf(m: MetricsSource): BreakerMetrics {
  const n = m.counts ?? NOTHING_COUNTED;
  const w = m.window;
  const judged = n.successes + n.failures + n.timeouts;
  return {
    name: m.name,
    state: m.state,
    since: m.since,
    successes: n.successes,
    failures: n.failures,
    neutral: n.neutral,
    rejected: n.rejected,
    limited: n.limited,
    timeouts: n.timeouts,
    fallbacks: n.fallbacks,
    slowCalls: n.slowCalls,
    inFlight: m.inFlight,
    lastFailureAt: n.lastFailureAt,
    failureRate: m.consecutive ? (judged === 0 ? 0 : (n.failures + n.timeouts) / judged) : w.failureRate,
    slowCallRate: m.consecutive ? (judged === 0 ? 0 : n.slowCalls / judged) : w.slowCallRate,
    window: { calls: w.calls, failures: w.failures, slowCalls: w.slowCalls },
    retryAfter: m.retryAfter,
  };
}
