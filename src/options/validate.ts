import { type Clock, systemClock } from '../core/clock.js';
import type { BreakerStore } from '../fleet/contract.js';
import type { Rules } from '../core/rules.js';
import type { CircuitBreakerOptions, Logger, WindowOptions } from '../core/types.js';

/**
 * The number options: `[min, max, kind, default]`. Kind 0: a number ≥ min; 1: an integer ≥ min; 2: a number > min.
 * A table rather than a call per option: the checks are the same, only the bounds differ.
 */
type Range = readonly [min: number, max: number | undefined, kind: 0 | 1 | 2, fallback?: number];
/**
 * No upper bound (infinity itself is refused: every number option must be finite). `undefined`, not
 * `Infinity`: a row with a double in it stores unboxed doubles, and each default read from it would be a fresh
 * heap number (boxed again in every breaker's settings).
 */
export const NO_MAX = undefined;
/** The largest windows: a count window of this many calls, a time window of this many buckets. */
export const MAX_WINDOW_SIZE = 1_000_000;
export const MAX_WINDOW_BUCKETS = 1000;
const POSITIVE: Range = [0, NO_MAX, 2];
const RATE: Range = [0, 1, 2];
/** Every number option, with its bounds and its default (if it has one). */
const NUMBERS: Readonly<Record<string, Range>> = {
  failureThreshold: [1, NO_MAX, 1, 5],
  failureRateThreshold: RATE,
  slowCallRateThreshold: RATE,
  slowCallDuration: POSITIVE,
  minimumCalls: [1, NO_MAX, 1, 10],
  recoveryTimeout: [0, NO_MAX, 0, 60_000],
  halfOpenProbes: [1, NO_MAX, 1, 1],
  successThreshold: [1, NO_MAX, 1, 1],
  // Timers hold at most 2^31 − 1 ms; beyond that they fire at once.
  timeout: [0, 2_147_483_647, 2],
  maxProbeWait: POSITIVE,
  'window.size': [1, MAX_WINDOW_SIZE, 1],
  'window.duration': POSITIVE,
  'window.buckets': [1, MAX_WINDOW_BUCKETS, 1, 10],
  'backoff.multiplier': [1, NO_MAX, 0],
  'backoff.jitter': [0, 1, 0],
  maxSize: [1, NO_MAX, 1, 1000],
};

/** Every option name the core knows. */
const KNOWN_OPTIONS: readonly string[] = (
  'name failureThreshold failureRateThreshold slowCallRateThreshold slowCallDuration window minimumCalls recoveryTimeout backoff ' +
  'halfOpenProbes successThreshold maxProbeWait isFailure isResultFailure retryAfterHint timeout clock logger initialState store ' +
  'syncInterval onStoreError'
).split(' ');

// Defaults shared by every breaker: one object each, not one per breaker (idle memory).
const FIXED_BACKOFF: Rules['backoff'] = Object.freeze({ type: 'fixed' });
const DEFAULT_WINDOW: WindowOptions = Object.freeze({ type: 'count', size: 100 });

/** Options after validation, with defaults filled in. */
export interface Settings extends Rules {
  readonly name: string | undefined;
  readonly failureThreshold: number;
  readonly failureRateThreshold: number | undefined;
  readonly slowCallRateThreshold: number | undefined;
  readonly slowCallDuration: number | undefined;
  readonly window: WindowOptions;
  readonly minimumCalls: number;
  readonly isFailure: ((error: unknown) => boolean) | undefined;
  readonly isResultFailure: ((result: unknown) => boolean) | undefined;
  readonly retryAfterHint: ((failure: unknown) => number | undefined) | undefined;
  readonly timeout: number | undefined;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly store: BreakerStore | undefined;
  /** The fleet options as given: the store's engine checks them when the breaker joins (the core carries none of it). */
  readonly syncInterval: unknown;
  readonly onStoreError: unknown;
}

type ErrorKind = typeof TypeError | typeof RangeError;

/** A value as an error message shows it: strings quoted, data as (at most 80 characters of) JSON. */
function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string' || (typeof value === 'object' && value !== null)) {
    try {
      return JSON.stringify(value).slice(0, 80);
    } catch {
      // Circular or otherwise not JSON: the plain form below.
    }
  }
  return String(value);
}

/** Throws the error every bad option gets: the option, what it must be, and the value given. */
export function fail(Kind: ErrorKind, option: string, value: unknown, expected: string): never {
  throw new Kind(`breakwater: option "${option}" must be ${expected}; got ${describe(value)}`);
}

