import type { FailureTracker, RateRule, TrackerSnapshot, TrackerStats } from '../../src/trackers/tracker.js';

type Entry = { t: number; failed: boolean; slow: boolean };

export type RecountWindow =
  | { type: 'consecutive'; threshold: number }
  | { type: 'count'; size: number; rule: RateRule }
  | { type: 'time'; duration: number; buckets: number; rule: RateRule };

/**
 * The documented rate rule, written again here so that the trackers' own is checked, not reused:
 * at least `minimumCalls` calls in the window, and a failure rate (or slow-call rate) at or above its threshold.
 */
function tripped(rule: RateRule, held: Entry[]): boolean {
  const calls = held.length;
  if (calls === 0 || calls < rule.minimumCalls) return false;
  const failureRate = held.filter((e) => e.failed).length / calls;
  const slowRate = held.filter((e) => e.slow).length / calls;
  return (
    (rule.failureRateThreshold !== undefined && failureRate >= rule.failureRateThreshold) ||
    (rule.slowCallRateThreshold !== undefined && slowRate >= rule.slowCallRateThreshold)
  );
}

/**
 * The obvious, slow tracker: keeps every outcome and recounts the window from scratch.
 * The incremental trackers must always agree with it.
 */
export class RecountTracker implements FailureTracker {
  entries: Entry[] = [];
  constructor(readonly window: RecountWindow) {}

  inWindow(now: number): Entry[] {
    const w = this.window;
    if (w.type === 'count') return this.entries.slice(-w.size);
    if (w.type === 'time') {
      const width = w.duration / w.buckets;
      const current = Math.floor(now / width);
      return this.entries.filter((e) => Math.floor(e.t / width) > current - w.buckets);
    }
    let start = this.entries.length;
    while (start > 0 && this.entries[start - 1]?.failed) start--;
    return this.entries.slice(start);
  }

  record(failed: boolean, slow: boolean, now: number): boolean {
    this.entries.push({ t: now, failed, slow });
    const w = this.window;
    const held = this.inWindow(now);
    if (w.type === 'consecutive') return held.length >= w.threshold;
    return tripped(w.rule, held);
  }

  reset(): void {
    this.entries = [];
  }

  stats(now: number): TrackerStats {
    const held = this.inWindow(now);
    const slow = this.window.type === 'consecutive' ? 0 : held.filter((e) => e.slow).length;
    const calls = held.length;
    const failures = held.filter((e) => e.failed).length;
    return {
      calls,
      failures,
      slowCalls: slow,
      failureRate: calls === 0 ? 0 : failures / calls,
      slowCallRate: calls === 0 ? 0 : slow / calls,
    };
  }

  toJSON(): TrackerSnapshot {
    throw new Error('not used by the model');
  }

  restore(): void {
    throw new Error('not used by the model');
  }
}
