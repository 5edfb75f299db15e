import { BreakwaterError, brand } from './brand.js';

/**
 * Thrown (as a rejection) when the breaker refuses a call: the circuit is open,
 * forced open, or half-open with every probe slot taken. `fn` was not called.
 *
 * The breaker builds its rejections without running the `Error` constructor: they are `instanceof CircuitOpenError`
 * and `instanceof Error`, with `name`, `message`, `retryAfter` and `breaker`, but capture no stack: `stack` reads
 * `CircuitOpenError: <message>`. The refusal comes from the breaker, not from the caller's code, and skipping the
 * capture keeps failing fast cheap. `instanceof` holds for a rejection of any copy of breakwater loaded in the process.
 */
export class CircuitOpenError extends BreakwaterError {
  declare readonly name: 'CircuitOpenError';
  /**
   * Milliseconds until a call may get through: while open, until the recovery time is over; while every
   * probe slot of a half-open trial is taken, until the trial is decided at the latest (its deadline: by then
   * it has closed, or reopened for another recovery time); `Infinity` while forced open.
   */
  readonly retryAfter: number;
  /** The breaker's `name`, if it has one. */
  readonly breaker: string | undefined;

  constructor(message: string, retryAfter: number, breaker?: string) {
    super(message);
    this.retryAfter = retryAfter;
    this.breaker = breaker;
  }
}

/** The breaker's rejection, built without a stack (see `brand`); not pure: it also names and brands the class. */
export const createOpenError = brand(CircuitOpenError, 'CircuitOpenError', 'retryAfter');
