import type { FailureTracker, RateRule, TrackerSnapshot, TrackerStats } from '../../src/trackers/tracker.js';
import { makeStats, rateTripped } from '../../src/trackers/tracker.js';

type Entry = { t: number; failed: boolean; slow: boolean };

export type RecountWindow =
  | { type: 'consecutive'; threshold: number }
  | { type: 'count'; size: number; rule: RateRule }
  | { type: 'time'; duration: number; buckets: number; rule: RateRule };

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
    return rateTripped(w.rule, held.length, held.filter((e) => e.failed).length, held.filter((e) => e.slow).length);
  }

  reset(): void {
    this.entries = [];
  }

  stats(now: number): TrackerStats {
    const held = this.inWindow(now);
    const slow = this.window.type === 'consecutive' ? 0 : held.filter((e) => e.slow).length;
    return makeStats(held.length, held.filter((e) => e.failed).length, slow);
  }

  toJSON(): TrackerSnapshot {
    throw new Error('not used by the model');
  }

  restore(): void {
    throw new Error('not used by the model');
  }
}
