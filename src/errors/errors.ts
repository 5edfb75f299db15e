/**
 * An app may load two copies of breakwater at once: its ESM build and its CommonJS build (an ESM app using a
 * CommonJS library that requires breakwater, say). Each copy has its own classes, so `instanceof` would fail
 * across them; a brand shared through the global symbol registry makes it hold.
 */
const OPEN_BRAND = Symbol.for('breakwater.CircuitOpenError');
const TIMEOUT_BRAND = Symbol.for('breakwater.TimeoutError');

/**
 * `value instanceof target`: by brand for the class that owns the brand, by prototype for a subclass of it.
 * Told apart through the prototype, not by naming the class: a class body that names its own class is renamed
 * by bundlers (`_CircuitOpenError`), and loggers report `constructor.name` as the error's type.
 */
function isBranded(target: { readonly prototype: object }, brand: symbol, value: unknown): boolean {
  if (!Object.hasOwn(target.prototype, brand)) return Function.prototype[Symbol.hasInstance].call(target, value);
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/**
 * Thrown (as a rejection) when the breaker refuses a call: the circuit is open,
 * forced open, or half-open with every probe slot taken. `fn` was not called.
 *
 * The breaker builds its rejections without running the `Error` constructor: they are `instanceof CircuitOpenError` and `instanceof Error`,
 * with `name`, `message`, `retryAfter` and `breaker`, but capture no stack: `stack` reads
 * `CircuitOpenError: <message>`. The refusal comes from the breaker, not from the caller's
 * code, and skipping the capture keeps failing fast cheap.
 */
export class CircuitOpenError extends Error {
  /** True for a rejection of any copy of breakwater loaded in the process (see `isBranded`). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of `instanceof`, a subclass perhaps.
    return isBranded(this, OPEN_BRAND, value);
  }

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

// On the prototype, so that rejections built without the constructor have them too.
Object.defineProperty(CircuitOpenError.prototype, OPEN_BRAND, { value: true });
Object.defineProperty(CircuitOpenError.prototype, 'name', { value: 'CircuitOpenError', writable: true, configurable: true });
Object.defineProperty(CircuitOpenError.prototype, 'stack', {
  configurable: true,
  get(this: CircuitOpenError): string {
    return `${this.name}: ${this.message}`;
  },
  set(this: CircuitOpenError, value: unknown) {
    // Code that rewrites `error.stack` (common in loggers) gets an own property, as on any error.
    Object.defineProperty(this, 'stack', { value, writable: true, configurable: true });
  },
});

/** Rejection of a call that outlived the breaker's `timeout`; counted as a failure. */
export class TimeoutError extends Error {
  /** True for a timeout of any copy of breakwater loaded in the process (see `isBranded`). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of `instanceof`, a subclass perhaps.
    return isBranded(this, TIMEOUT_BRAND, value);
  }

  override readonly name = 'TimeoutError';
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number, breaker?: string) {
    super(`${breaker === undefined ? 'Call' : `Call through "${breaker}"`} timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

Object.defineProperty(TimeoutError.prototype, TIMEOUT_BRAND, { value: true });

/** The fields of a cheap rejection, set by `OpenRejection` below. */
interface OpenRejection {
  message: string;
  retryAfter: number;
  breaker: string | undefined;
}

/**
 * A plain constructor sharing `CircuitOpenError.prototype`: `new` on it gives objects of one shape with
 * their fields laid out in advance, cheaper than `Object.create` followed by three property additions.
 */
const OpenRejection = function (this: OpenRejection, message: string, retryAfter: number, breaker: string | undefined) {
  this.message = message;
  this.retryAfter = retryAfter;
  this.breaker = breaker;
} as unknown as new (
  message: string,
  retryAfter: number,
  breaker: string | undefined,
) => CircuitOpenError;
OpenRejection.prototype = CircuitOpenError.prototype;

/**
 * Builds the breaker's rejection cheaply: an object on `CircuitOpenError.prototype` with the
 * fields set, without calling the `Error` constructor (which costs about as much as the whole
 * rejection even with `stackTraceLimit` at 0). It differs from a constructed error only in
 * what engines read from the hidden error slot: no captured stack, and
 * `util.types.isNativeError` is false.
 */
export function createOpenError(message: string, retryAfter: number, breaker: string | undefined): CircuitOpenError {
  return new OpenRejection(message, retryAfter, breaker);
}
