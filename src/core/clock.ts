/** A source of time in milliseconds. `now` must be monotonic; `wallNow` maps it to the wall clock for snapshots. */
export interface Clock {
  /** Monotonic milliseconds: never goes back. */
  now(): number;
  /** Wall-clock milliseconds since the epoch (default `Date.now`). Only used for snapshots and event times. */
  wallNow?(): number;
}

/** `performance.now` where it exists (every supported runtime), else `Date.now`. */
export const systemClock: Clock = {
  now: typeof performance !== 'undefined' && typeof performance.now === 'function' ? () => performance.now() : () => Date.now(),
  wallNow: () => Date.now(),
};

let turnNow: number | undefined;
const forget = () => {
  turnNow = undefined;
};

/**
 * The system clock read at most once per event-loop turn: the reading is kept until a `setImmediate` (queued with
 * it, so nothing is held while idle) clears it. Where `setImmediate` is missing, every read is exact. A time
 * window places an untimed success by it (see `#settle`): a clock read costs as much as several bare calls.
 */
export const turnClock: Clock = {
  now: () => {
    if (turnNow !== undefined) return turnNow;
    const now = systemClock.now();
    const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
    if (typeof immediate === 'function') {
      turnNow = now;
      immediate(forget);
    }
    return now;
  },
};

/** Wall-clock milliseconds by `clock` (`Date.now` when it has no `wallNow`). */
export function wallNow(clock: Clock): number {
  return clock.wallNow === undefined ? Date.now() : clock.wallNow();
}

/** Maps times of `clock`, read as `now`, to wall-clock times. */
export function toWall(clock: Clock, now: number): (t: number) => number {
  const wall = wallNow(clock);
  return (t) => wall - (now - t);
}
