import { brand, isBranded, stackless } from './brand.js';

const BRAND = Symbol.for('breakwater.ConcurrencyLimitError');

/**
 * Thrown (as a rejection) when a call would exceed the breaker's `maxConcurrent`: `fn` was not called, and the
 * call counts neither as a failure nor as a success. Like `CircuitOpenError`, it is built without a stack.
 */
export class ConcurrencyLimitError extends Error {
  /** True for a rejection of any copy of breakwater loaded in the process. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of `instanceof`, a subclass perhaps.
    return isBranded(this, BRAND, value);
  }

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

brand(ConcurrencyLimitError, BRAND, 'ConcurrencyLimitError');

/** The breaker's cap rejection, built without a stack (see `stackless`). */
export const createLimitError = /* @__PURE__ */ stackless(
  ConcurrencyLimitError,
  function (message: string, limit: number, breaker: string | undefined) {
    (this as { message: string }).message = message;
    (this as { limit: number }).limit = limit;
    (this as { breaker: string | undefined }).breaker = breaker;
  },
);