/**
 * A number option, bounded as `NUMBERS` says (or by `range`): `TypeError` when it is not a number,
 * `RangeError` when it is out of range, infinite or not whole. `undefined` gives the default.
 */
export function checkNumber(option: string, value: unknown, range = NUMBERS[option] as Range, label = option, optional = false): number {
  const [min, max, kind, fallback] = range;
  if (value === undefined && (optional || fallback !== undefined)) return fallback as number;
  if (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (max === undefined || value <= max) &&
    (kind === 2 ? value > min : value >= min) &&
    (kind !== 1 || Number.isInteger(value))
  ) {
    return value;
  }
  return fail(
    typeof value === 'number' ? RangeError : TypeError,
    label,
    value,
    `${kind === 1 ? 'an integer' : 'a number'} ${kind === 2 ? '>' : '≥'} ${min}${max === undefined ? '' : ` and ≤ ${max}`}`,
  );
}

/** An object with the named methods; a name ending in `?` may be left out. */
export function checkMethods<T>(option: string, value: unknown, names: string, expected: string): T {
  const o = value as Record<string, unknown> | null;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    names.split(' ').every((n) => {
      const optional = n.endsWith('?');
      const method = o[optional ? n.slice(0, -1) : n];
      return typeof method === 'function' || (optional && method === undefined);
    });
  return ok ? (value as T) : fail(TypeError, option, value, expected);
}

/** The closest of the known option names (edit distance under 4, ignoring case), to suggest for a typo. */
function closest(name: string, knownNames: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  const a = name.toLowerCase();
  for (const known of knownNames) {
    const b = known.toLowerCase();
    // One row of the edit-distance table at a time.
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) {
        next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
      row = next;
    }
    if ((row[b.length] as number) < bestDistance) {
      bestDistance = row[b.length] as number;
      best = known;
    }
  }
  return best;
}

function checkWindow(value: unknown): WindowOptions {
  const w = (value ?? 0) as Record<string, unknown>;
  if (w.type === 'count') {
    refuseUnknown(w, ['type', 'size'], 'window option');
    return { type: 'count', size: checkNumber('window.size', w.size) };
  }
  if (w.type === 'time') {
    refuseUnknown(w, ['type', 'duration', 'buckets'], 'window option');
    return { type: 'time', duration: checkNumber('window.duration', w.duration), buckets: checkNumber('window.buckets', w.buckets) };
  }
  return typeof value === 'object' && value !== null
    ? fail(TypeError, 'window.type', w.type, '"count" or "time"')
    : fail(TypeError, 'window', value, "{ type: 'count', size } or { type: 'time', duration, buckets? }");
}

function checkBackoff(value: unknown, recoveryTimeout: number): Rules['backoff'] {
  if (typeof value === 'function') return value as Rules['backoff'];
  const b = (value ?? 0) as Record<string, unknown>;
  if (b.type === 'fixed') {
    refuseUnknown(b, ['type'], 'backoff option');
    return FIXED_BACKOFF;
  }
  if (b.type === 'exponential') refuseUnknown(b, ['type', 'multiplier', 'maxDelay', 'jitter'], 'backoff option');
  else {
    return typeof value === 'object' && value !== null
      ? fail(TypeError, 'backoff.type', b.type, '"fixed" or "exponential"')
      : fail(TypeError, 'backoff', value, "{ type: 'fixed' }, { type: 'exponential', … } or a function");
  }
  const backoff: Record<string, unknown> = { type: 'exponential' };
  // Only the fields given, in this order: the fleet's settings digest reads them.
  if (b.multiplier !== undefined) backoff.multiplier = checkNumber('backoff.multiplier', b.multiplier);
  if (b.maxDelay !== undefined) backoff.maxDelay = checkNumber('', b.maxDelay, [recoveryTimeout, NO_MAX, 0], 'backoff.maxDelay');
  if (b.jitter !== undefined) backoff.jitter = checkNumber('backoff.jitter', b.jitter);
  return backoff as Rules['backoff'];
}

/** A store must bring its fleet engine (`join`), so that the core carries none of it; the fleet options need a store. */
function checkStore(o: Record<string, unknown>): BreakerStore | undefined {
  const store = o.store as Partial<BreakerStore> | null | undefined;
  if (store === undefined) {
    for (const key of ['syncInterval', 'onStoreError']) {
      if (o[key] !== undefined) throw new TypeError(`breakwater: option "${key}" only applies with a "store"; got ${describe(o[key])}`);
    }
    return undefined;
  }
  if (o.initialState != null) {
    throw new TypeError('breakwater: option "initialState" does not apply with a "store": the shared state is the breaker\'s state');
  }
  return typeof store?.join === 'function'
    ? (store as BreakerStore)
    : fail(
        TypeError,
        'store',
        store,
        'a store with a join() method: RedisStore from breakwater/redis, or a SharedStore subclass or sharedStore() from breakwater/fleet',
      );
}

