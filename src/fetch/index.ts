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
import { followAbort, unfollowAbort } from '../async/abort-followers.js';

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
  /**
   * The `fetch` to call (default: the global `fetch`, looked up on every call, so test interceptors apply). It
   * receives the `Request` built from the caller's input and init, and an init with the signal when one is in play.
   */
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

const MONTHS = 'jan feb mar apr may jun jul aug sep oct nov dec';
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d\\d):(\\d\\d):(\\d\\d)';
/** The three HTTP-date forms (RFC 9110, section 5.6.7): IMF-fixdate, the obsolete RFC 850 and asctime forms. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d\\d) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
const RFC_850 = new RegExp(`^${DAY}[a-z]*, (\\d\\d)-${MONTH}-(\\d\\d) ${TIME} GMT$`, 'i');
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i');

/** An HTTP date's fields as `[day, month, year, hours, minutes, seconds]`, in whichever form it came. */
function httpDateFields(text: string, now: number): [string, string, number, string, string, string] | undefined {
  const imf = IMF_FIXDATE.exec(text);
  if (imf !== null) return [imf[1], imf[2], Number(imf[3]), imf[4], imf[5], imf[6]] as [string, string, number, string, string, string];
  const rfc850 = RFC_850.exec(text);
  if (rfc850 !== null) {
    // A two-digit year more than 50 years ahead is the most recent past year with those digits.
    let year = 2000 + Number(rfc850[3]);
    if (year > new Date(now).getUTCFullYear() + 50) year -= 100;
    return [rfc850[1], rfc850[2], year, rfc850[4], rfc850[5], rfc850[6]] as [string, string, number, string, string, string];
  }
  const asctime = ASCTIME.exec(text);
  if (asctime !== null) {
    return [asctime[2], asctime[1], Number(asctime[6]), asctime[3], asctime[4], asctime[5]] as [
      string,
      string,
      number,
      string,
      string,
      string,
    ];
  }
  return undefined;
}

/** An HTTP date as epoch ms (always GMT, whatever the local zone); `undefined` when it is not one. */
function parseHttpDate(text: string, now: number): number | undefined {
  const fields = httpDateFields(text, now);
  if (fields === undefined) return undefined;
  const [day, month, year] = fields;
  const [d, h, min, sec] = [day, fields[3], fields[4], fields[5]].map(Number) as [number, number, number, number];
  if (d < 1 || d > 31 || h > 23 || min > 59 || sec > 60) return undefined;
  return Date.UTC(year, MONTHS.indexOf(month.toLowerCase()) / 4, d, h, min, sec);
}

/**
 * Milliseconds a `Retry-After` header value asks to wait: delay-seconds (`120`) or an HTTP date
 * (read as GMT), measured from `now` (epoch ms). `undefined` when absent or malformed; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = parseHttpDate(text, now);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/**
 * Creates a `fetch` that runs each request through its origin's breaker. Network errors, timeouts
 * (the breaker's `timeout` option, up to the response headers) and failing responses (5xx and 429 by
 * default) count as failures; responses are returned unchanged, failing ones included. A request fetch
 * refuses to send rejects without counting. While an origin's circuit is open its requests reject with
 * `CircuitOpenError` without reaching the network (a redirect counts on the origin first called). A `Retry-After` header on a
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
  // The wrapper's own rules, applied over the defaults and over every origin's options. An HTTP-date
  // Retry-After is measured against the breaker's clock (its wall time), so that tests can fake it.
  const judged = (clock: CircuitBreakerOptions['clock']): CircuitBreakerOptions => ({
    isResultFailure: (result) => isFailureResponse(result as Response),
    retryAfterHint: (failure) => {
      if (!isResponse(failure) || (failure.status !== 429 && failure.status !== 503)) return undefined;
      const wait = parseRetryAfter(failure.headers.get('retry-after'), clock?.wallNow?.() ?? Date.now());
      return wait === undefined ? undefined : Math.min(wait, maxRetryAfter);
    },
  });
  const optionsFor = o.optionsFor;
  const registry = new BreakerRegistry({
    defaults: { ...o.breaker, ...judged(o.breaker?.clock) },
    ...(optionsFor === undefined
      ? {}
      : {
          optionsFor: (origin: string) => {
            const own = optionsFor(origin);
            if (own === undefined) return undefined;
            refuseJudges(own, `the options for "${origin}"`);
            return { ...own, ...judged(own.clock ?? o.breaker?.clock) };
          },
        }),
    ...(o.maxOrigins === undefined ? {} : { maxSize: o.maxOrigins }),
  });

  const breakerFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    // `init.signal` wins over the Request's own, `null` included (as in fetch).
    const signal =
      init !== undefined && init !== null && 'signal' in init
        ? (init.signal ?? undefined)
        : input instanceof Request
          ? input.signal
          : undefined;
    let breaker: ReturnType<BreakerRegistry['get']>;
    let request: Request;
    try {
      // Built before the origin's breaker is even looked up: what fetch refuses to send (a GET with a body, a body
      // already used, credentials in the URL) is the caller's bug, and must neither count nor make a breaker.
      request = signal === undefined ? new Request(input, init) : withoutSignal(input, init);
      breaker = registry.get(keyOf(toURL(input)));
    } catch (error) {
      return Promise.reject(error);
    }
    const doFetch = o.fetch ?? globalThis.fetch;
    const send = (callSignal: AbortSignal | undefined): Promise<Response> => {
      if (callSignal === undefined) return doFetch(request);
      if (signal === undefined) return doFetch(request, withSignal(request, callSignal));
      const both = followBoth(signal, callSignal);
      return doFetch(request, withSignal(request, both.signal)).then((response) => {
        // The body may outlive the call: the caller's abort must reach it for as long as it is read.
        keepAbortable(response, both);
        return response;
      });
    };
    if (signal === undefined) return breaker.execute(({ signal: callSignal }) => send(callSignal));
    // The breaker's signal ends with the call (at the response's headers); the caller's must still cancel
    // the body after that, as it would with plain fetch.
    return breaker.execute(({ signal: callSignal }) => send(callSignal), { signal });
  };
  return Object.assign(breakerFetch, { registry });
}

/**
 * The request the caller asked for, without the caller's signal: the wrapper follows that signal itself, with one
 * listener however many requests share it. A `Request` made with it would add a listener of its own to it for
 * each request, kept until that request is collected: thousands on a server's shutdown signal, and a warning
 * of a leak.
 */
