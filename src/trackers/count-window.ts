import { fail, num } from '../options/checks.js';
import {
  type FailureTracker,
  MAX_WINDOW_SIZE,
  makeStats,
  type RateRule,
  rateTripped,
  type TrackerSnapshot,
  type TrackerStats,
} from './tracker.js';

const FAILED = 1;
const SLOW = 2;

/** Failure and slow-call rates over the last `size` calls: a ring of outcome flags with running sums. */
export class CountWindowTracker implements FailureTracker {
  get timeless(): boolean {
    return true;
  }

  readonly #ring: Uint8Array;
  readonly #rule: RateRule;
  #next = 0;
  #filled = 0;
  #failures = 0;
  #slow = 0;

  constructor(size: number, rule: RateRule) {
    this.#ring = new Uint8Array(size);
    this.#rule = rule;
  }

  record(failed: boolean, slow: boolean): boolean {
    const ring = this.#ring;
    const i = this.#next;
    if (this.#filled === ring.length) {
      const old = ring[i] as number;
      this.#failures -= old & FAILED;
      this.#slow -= (old & SLOW) >> 1;
    } else {
      this.#filled++;
    }
    ring[i] = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (failed) this.#failures++;
    if (slow) this.#slow++;
    this.#next = i + 1 === ring.length ? 0 : i + 1;
    return rateTripped(this.#rule, this.#filled, this.#failures, this.#slow);
  }

  reset(): void {
    this.#ring.fill(0);
    this.#next = 0;
    this.#filled = 0;
    this.#failures = 0;
    this.#slow = 0;
  }

  stats(): TrackerStats {
    return makeStats(this.#filled, this.#failures, this.#slow);
  }

  /** Outcomes oldest first, one digit each (bit 0 failed, bit 1 slow). */
  toJSON(): TrackerSnapshot {
    const ring = this.#ring;
    let outcomes = '';
    const start = this.#filled === ring.length ? this.#next : 0;
    for (let k = 0; k < this.#filled; k++) outcomes += String(ring[(start + k) % ring.length]);
    return { kind: 'count', outcomes };
  }

  restore(snapshot: TrackerSnapshot): void {
    if (snapshot.kind !== 'count') return;
    this.reset();
    const outcomes = snapshot.outcomes.slice(-this.#ring.length);
    for (const digit of outcomes) {
      const flags = Number(digit);
      this.record((flags & FAILED) !== 0, (flags & SLOW) !== 0);
    }
  }
}

/** Rate mode's window over the last `size` calls. Made by `countWindow()`. */
export class CountWindow {
  readonly type = 'count';
  /** Calls the window holds. */
  readonly size: number;

  /** Use `countWindow(size)`, which checks `size`. */
  constructor(size: number) {
    this.size = size;
  }

  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: called by createTracker; private keeps the tracker types out of the public API.
  private tracker(rule: RateRule): FailureTracker {
    return new CountWindowTracker(this.size, rule);
  }
}

/**
 * Rate mode's window over the last `size` calls: `window: countWindow(100)`.
 * @throws {TypeError | RangeError} unless `size` is an integer from 1 to 1,000,000.
 */
export function countWindow(size: number): CountWindow {
  const checked = num(size, 'window.size', 1, MAX_WINDOW_SIZE, 'integer');
  return new CountWindow(checked ?? fail(TypeError, 'window.size', size, 'an integer ≥ 1'));
}
