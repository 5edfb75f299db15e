import { brand, isBranded } from './brand.js';

const BRAND = Symbol.for('breakwater.TimeoutError');

/** Rejection of a call that outlived the breaker's `timeout`; counted as a failure. */
export class TimeoutError extends Error {
  /** True for a timeout of any copy of breakwater loaded in the process. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of `instanceof`, a subclass perhaps.
    return isBranded(this, BRAND, value);
  }

  declare readonly name: 'TimeoutError';
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number, breaker?: string) {
    super(`${breaker === undefined ? 'Call' : `Call through "${breaker}"`} timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

brand(TimeoutError, BRAND, 'TimeoutError');
