import { type FailureTracker, makeStats, type TrackerSnapshot, type TrackerStats } from './tracker.js';

/** Opens after `threshold` counted failures in a row; any success resets the run. */
export class ConsecutiveTracker implements FailureTracker {
  get timeless(): boolean {
    return true;
  }

  #failures = 0;
  readonly #threshold: number;

  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  record(failed: boolean): boolean {
    if (!failed) {
      this.#failures = 0;
      return false;
    }
    return ++this.#failures >= this.#threshold;
  }

  reset(): void {
    this.#failures = 0;
  }

  stats(): TrackerStats {
    return makeStats(this.#failures, this.#failures, 0);
  }

  toJSON(): TrackerSnapshot {
    return { kind: 'consecutive', failures: this.#failures };
  }

  restore(snapshot: TrackerSnapshot): void {
    if (snapshot.kind === 'consecutive') this.#failures = Math.min(snapshot.failures, this.#threshold - 1);
  }
}