function withoutSignal(input: RequestInfo | URL, init: RequestInit | undefined): Request {
  if (init !== undefined && init !== null) return new Request(input, { ...init, signal: null });
  // The signal is the input Request's own.
  return new Request(input, withSignal(input as Request, null));
}

/**
 * The init that gives a built request a signal (or none). Any init resets a request's referrer to the default, so
 * one that was set (a forwarded request's, say) is given again.
 */
function withSignal(request: Request, signal: AbortSignal | null): RequestInit {
  const referrer = request.referrer;
  const referrerPolicy = request.referrerPolicy;
  return referrer === 'about:client' && referrerPolicy === '' ? { signal } : { signal, referrer, referrerPolicy };
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

/** `isResultFailure` and `retryAfterHint` are the wrapper's: a caller's would silently undo its rules. */
function refuseJudges(options: CircuitBreakerOptions, where: string): void {
  for (const key of ['isResultFailure', 'retryAfterHint'] as const) {
    if (options[key] !== undefined) {
      throw new TypeError(`breakwater: fetch sets "${key}" itself (in ${where}); use "isFailureResponse" or "maxRetryAfter"`);
    }
  }
}

/** Runs a request's clean-up once its signal's controller is collected, where the runtime has weak references. */
const onCollect =
  typeof FinalizationRegistry === 'function' && typeof WeakRef === 'function'
    ? new FinalizationRegistry<() => void>((stop) => stop())
    : undefined;

/** What keeps a request's signal abortable while its response, or a reader of its body, is in use. */
const abortables = new WeakMap<object, AbortController>();

function keepAbortable(response: unknown, controller: AbortController): void {
  // A `fetch` option may answer with anything: only objects can hold the controller.
  if (typeof response !== 'object' || response === null) return;
  abortables.set(response, controller);
  const body = (response as { body?: unknown }).body;
  if (typeof body === 'object' && body !== null) abortables.set(body, controller);
}

/**
 * A signal that aborts when either does. Not `AbortSignal.any`: a runtime may keep every signal ever combined
 * with a long-lived one (a server's shutdown signal passed to every request: the heap grew by 7.5 MB over
 * 40,000 requests). The breaker's signal holds the controller while the call is in flight, the response and
 * its body after that; the caller's signal only weakly.
 */
function followBoth(caller: AbortSignal, call: AbortSignal): AbortController {
  const controller = new AbortController();
  call.addEventListener('abort', () => controller.abort(call.reason), { once: true });
  controller.signal.addEventListener('abort', followWeakly(caller, controller), { once: true });
  return controller;
}

/**
 * Aborts `controller` when `caller` does; returns what stops following. Its own function: a closure made where
 * another closure uses `controller` would share that scope, and hold the controller strongly.
 */
function followWeakly(caller: AbortSignal, controller: AbortController): () => void {
  const ref = onCollect === undefined ? strongRef(controller) : new WeakRef(controller);
  const onAbort = () => ref.deref()?.abort(caller.reason);
  const stop = () => unfollowAbort(caller, onAbort);
  followAbort(caller, onAbort);
  onCollect?.register(controller, stop);
  return stop;
}

/** Without weak references: the caller's listener holds the controller until either signal aborts. */
function strongRef(controller: AbortController): { deref(): AbortController } {
  return { deref: () => controller };
}

function checkOptions(options: BreakerFetchOptions | undefined): BreakerFetchOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`breakwater: fetch options must be an object; got ${String(options)}`);
  for (const key of Object.keys(options)) {
    if (!FETCH_OPTIONS.has(key)) throw new TypeError(`breakwater: unknown fetch option "${key}" (known: ${[...FETCH_OPTIONS].join(', ')})`);
  }
  const breaker = options.breaker as unknown;
  if (breaker !== undefined && (typeof breaker !== 'object' || breaker === null || Array.isArray(breaker))) {
    throw new TypeError(`breakwater: option "breaker" must be an object of breaker options; got ${String(breaker)}`);
  }
  if (options.breaker !== undefined) refuseJudges(options.breaker, '"breaker"');
  const origins = options.maxOrigins;
  if (origins !== undefined && !(typeof origins === 'number' && Number.isInteger(origins) && origins >= 1)) {
    throw new (typeof origins === 'number' ? RangeError : TypeError)(
      `breakwater: option "maxOrigins" must be an integer ≥ 1; got ${String(origins)}`,
    );
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
