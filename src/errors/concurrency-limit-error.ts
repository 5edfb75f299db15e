import { BreakwaterError, brand } from './brand.js';

/**
 * Thrown (as a rejection) when a call would exceed the breaker's `maxConcurrent`: `fn` was not called, and the
 * call counts neither as a failure nor as a success. Like `CircuitOpenError`, it is built without a stack, and
 * `instanceof` holds for a rejection of any copy of breakwater loaded in the process.
 */
export class ConcurrencyLimitError extends BreakwaterError {
  declare readonly name: 'ConcurrencyLimitError';
  /** The cap that was reached: the breaker's `maxConcurrent`. */
  readonly limit: number;
  /** The breaker's `name`, if it has one. */
  readonly breaker: string | undefined;

  constructor(message: string, limit: number, breaker?: string) {
    super(message);
    this.limit = limit;
    this.breaker = breaker;
  }
}

/** The breaker's cap rejection, built without a stack (see `brand`); not pure: it also names and brands the class. */
export const createLimitError = brand(ConcurrencyLimitError, 'ConcurrencyLimitError', 'limit');
