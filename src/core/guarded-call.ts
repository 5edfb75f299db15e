/**
 * A call with a timeout or a caller's signal. Both abort the signal handed to `fn`; whichever ends the call
 * first ends it once, and the breaker settles it through `settle`. Off the hot path: a call without a timeout
 * or a signal never comes here.
 */
import { followAbort, unfollowAbort } from '../async/abort-followers.js';
import { TimeoutError } from '../errors/timeout-error.js';
import type { CallContext } from './types.js';

/** How a call ended, before the predicates judge it. */
export const RESOLVED = 0;
export const THREW = 1;
export const TIMED_OUT = 2;
export const ABORTED = 3;
export type Ending = typeof RESOLVED | typeof THREW | typeof TIMED_OUT | typeof ABORTED;

/**
 * Runs `fn` with a signal that aborts on `timeout` (ms) or when the caller's `signal` does. `settle` hears how
 * the call ended, once, before the returned promise settles.
 */
export function runGuarded<T>(
  fn: (context: CallContext) => T | PromiseLike<T>,
  signal: AbortSignal | undefined,
  timeout: number | undefined,
  name: string | undefined,
  settle: (ending: Ending, outcome: unknown) => void,
): Promise<T> {
  if (signal != null && typeof signal.addEventListener !== 'function') {
    // Admitted already (perhaps as the probe): settled as neutral, so the slot is not held.
    const error = new TypeError(`breakwater: the "signal" of execute() must be an AbortSignal; got ${String(signal)}`);
    settle(ABORTED, error);
    return Promise.reject(error);
  }
  if (signal?.aborted) {
    settle(ABORTED, signal.reason);
    return Promise.reject(signal.reason);
  }
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    /** Ends the call once, however it ends: settles it, stops the timer and the signal's follower, and answers. */
    const end = (ending: Ending, outcome: unknown): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      if (signal != null) unfollowAbort(signal, onAbort);
      settle(ending, outcome);
      if (ending === RESOLVED) resolve(outcome as T);
      else {
        if (ending === TIMED_OUT || ending === ABORTED) controller.abort(outcome);
        reject(outcome);
      }
    };
    const onAbort = () => end(ABORTED, (signal as AbortSignal).reason);
    if (signal != null) followAbort(signal, onAbort);
    if (timeout !== undefined) timer = setTimeout(() => end(TIMED_OUT, new TimeoutError(timeout, name)), timeout);
    let result: T | PromiseLike<T>;
    try {
      result = fn({ signal: controller.signal });
    } catch (error) {
      return end(THREW, error);
    }
    Promise.resolve(result).then(
      (value) => end(RESOLVED, value),
      (error: unknown) => end(THREW, error),
    );
  });
}
