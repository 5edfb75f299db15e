import { ConsecutiveTracker } from './consecutive.js';
import type { FailureTracker, RateRule } from './tracker.js';

/** What a window strategy (`countWindow()`, `timeWindow()`) makes: a tracker for the rate rule. */
interface WindowStrategy {
  tracker(rule: RateRule): FailureTracker;
}

/** What `createTracker` reads of the settings. */
export interface TrackerSettings extends RateRule {
  readonly failureThreshold: number;
  readonly window: object | undefined;
}

/**
 * The tracker the settings ask for: consecutive failures, built in, or the rate window's own tracker. The windows
 * are values the user imports (`countWindow()`, `timeWindow()`), so a breaker that counts consecutive failures
 * carries none of their code.
 */
export function createTracker(s: TrackerSettings): FailureTracker {
  return s.window === undefined ? new ConsecutiveTracker(s.failureThreshold) : (s.window as WindowStrategy).tracker(s);
}
