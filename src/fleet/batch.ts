/**
 * Batching: closed-state outcomes wait here and go to the store together, in one compare-and-set, at most every
 * `syncInterval` ms; failures, probe outcomes and a full batch go at once. Only outcomes that may change the
 * shared record get here (a closed-state success that changes nothing returns before), so a record per outcome
 * costs nothing on the hot path.
 */

import { advanceAll, type Circuit, NEUTRAL, type Outcome, settle } from '../core/rules.js';
import type { Settings } from '../options/breaker-options.js';
import type { FailureTracker } from '../trackers/tracker.js';
import { unref } from './store-link.js';

/** The outcome of one call, as `settle` takes it. */
export interface Settled {
  /** Made neutral when `close()` or `reset()` forgets the closed-state counts (neutral: counted nowhere). */
  outcome: Outcome;
  readonly slow: boolean;
  readonly probe: boolean;
  /** The generation the call was admitted under; an alias moves it to the shared closed generation. */
  generation: number;
  /** The failure's `retryAfterHint`. */
  readonly hint: number | undefined;
}

/** Outcomes flushed at once when this many are waiting. */
const MAX_BATCH = 64;

/** The outcomes waiting to be written and those being written, and the one timer that sends them. */
export class Batch {
  /** Waiting, oldest first. */
  waiting: Settled[] = [];
  /** The outcomes of the write under way. */
  writing: Settled[] | undefined;
  /** The writer tag of that write, once sent: the record it makes holds them. */
  writingAs: string | undefined;
  /** The batch must go now: it holds a failure or a probe outcome, it is full, its time is up, or flush() was called. */
  due = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly interval: number,
    readonly onTime: () => void,
  ) {}

  get full(): boolean {
    return this.waiting.length >= MAX_BATCH;
  }

  /** One timer while outcomes wait, none otherwise; it never keeps the process alive. */
  arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.onTime();
    }, this.interval);
    unref(this.#timer);
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Takes the waiting outcomes for a write. */
  take(): Settled[] {
    const items = this.waiting;
    this.waiting = [];
    this.writing = items;
    this.due = false;
    return items;
  }

  /** Puts outcomes ahead of those waiting: a write that did not land keeps them oldest first; orphans go first. */
  putFirst(items: Settled[]): void {
    this.waiting = items.concat(this.waiting);
  }

  /** Makes the closed-state outcomes waiting or being written count for nothing (`close()`, `reset()`). */
  forgetClosed(): void {
    // Neutral: counted nowhere, and a write under way that is computed again leaves them out.
    this.#closed((s) => {
      s.outcome = NEUTRAL;
    });
  }

  /** Closed-state outcomes of generation `from`, waiting or being written, count under `to` (see `Mirror`). */
  alias(from: number, to: number): void {
    this.#closed((s) => {
      if (s.generation === from) s.generation = to;
    });
  }

  #closed(visit: (s: Settled) => void): void {
    for (const items of [this.waiting, this.writing]) {
      if (items === undefined) continue;
      for (const s of items) if (!s.probe) visit(s);
    }
  }
}

/**
 * The shared circuit after `items`, by the rules, from `base` at store time `now`; `tracker` holds the shared
 * tracker and takes the closed-state outcomes. Also says whether the tracker may have changed (then it is written).
 */
export function applyOutcomes(
  base: Circuit,
  tracker: FailureTracker,
  items: readonly Settled[],
  now: number,
  s: Settings,
): { next: Circuit; tracker: boolean } {
  const start = advanceAll(base, now, s);
  let c = start;
  // The tracker changes only while closed, or when a trial closes the circuit (which resets it).
  let touched = false;
  for (const item of items) {
    if (c.state === 'closed') touched = true;
    c = settle(c, tracker, item.outcome, item.slow, item.probe, item.generation, now, s, item.hint);
  }
  return { next: c, tracker: touched || (c.state === 'closed' && c !== start) };
}
