import { type FailureTracker, makeStats, type RateRule, rateTripped, type TrackerSnapshot, type TrackerStats } from './tracker.js';

/**
 * Failure and slow-call rates over the last `duration` ms, in `buckets` slices.
 * Buckets are stamped with the slice they belong to, so a bucket left over from
 * before an idle gap is cleared when time reaches it again and never counted.
 */
export class TimeWindowTracker implements FailureTracker {
  readonly #width: number;
  readonly #rule: RateRule;
  /**
   * Per bucket: calls, failures, slow, interleaved. Plain arrays of numbers (kept as unboxed
   * doubles by engines) cost less idle memory than typed arrays, which carry a buffer each.
   */
  readonly #counts: number[];
  /** Per bucket: index of the slice it holds (-1 = empty). */
  readonly #slice: number[];
  #head = Number.NEGATIVE_INFINITY;
  #calls = 0;
  #failures = 0;
  #slow = 0;

  constructor(duration: number, buckets: number, rule: RateRule) {
    this.#width = duration / buckets;
    this.#rule = rule;
    this.#counts = filled(buckets * 3, 0);
    this.#slice = filled(buckets, -1);
  }

  record(failed: boolean, slow: boolean, now: number): boolean {
    const b = this.#advance(now);
    const counts = this.#counts;
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

  /** Moves the head to `now`'s slice, expiring the slices passed; returns the head bucket's offset in `counts`. */
  #advance(now: number): number {
    const n = this.#slice.length;
    const slice = Math.floor(now / this.#width);
    if (slice > this.#head) {
      if (slice - this.#head >= n) {
        this.#clearAll();
      } else {
        for (let s = this.#head + 1; s <= slice; s++) this.#clear(mod(s, n));
      }
      this.#head = slice;
    }
    const bucket = mod(slice >= this.#head ? slice : this.#head, n);
    this.#slice[bucket] = this.#head;
    return bucket * 3;
  }

  #clear(bucket: number): void {
    const c = this.#counts;
    const o = bucket * 3;
    this.#calls -= c[o] as number;
    this.#failures -= c[o + 1] as number;
    this.#slow -= c[o + 2] as number;
    c[o] = 0;
    c[o + 1] = 0;
    c[o + 2] = 0;
    this.#slice[bucket] = -1;
  }

  #clearAll(): void {
    this.#counts.fill(0);
    this.#slice.fill(-1);
    this.#calls = 0;
    this.#failures = 0;
    this.#slow = 0;
  }

  reset(): void {
    this.#clearAll();
    this.#head = Number.NEGATIVE_INFINITY;
  }

  stats(now: number): TrackerStats {
    this.#expire(now);
    return makeStats(this.#calls, this.#failures, this.#slow);
  }

  /** Expires slices that fell out of the window without recording anything. */
  #expire(now: number): void {
    const slice = Math.floor(now / this.#width);
    if (slice <= this.#head) return;
    const n = this.#slice.length;
    if (slice - this.#head >= n) this.#clearAll();
    else for (let s = this.#head + 1; s <= slice; s++) this.#clear(mod(s, n));
    this.#head = slice;
  }

  toJSON(now: number, toWall: (t: number) => number): TrackerSnapshot {
    this.#expire(now);
    const buckets: [number, number, number, number][] = [];
    const c = this.#counts;
    for (let b = 0; b < this.#slice.length; b++) {
      const slice = this.#slice[b] as number;
      if (slice < 0 || (c[b * 3] as number) === 0) continue;
      buckets.push([toWall(slice * this.#width), c[b * 3] as number, c[b * 3 + 1] as number, c[b * 3 + 2] as number]);
    }
    buckets.sort((x, y) => x[0] - y[0]);
    return { kind: 'time', buckets };
  }

  restore(snapshot: TrackerSnapshot, now: number, fromWall: (t: number) => number): void {
    if (snapshot.kind !== 'time') return;
    this.reset();
    const n = this.#slice.length;
    const current = Math.floor(now / this.#width);
    this.#head = current;
    for (const [start, calls, failures, slow] of snapshot.buckets) {
      const slice = Math.floor(fromWall(start) / this.#width);
      if (slice > current || slice <= current - n) continue;
      const o = mod(slice, n) * 3;
      this.#slice[o / 3] = slice;
      this.#counts[o] = (this.#counts[o] as number) + calls;
      this.#counts[o + 1] = (this.#counts[o + 1] as number) + failures;
      this.#counts[o + 2] = (this.#counts[o + 2] as number) + slow;
      this.#calls += calls;
      this.#failures += failures;
      this.#slow += slow;
    }
  }
}

/** `n` copies of `value`, allocated at exactly `n` elements (growing by `push` would leave slack). */
function filled(n: number, value: number): number[] {
  return new Array<number>(n).fill(value);
}

/** Modulo that stays non-negative for negative slices (clocks may start below zero). */
function mod(x: number, n: number): number {
  const r = x % n;
  return r < 0 ? r + n : r;
}
