/**
 * The strategy that decides when a closed circuit has seen enough failures to open.
 * One small interface, three implementations (consecutive, count window, time window):
 * each `record` is O(1) and allocation-free.
 */
export interface FailureTracker {
  /**
   * True when `record` ignores `now` (consecutive, count window): the rules may then skip reading
   * the clock. Absent means the tracker needs the time.
   */
  readonly timeless?: boolean;
  /** Records the outcome of one call admitted while closed. Returns `true` when the circuit should open now. */
  record(failed: boolean, slow: boolean, now: number): boolean;
  /** Forgets every recorded outcome (the circuit closed or was reset). */
  reset(): void;
  /** Counts over what the tracker currently remembers, stale buckets expired at `now`. */
  stats(now: number): TrackerStats;
  /** JSON-safe copy of what the tracker remembers; `toWall` maps monotonic times to wall-clock times. */
  toJSON(now: number, toWall: (t: number) => number): TrackerSnapshot;
  /** Loads a snapshot made by a tracker of the same kind, and ignores one of another kind; `fromWall` maps wall-clock times back. */
  restore(snapshot: TrackerSnapshot, now: number, fromWall: (t: number) => number): void;
}

/** What a tracker reports for metrics. */
export interface TrackerStats {
  /** Calls the window holds (consecutive mode: calls since the last success). */
  readonly calls: number;
  /** Counted failures the window holds (consecutive mode: the current run of failures). */
  readonly failures: number;
  /** Slow calls the window holds. */
  readonly slowCalls: number;
  /** `failures / calls`, 0 when empty. */
  readonly failureRate: number;
  /** `slowCalls / calls`, 0 when empty. */
  readonly slowCallRate: number;
}

/** The largest windows: a count window of this many calls, a time window of this many buckets. */
export const MAX_WINDOW_SIZE = 1_000_000;
export const MAX_WINDOW_BUCKETS = 1000;

/** A tracker's remembered outcomes, in a form that survives `JSON.stringify`. */
export type TrackerSnapshot =
  | { readonly kind: 'consecutive'; readonly failures: number }
  | { readonly kind: 'count'; readonly outcomes: string }
  | {
      readonly kind: 'time';
      readonly buckets: ReadonlyArray<readonly [start: number, calls: number, failures: number, slow: number]>;
    };

/** Thresholds shared by the windowed trackers. */
export interface RateRule {
  readonly failureRateThreshold: number | undefined;
  readonly slowCallRateThreshold: number | undefined;
  readonly minimumCalls: number;
}

/** The rate rule itself, written once for both windows. */
export function rateTripped(rule: RateRule, calls: number, failures: number, slow: number): boolean {
  // `minimumCalls` is at least 1, so no rate below divides by zero.
  if (calls < rule.minimumCalls) return false;
  // Rates compared as rates: `threshold * calls` rounds (0.55 × 100 is 55.000…01), and 55 of 100 must trip 0.55.
  if (rule.failureRateThreshold !== undefined && failures / calls >= rule.failureRateThreshold) return true;
  return rule.slowCallRateThreshold !== undefined && slow / calls >= rule.slowCallRateThreshold;
}

export function makeStats(calls: number, failures: number, slowCalls: number): TrackerStats {
  return {
    calls,
    failures,
    slowCalls,
    failureRate: calls === 0 ? 0 : failures / calls,
    slowCallRate: calls === 0 ? 0 : slowCalls / calls,
  };
}
