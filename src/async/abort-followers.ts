/**
 * One `abort` listener per caller signal, however many calls in flight follow it. A signal shared by many calls
 * (a server's shutdown signal, one signal for a batch) is normal use, and Node warns of a leak past ten
 * listeners on one signal.
 */

interface Followers {
  readonly calls: Set<() => void>;
  readonly onAbort: () => void;
}

const bySignal = new WeakMap<AbortSignal, Followers>();

/** Calls `listener` once `signal` aborts, unless `unfollowAbort(signal, listener)` came first. */
export function followAbort(signal: AbortSignal, listener: () => void): void {
  let followers = bySignal.get(signal);
  if (followers === undefined) {
    const calls = new Set<() => void>();
    const onAbort = () => {
      bySignal.delete(signal);
      for (const call of calls) call();
    };
    followers = { calls, onAbort };
    bySignal.set(signal, followers);
    signal.addEventListener('abort', onAbort, { once: true });
  }
  followers.calls.add(listener);
}

/** Stops calling `listener`; the signal's own listener goes with its last follower. */
export function unfollowAbort(signal: AbortSignal, listener: () => void): void {
  const followers = bySignal.get(signal);
  if (followers === undefined || !followers.calls.delete(listener) || followers.calls.size > 0) return;
  bySignal.delete(signal);
  signal.removeEventListener('abort', followers.onAbort);
}
