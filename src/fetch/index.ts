/**
 * A `fetch` that runs every request through a circuit breaker per origin.
 *
 * @example
 * ```ts
 * import { createBreakerFetch } from 'breakwater/fetch';
 *
 * const fetch = createBreakerFetch({ breaker: { failureThreshold: 5, timeout: 3_000 } });
 * const res = await fetch('https://api.example.com/users/7'); // CircuitOpenError while that origin's circuit is open
 * ```
 * @packageDocumentation
 */
import { BreakerRegistry, type CircuitBreakerOptions } from 'breakwater';

/** Options of `createBreakerFetch`. */
export interface BreakerFetchOptions {
  /**
   * Options of every origin's breaker (each is named after its origin, or `name:origin` with a `name`).
   * `isResultFailure` and `retryAfterHint` are set by the wrapper: use `isFailureResponse` and `maxRetryAfter`.
   */
  readonly breaker?: CircuitBreakerOptions;
  /** Per-origin options, merged over `breaker` (a longer `timeout` for one slow host, say). */
  readonly optionsFor?: (origin: string) => CircuitBreakerOptions | undefined;
  /** Most origins with a breaker at once; the least recently used is dropped beyond it (default 1000). */
  readonly maxOrigins?: number;
  /** Which responses count as failures (they are still returned). Default: status ≥ 500, and 429. */
  readonly isFailureResponse?: (response: Response) => boolean;
  /** Longest open time, in ms, a `Retry-After` header can ask for (default 600 000: ten minutes). */
  readonly maxRetryAfter?: number;
  /** The breaker key of a request (default: its URL's origin). */
  readonly keyOf?: (url: URL) => string;
  /** The `fetch` to call (default: the global `fetch`, looked up on every call, so test interceptors apply). */
  readonly fetch?: typeof fetch;
}

/** A `fetch` with one breaker per origin; `registry` holds the breakers (for metrics and control). */
export interface BreakerFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** The per-origin breakers, keyed by origin (or by `keyOf`). */
  readonly registry: BreakerRegistry;
}

const FETCH_OPTIONS: ReadonlySet<string> = new Set([
  'breaker',
  'optionsFor',
  'maxOrigins',
  'isFailureResponse',
  'maxRetryAfter',
  'keyOf',
  'fetch',
]);

/** The default failure rule: server errors, and 429 Too Many Requests (the upstream is shedding load). */
export function isFailureStatus(response: Response): boolean {
  return response.status >= 500 || response.status === 429;
}

/**
 * Milliseconds a `Retry-After` header value asks to wait: delay-seconds (`120`) or an HTTP date,
 * measured from `now` (epoch ms). `undefined` when absent or malformed; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form names a month; without that check engines read "-5" as a year.
  const date = /[a-z]{3}/i.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Creates a `fetch` that runs each request through its origin's breaker. Network errors, timeouts
 * (the breaker's `timeout` option) and failing responses (5xx and 429 by default) count as failures;
 * responses are returned unchanged, failing ones included. While an origin's circuit is open its
 * requests reject with `CircuitOpenError` without reaching the network. A `Retry-After` header on a
 * 429 or 503 that opens the circuit sets how long it stays open (capped by `maxRetryAfter`).
 * The caller's `AbortSignal` (in `init` or on a `Request`) is passed through; aborting is neutral.
 *
 * @throws {TypeError | RangeError} when an option is invalid.
 */
export function createBreakerFetch(options?: BreakerFetchOptions): BreakerFetch {
  const o = checkOptions(options);
  const isFailureResponse = o.isFailureResponse ?? isFailureStatus;
  const maxRetryAfter = o.maxRetryAfter ?? 600_000;
  const keyOf = o.keyOf ?? ((url: URL) => url.origin);
  const judged: CircuitBreakerOptions = {
    isResultFailure: (result) => isFailureResponse(result as Response),
    retryAfterHint: (failure) => {
      if (!isResponse(failure) || (failure.status !== 429 && failure.status !== 503)) return undefined;
      const wait = parseRetryAfter(failure.headers.get('retry-after'), Date.now());
      return wait === undefined ? undefined : Math.min(wait, maxRetryAfter);
    },
  };
  const registry = new BreakerRegistry({
    defaults: { ...o.breaker, ...judged },
    ...(o.optionsFor === undefined ? {} : { optionsFor: o.optionsFor }),
    ...(o.maxOrigins === undefined ? {} : { maxSize: o.maxOrigins }),
  });

  const breakerFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    let breaker: ReturnType<BreakerRegistry['get']>;
    try {
      breaker = registry.get(keyOf(toURL(input)));
    } catch (error) {
      return Promise.reject(error);
    }
    const doFetch = o.fetch ?? globalThis.fetch;
    const signal = init?.signal ?? (typeof Request !== 'undefined' && input instanceof Request ? input.signal : undefined);
    return breaker.execute(
      ({ signal: callSignal }) => (callSignal === undefined ? doFetch(input, init) : doFetch(input, { ...init, signal: callSignal })),
      signal === undefined || signal === null ? undefined : { signal },
    );
  };
  return Object.assign(breakerFetch, { registry });
}

function toURL(input: RequestInfo | URL): URL {
  const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  // Relative URLs resolve against the page in a browser, as fetch itself does.
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  return new URL(href, base);
}

function isResponse(value: unknown): value is Response {
  const r = value as Response | null;
  return typeof r === 'object' && r !== null && typeof r.status === 'number' && typeof r.headers?.get === 'function';
}

function checkOptions(options: BreakerFetchOptions | undefined): BreakerFetchOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`breakwater: fetch options must be an object; got ${String(options)}`);
  for (const key of Object.keys(options)) {
    if (!FETCH_OPTIONS.has(key)) throw new TypeError(`breakwater: unknown fetch option "${key}" (known: ${[...FETCH_OPTIONS].join(', ')})`);
  }
  for (const key of ['isResultFailure', 'retryAfterHint'] as const) {
    if (options.breaker?.[key] !== undefined) {
      throw new TypeError(`breakwater: fetch sets "breaker.${key}" itself; use "isFailureResponse" or "maxRetryAfter"`);
    }
  }
  for (const key of ['isFailureResponse', 'keyOf', 'fetch', 'optionsFor'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new TypeError(`breakwater: option "${key}" must be a function; got ${String(options[key])}`);
    }
  }
  const max = options.maxRetryAfter;
  if (max !== undefined && (typeof max !== 'number' || Number.isNaN(max) || max < 0)) {
    throw new (typeof max === 'number' ? RangeError : TypeError)(
      `breakwater: option "maxRetryAfter" must be a number ≥ 0; got ${String(max)}`,
    );
  }
  return options;
}
