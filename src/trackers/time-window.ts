import { checkOptionObject, fail, num } from '../options/checks.js';
import {
  type FailureTracker,
  MAX_WINDOW_BUCKETS,
  makeStats,
  type RateRule,
  rateTripped,
  type TrackerSnapshot,
  type TrackerStats,
} from './tracker.js';

/**
 * Failure and slow-call rates over the last `duration` ms, in `buckets` slices.
 * Buckets are stamped with the slice they belong to, so a bucket left over from
 * before an idle gap is cleared when time reaches it again and never counted.
 */
export class TimeWindowTracker implements FailureTracker {
  get timeless(): boolean {
    return false;
  }

  readonly #width: number;
  readonly #rule: RateRule;
  /**
   * Per bucket, four numbers: calls, failures, slow, and the index of the slice it holds (read only while it
   * holds calls: slices below zero are valid). One plain array: typed arrays carry a buffer each, which costs idle memory.
   */
  readonly #counts: number[];
  #head = -Infinity;
  /** Where the head's bucket starts in `#counts`: a call within the head's slice computes no index. */
  #at = 0;
  #calls = 0;
  #failures = 0;
  #slow = 0;

  constructor(duration: number, buckets: number, rule: RateRule) {
    this.#width = duration / buckets;
    this.#rule = rule;
    this.#counts = emptyBuckets(buckets);
  }

  record(failed: boolean, slow: boolean, now: number): boolean {
    // Within the head's slice (or a clock that stepped back: the newest bucket rather than an expired one).
    if (Math.floor(now / this.#width) > this.#head) this.#expire(now);
    const counts = this.#counts;
    const b = this.#at;
    counts[b] = (counts[b] as number) + 1;
    this.#calls++;
    if (failed) {
      counts[b + 1] = (counts[b + 1] as number) + 1;
      this.#failures++;
    }
    if (slow) {
      counts[b + 2] = (counts[b + 2] as number) + 1;
      this.#slow++;
    }
    return rateTripped(this.#rule, this.#calls, this.#failures, this.#slow);
  }

  /** Makes `slice` the head, stamping its bucket (so a call within the head's slice writes no stamp). */
  #setHead(slice: number): void {
    this.#head = slice;
    this.#at = mod(slice, this.#counts.length / STRIDE) * STRIDE;
    this.#counts[this.#at + SLICE] = slice;
  }

  /** Adds counts to the bucket at offset `o` and to the window's totals (negative counts take them out). */
  #add(o: number, calls: number, failures: number, slow: number): void {
    const c = this.#counts;
    c[o] = (c[o] as number) + calls;
    c[o + 1] = (c[o + 1] as number) + failures;
    c[o + 2] = (c[o + 2] as number) + slow;
    this.#calls += calls;
    this.#failures += failures;
    this.#slow += slow;
  }

  #clear(bucket: number): void {
    const c = this.#counts;
    const o = bucket * STRIDE;
    this.#add(o, -(c[o] as number), -(c[o + 1] as number), -(c[o + 2] as number));
  }

  #clearAll(): void {
    for (let b = 0; b < this.#counts.length / STRIDE; b++) this.#clear(b);
  }

  reset(): void {
    this.#clearAll();
    this.#head = -Infinity;
  }

  stats(now: number): TrackerStats {
    this.#expire(now);
    return makeStats(this.#calls, this.#failures, this.#slow);
  }

  /** Expires slices that fell out of the window without recording anything. */
  #expire(now: number): void {
    const slice = Math.floor(now / this.#width);
    if (slice <= this.#head) return;
    const n = this.#counts.length / STRIDE;
    if (slice - this.#head >= n) this.#clearAll();
    // Counted in steps, not slices: beyond 2^53 a slice + 1 is the same number, and the loop must still end.
    else for (let k = 1, steps = slice - this.#head; k <= steps; k++) this.#clear(mod(this.#head + k, n));
    this.#setHead(slice);
  }

  toJSON(now: number, toWall: (t: number) => number): TrackerSnapshot {
    this.#expire(now);
    const buckets: [number, number, number, number][] = [];
    const c = this.#counts;
    for (let o = 0; o < c.length; o += STRIDE) {
      if ((c[o] as number) === 0) continue;
      buckets.push([toWall((c[o + SLICE] as number) * this.#width), c[o] as number, c[o + 1] as number, c[o + 2] as number]);
    }
    buckets.sort((x, y) => x[0] - y[0]);
    return { kind: 'time', buckets };
  }

  restore(snapshot: TrackerSnapshot, now: number, fromWall: (t: number) => number): void {
    if (snapshot.kind !== 'time') return;
    this.reset();
    const n = this.#counts.length / STRIDE;
    const current = Math.floor(now / this.#width);
    this.#setHead(current);
    for (const [start, calls, failures, slow] of snapshot.buckets) {
      // The nearest slice: a start carried through the wall clock and back lands a hair off its boundary.
      // One in this process's future (its wall clock a little behind the writer's) counts as the newest.
      const slice = Math.min(current, Math.floor(fromWall(start) / this.#width + 0.5));
      if (slice <= current - n) continue;
      const o = mod(slice, n) * STRIDE;
      this.#counts[o + SLICE] = slice;
      this.#add(o, calls, failures, slow);
    }
  }
}

/** Numbers per bucket in `counts`, and the offset of the slice stamp among them. */
const STRIDE = 4;
const SLICE = 3;

/** `n` empty buckets, allocated at exact length (growing by `push` would leave slack). */
function emptyBuckets(n: number): number[] {
  return Array.from({ length: n * STRIDE }, () => 0);
}

/** Modulo that stays non-negative for negative slices (clocks may start below zero). */
function mod(x: number, n: number): number {
  const r = x % n;
  return r < 0 ? r + n : r;
}

/** Options of `timeWindow`. */
export interface TimeWindowOptions {
  /** Ms of calls the window holds. */
  readonly duration: number;
  /** Slices the duration is kept in (default 10): a call leaves the window within one slice of `duration`. */
  readonly buckets?: number;
}

/** Rate mode's window over the calls of the last `duration` ms. Made by `timeWindow()`. */
export class TimeWindow {
  readonly type = 'time';
  /** Ms of calls the window holds. */
  readonly duration: number;
  /** Slices the duration is kept in. */
  readonly buckets: number;

  /** Use `timeWindow({ duration, buckets })`, which checks them. */
  constructor(duration: number, buckets: number) {
    this.duration = duration;
    this.buckets = buckets;
  }

  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: called by createTracker; private keeps the tracker types out of the public API.
  private tracker(rule: RateRule): FailureTracker {
    return new TimeWindowTracker(this.duration, this.buckets, rule);
  }
}

/**
 * Rate mode's window over the calls of the last `duration` ms, in `buckets` slices:
 * `window: timeWindow({ duration: 10_000, buckets: 10 })`.
 * @throws {TypeError | RangeError} unless `duration` is a number > 0 and `buckets` an integer from 1 to 1000.
 */
export function timeWindow(options: TimeWindowOptions): TimeWindow {
  const o = checkOptionObject<TimeWindowOptions>(options, 'window', ['duration', 'buckets']);
  const duration =
    num(o.duration, 'window.duration', 0, undefined, 'above') ?? fail(TypeError, 'window.duration', o.duration, 'a number > 0');
  return new TimeWindow(duration, num(o.buckets, 'window.buckets', 1, MAX_WINDOW_BUCKETS, 'integer') ?? 10);
}
