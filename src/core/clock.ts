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
