import type { Settings } from '../options/breaker-options.js';
import { ABORTED, type Ending, RESOLVED, THREW, TIMED_OUT } from './guarded-call.js';
import { tagOf, writeLog } from './log.js';
import { FAILURE, NEUTRAL, type Outcome, SUCCESS } from './rules.js';

/**
 * Runs one of the user's callbacks (a predicate, `retryAfterHint`, a `backoff` function). One that throws is
 * reported, never thrown: the step goes on with `onThrow`. Arguments, not a closure: predicates run on every call.
 */
export function callUser<A, R>(s: Settings, option: string, callback: (a: A) => R, arg: A, onThrow: R): R {
  try {
    return callback(arg);
  } catch (error) {
    writeLog(s, 'error', 'breaker.predicateError', `breakwater${tagOf(s.name)}: ${option} threw`, { option, error }, true);
    return onThrow;
  }
}

/**
 * What a call that ended counts as: the predicates decide what a value or an error counts as. A predicate that
 * throws is reported; the outcome then counts as a failure.
 */
export function judge(s: Settings, ending: Ending, value: unknown): Outcome {
  if (ending === RESOLVED) {
    return s.isResultFailure !== undefined && callUser(s, 'isResultFailure', s.isResultFailure, value, true) === true ? FAILURE : SUCCESS;
  }
  if (ending === ABORTED) return NEUTRAL;
  return ending === THREW && s.isFailure !== undefined && callUser(s, 'isFailure', s.isFailure, value, true) === false ? NEUTRAL : FAILURE;
}

/** A failure's own recovery delay, from `retryAfterHint`; one that throws or is not a number gives none. */
export function hintOf(s: Settings, ending: Ending, value: unknown): number | undefined {
  const raw =
    s.retryAfterHint === undefined || ending === TIMED_OUT ? undefined : callUser(s, 'retryAfterHint', s.retryAfterHint, value, undefined);
  return typeof raw === 'number' ? raw : undefined;
}
