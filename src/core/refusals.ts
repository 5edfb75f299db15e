import { type CircuitOpenError, createOpenError } from '../errors/circuit-open-error.js';
import { type ConcurrencyLimitError, createLimitError } from '../errors/concurrency-limit-error.js';
import type { Settings } from '../options/breaker-options.js';
import { tagOf, writeLog } from './log.js';
import { type Circuit, retryAfter } from './rules.js';
import type { CircuitState } from './types.js';

/** While calls are rejected, at most one `breaker.rejected` record per this many ms, with the count since the last. */
const REJECTED_LOG_INTERVAL = 1_000;

/**
 * The errors a breaker refuses calls with, and the log of its rejections. Made at the first refusal: a breaker
 * that never refuses holds none of it (idle memory).
 */
export class Refusals {
  readonly #s: Settings;
  /** When the last `breaker.rejected` record went out, and the rejections not logged since. */
  #loggedAt = -Infinity;
  #unlogged = 0;

  constructor(settings: Settings) {
    this.#s = settings;
  }

  /**
   * The error of a call the circuit `c` rejects at `now` (`wait`: how long until a call may pass, when the store
   * said so). With a logger: one record a second at most.
   */
  open(c: Circuit, now: number, wait = retryAfter(c, now, this.#s)): CircuitOpenError {
    const s = this.#s;
    const error = createOpenError(`Circuit${tagOf(s.name)} is open`, wait, s.name);
    if (s.logger !== undefined) {
      // A flood of identical lines helps nobody: the count since the last record tells as much.
      this.#unlogged++;
      if (now - this.#loggedAt >= REJECTED_LOG_INTERVAL) {
        this.#loggedAt = now;
        this.flushLog(c.state, error.retryAfter);
      }
    }
    return error;
  }

  /** The error of a call refused because `maxConcurrent` calls are in flight. */
  limit(): ConcurrencyLimitError {
    const s = this.#s;
    return createLimitError(
      `Circuit${tagOf(s.name)} has ${s.maxConcurrent} calls in flight (maxConcurrent)`,
      s.maxConcurrent as number,
      s.name,
    );
  }

  /** Logs the rejections not yet logged (a transition that ends them tells them first). */
  flushLog(state: CircuitState, retryAfter: number | undefined): void {
    const rejected = this.#unlogged;
    if (rejected === 0) return;
    this.#unlogged = 0;
    writeLog(
      this.#s,
      'warn',
      'breaker.rejected',
      `Circuit${tagOf(this.#s.name)} is open: ${rejected} call${rejected === 1 ? '' : 's'} rejected`,
      {
        state,
        rejected,
        retryAfter,
      },
    );
  }
}