/** The options of rate mode; `failureThreshold` is consecutive mode's. */
export const RATE_OPTIONS = ['failureRateThreshold', 'slowCallRateThreshold', 'window', 'minimumCalls'] as const;

/** Whether options given choose rate mode (any rate option set). */
export function choosesRate(o: CircuitBreakerOptions | Record<string, unknown>): boolean {
  return RATE_OPTIONS.some((key) => (o as Record<string, unknown>)[key] !== undefined);
}

/** Which rule opens the circuit: consecutive failures, or a rate over a window (derived, not stored: idle memory). */
export function modeOf(s: Settings): 'consecutive' | 'rate' {
  return s.failureRateThreshold === undefined && s.slowCallRateThreshold === undefined ? 'consecutive' : 'rate';
}

/** Refuses a key that is not one of `knownNames` (a typo must not silently do nothing), suggesting the closest one. */
export function refuseUnknown(options: object, knownNames: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!knownNames.includes(key)) {
      const hint = closest(key, knownNames);
      throw new TypeError(`breakwater: unknown ${what} "${key}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
    }
  }
}

/** Validates options at construction; every problem is a `TypeError` or `RangeError` naming the option and the value. */
export function resolveOptions(options: CircuitBreakerOptions | undefined): Settings {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) fail(TypeError, 'options', options, 'an object');
  refuseUnknown(options, KNOWN_OPTIONS, 'option');
  const o = options as Record<string, unknown>;
  const has = (key: string) => o[key] !== undefined;

  const rate = choosesRate(o);
  if (rate && has('failureThreshold')) {
    throw new TypeError(
      'breakwater: "failureThreshold" (consecutive failures) cannot be combined with rate options (failureRateThreshold, slowCallRateThreshold, window, minimumCalls): choose one mode',
    );
  }
  if (rate && !has('failureRateThreshold') && !has('slowCallRateThreshold')) {
    throw new TypeError('breakwater: rate mode needs "failureRateThreshold" or "slowCallRateThreshold"');
  }
  if (has('slowCallRateThreshold') && !has('slowCallDuration')) {
    throw new TypeError('breakwater: "slowCallRateThreshold" needs "slowCallDuration" (what counts as slow)');
  }
  if (has('name') && (typeof o.name !== 'string' || o.name === '')) fail(TypeError, 'name', o.name, 'a non-empty string');

  const num = (key: string) => checkNumber(key, o[key], undefined, key, true);
  const fn = <F>(key: string): F | undefined =>
    o[key] === undefined || typeof o[key] === 'function' ? (o[key] as F) : fail(TypeError, key, o[key], 'a function');
  const recoveryTimeout = num('recoveryTimeout');
  const timeout = num('timeout') as number | undefined;
  const window = has('window') ? checkWindow(o.window) : DEFAULT_WINDOW;
  const minimumCalls = num('minimumCalls');
  const store = checkStore(o);

  // One literal in a fixed order: the settings object keeps fast properties (the hot path reads it on every call).
  return {
    name: o.name as string | undefined,
    failureThreshold: num('failureThreshold'),
    failureRateThreshold: num('failureRateThreshold'),
    slowCallRateThreshold: num('slowCallRateThreshold'),
    slowCallDuration: num('slowCallDuration'),
    window,
    minimumCalls: window.type === 'count' ? Math.min(minimumCalls, window.size) : minimumCalls,
    recoveryTimeout,
    backoff: has('backoff') ? checkBackoff(o.backoff, recoveryTimeout) : FIXED_BACKOFF,
    halfOpenProbes: num('halfOpenProbes'),
    successThreshold: num('successThreshold'),
    maxProbeWait: num('maxProbeWait') ?? Math.max(60_000, timeout ?? 0),
    isFailure: fn('isFailure'),
    isResultFailure: fn('isResultFailure'),
    retryAfterHint: fn('retryAfterHint'),
    timeout,
    clock: has('clock')
      ? checkMethods('clock', o.clock, 'now wallNow?', 'an object with a now() method (and optionally wallNow())')
      : systemClock,
    logger: has('logger') ? checkMethods('logger', o.logger, 'info warn error', 'an object with info, warn and error methods') : undefined,
    store,
    syncInterval: o.syncInterval,
    onStoreError: o.onStoreError,
  };
}
