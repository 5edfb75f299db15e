import { BreakwaterError, brand } from './brand.js';

/** Rejection of a call that outlived the breaker's `timeout`; counted as a failure. `instanceof` holds across copies of breakwater. */
export class TimeoutError extends BreakwaterError {
  declare readonly name: 'TimeoutError';
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number, breaker?: string) {
    super(`Call${breaker === undefined ? '' : ` through "${breaker}"`} timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

brand(TimeoutError, 'TimeoutError');
