/**
 * Thrown (as a rejection) when the breaker refuses a call: the circuit is open,
 * forced open, or half-open with every probe slot taken. `fn` was not called.
 *
 * Its stack holds no frames: the refusal comes from the breaker, not from the
 * caller's code, and skipping the capture keeps failing fast cheap.
 */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  /** Milliseconds until the breaker lets a probe through (`Infinity` while forced open). */
  readonly retryAfter: number;
  /** The breaker's `name`, if it has one. */
  readonly breaker: string | undefined;

  constructor(message: string, retryAfter: number, breaker?: string) {
    super(message);
    this.retryAfter = retryAfter;
    this.breaker = breaker;
  }
}

/** Rejection of a call that outlived the breaker's `timeout`; counted as a failure. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number, breaker?: string) {
    super(`${breaker === undefined ? 'Call' : `Call through "${breaker}"`} timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

/** Builds a `CircuitOpenError` without capturing a stack trace (V8 and most engines honour `stackTraceLimit`). */
export function createOpenError(message: string, retryAfter: number, breaker: string | undefined): CircuitOpenError {
  const E = Error as { stackTraceLimit?: number };
  const limit = E.stackTraceLimit;
  E.stackTraceLimit = 0;
  try {
    return new CircuitOpenError(message, retryAfter, breaker);
  } finally {
    E.stackTraceLimit = limit;
  }
}
