import type { RecoveryBackoff } from '../core/rules.js';
import { checkOptionObject, num } from '../options/checks.js';

/** Options of `exponentialBackoff`. */
export interface ExponentialBackoffOptions {
  /** Growth per attempt, ≥ 1 (default 2). */
  readonly multiplier?: number;
  /** Longest delay in ms, ≥ `recoveryTimeout` (default 10 × `recoveryTimeout`). */
  readonly maxDelay?: number;
  /** Fraction of the delay removed at random, 0 – 1 (default 0). Spreads a fleet's probes. */
  readonly jitter?: number;
}

/** What an exponential backoff was made with: the fleet compares it between instances, the breaker checks `maxDelay`. */
interface Described extends RecoveryBackoff {
  toJSON(): { readonly type: 'exponential' } & ExponentialBackoffOptions;
}

/**
 * A recovery backoff that grows the open time on each attempt while probes keep failing:
 * `recoveryTimeout × multiplier^(attempt − 1)`, at most `maxDelay`, less up to `jitter` of it at random.
 * Reset when the circuit closes.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ recoveryTimeout: 5_000, backoff: exponentialBackoff({ maxDelay: 60_000, jitter: 0.2 }) });
 * ```
 * @throws {TypeError | RangeError} naming the option and the value.
 */
export function exponentialBackoff(options?: ExponentialBackoffOptions): RecoveryBackoff {
  const o = checkOptionObject<ExponentialBackoffOptions>(options, 'backoff', ['multiplier', 'maxDelay', 'jitter']);
  const multiplier = num(o.multiplier, 'backoff.multiplier', 1) ?? 2;
  const maxDelay = num(o.maxDelay, 'backoff.maxDelay', 0);
  const jitter = num(o.jitter, 'backoff.jitter', 0, 1) ?? 0;
  const backoff = ((attempt: number, base: number) => {
    // A zero base stays zero (0 × multiplier^1024 would be 0 × Infinity: NaN).
    const grown = base === 0 ? 0 : Math.min(maxDelay ?? base * 10, base * multiplier ** (attempt - 1));
    return grown * (1 - jitter * Math.random());
  }) as Described;
  backoff.toJSON = () => ({ type: 'exponential', multiplier, maxDelay, jitter });
  return backoff;
}
