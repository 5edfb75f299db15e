import { type Clock, systemClock } from './clock.js';
import type { BreakerStore } from './store.js';
import type { Rules } from './transitions.js';
import type { CircuitBreakerOptions, Logger, StoreErrorPolicy, WindowOptions } from './types.js';

/** Every option name the core knows. */
export const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'name',
  'failureThreshold',
  'failureRateThreshold',
  'slowCallRateThreshold',
  'slowCallDuration',
  'window',
  'minimumCalls',
  'recoveryTimeout',
  'backoff',
  'halfOpenProbes',
  'successThreshold',
  'maxProbeWait',
  'isFailure',
  'isResultFailure',
  'retryAfterHint',
  'timeout',
  'clock',
  'logger',
  'initialState',
  'store',
  'syncInterval',
  'onStoreError',
]);

// Defaults shared by every breaker: one object each, not one per breaker (idle memory).
const FIXED_BACKOFF: Rules['backoff'] = Object.freeze({ type: 'fixed' });
const DEFAULT_WINDOW: WindowOptions = Object.freeze({ type: 'count', size: 100 });

/** Options after validation, with defaults filled in. */
export interface Settings extends Rules {
  readonly name: string | undefined;
  readonly mode: 'consecutive' | 'rate';
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
  readonly syncInterval: number;
  readonly onStoreError: StoreErrorPolicy;
}

const describe = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : typeof value === 'function' ? 'a function' : String(value);

function fail(Kind: typeof TypeError | typeof RangeError, option: string, value: unknown, expected: string): never {
  throw new Kind(`breakwater: option "${option}" must be ${expected}; got ${describe(value)}`);
}

/** A number option: `TypeError` when it is not a number, `RangeError` when it is out of range or not whole. */
export function checkNumber(
  option: string,
  value: unknown,
  { min, max, integer, minExclusive }: { min: number; max?: number; integer?: boolean; minExclusive?: boolean },
): number {
  const expected = `${integer ? 'an integer' : 'a number'} ${minExclusive ? '>' : '≥'} ${min}${max === undefined ? '' : ` and ≤ ${max}`}`;
  if (typeof value !== 'number') fail(TypeError, option, value, expected);
  const ok =
    !Number.isNaN(value) &&
    (minExclusive ? value > min : value >= min) &&
    (max === undefined ? value !== Number.POSITIVE_INFINITY : value <= max) &&
    (!integer || Number.isInteger(value));
  if (!ok) fail(RangeError, option, value, expected);
  return value;
}

function checkFunction<F>(option: string, value: unknown): F {
  if (typeof value !== 'function') fail(TypeError, option, value, 'a function');
  return value as F;
}

/** The closest known option name, to suggest for a typo. */
function closest(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const known of KNOWN_OPTIONS) {
    const d = editDistance(name.toLowerCase(), known.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = known;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] as number;
}

function checkWindow(value: unknown): WindowOptions {
  if (typeof value !== 'object' || value === null)
    fail(TypeError, 'window', value, "{ type: 'count', size } or { type: 'time', duration, buckets? }");
  const w = value as Record<string, unknown>;
  if (w.type === 'count') {
    return { type: 'count', size: checkNumber('window.size', w.size, { min: 1, max: 1_000_000, integer: true }) };
  }
  if (w.type === 'time') {
    const duration = checkNumber('window.duration', w.duration, { min: 0, minExclusive: true });
    const buckets = w.buckets === undefined ? 10 : checkNumber('window.buckets', w.buckets, { min: 1, max: 1000, integer: true });
    return { type: 'time', duration, buckets };
  }
  return fail(TypeError, 'window.type', w.type, '"count" or "time"');
}

function checkBackoff(value: unknown, recoveryTimeout: number): Rules['backoff'] {
  if (typeof value === 'function') return value as Rules['backoff'];
  if (typeof value !== 'object' || value === null)
    fail(TypeError, 'backoff', value, "{ type: 'fixed' }, { type: 'exponential', … } or a function");
  const b = value as Record<string, unknown>;
  if (b.type === 'fixed') return FIXED_BACKOFF;
  if (b.type !== 'exponential') fail(TypeError, 'backoff.type', b.type, '"fixed" or "exponential"');
  const multiplier = b.multiplier === undefined ? undefined : checkNumber('backoff.multiplier', b.multiplier, { min: 1 });
  const maxDelay = b.maxDelay === undefined ? undefined : checkNumber('backoff.maxDelay', b.maxDelay, { min: recoveryTimeout });
  const jitter = b.jitter === undefined ? undefined : checkNumber('backoff.jitter', b.jitter, { min: 0, max: 1 });
  return {
    type: 'exponential',
    ...(multiplier === undefined ? {} : { multiplier }),
    ...(maxDelay === undefined ? {} : { maxDelay }),
    ...(jitter === undefined ? {} : { jitter }),
  };
}

function checkLogger(value: unknown): Logger {
  const l = value as Record<string, unknown> | null;
  if (
    typeof l !== 'object' ||
    l === null ||
    typeof l.info !== 'function' ||
    typeof l.warn !== 'function' ||
    typeof l.error !== 'function'
  ) {
    fail(TypeError, 'logger', value, 'an object with info, warn and error methods');
  }
  return value as Logger;
}

const STORE_ERROR_POLICIES: readonly StoreErrorPolicy[] = ['local', 'fail-open', 'fail-closed'];

/** The fleet options: a store needs a name (the key every instance shares); the others need a store. */
function checkStore(o: Record<string, unknown>): Pick<Settings, 'store' | 'syncInterval' | 'onStoreError'> {
  const store = o.store as Record<string, unknown> | undefined;
  if (store === undefined) {
    for (const key of ['syncInterval', 'onStoreError']) {
      if (o[key] !== undefined) throw new TypeError(`breakwater: option "${key}" only applies with a "store"; got ${describe(o[key])}`);
    }
    return { store: undefined, syncInterval: 100, onStoreError: 'local' };
  }
  if (
    typeof store !== 'object' ||
    store === null ||
    typeof store.read !== 'function' ||
    typeof store.compareAndSet !== 'function' ||
    (store.subscribe !== undefined && typeof store.subscribe !== 'function')
  ) {
    fail(TypeError, 'store', store, 'a store with read() and compareAndSet() methods (such as RedisStore from breakwater/redis)');
  }
  // The fleet engine comes with the store, so that the core carries none of it.
  if (typeof store.join !== 'function') {
    throw new TypeError(
      'breakwater: option "store" has read() and compareAndSet() but no join(): extend SharedStore, or wrap the store with sharedStore(), from breakwater/fleet',
    );
  }
  if (o.name === undefined) {
    throw new TypeError('breakwater: option "name" is required with a "store": every instance with the same name shares one breaker');
  }
  const policy = o.onStoreError ?? 'local';
  if (!STORE_ERROR_POLICIES.includes(policy as StoreErrorPolicy)) {
    fail(TypeError, 'onStoreError', policy, '"local", "fail-open" or "fail-closed"');
  }
  return {
    store: store as unknown as BreakerStore,
    syncInterval: o.syncInterval === undefined ? 100 : checkNumber('syncInterval', o.syncInterval, { min: 1, max: 3_600_000 }),
    onStoreError: policy as StoreErrorPolicy,
  };
}

function checkClock(value: unknown): Clock {
  const c = value as Record<string, unknown> | null;
  if (typeof c !== 'object' || c === null || typeof c.now !== 'function' || (c.wallNow !== undefined && typeof c.wallNow !== 'function')) {
    fail(TypeError, 'clock', value, 'an object with a now() method (and optionally wallNow())');
  }
  return value as Clock;
}

/** Validates options at construction; every problem is a `TypeError` or `RangeError` naming the option and the value. */
export function resolveOptions(options: CircuitBreakerOptions | undefined): Settings {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) fail(TypeError, 'options', options, 'an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      const hint = closest(key);
      throw new TypeError(`breakwater: unknown option "${key}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
    }
  }
  const o = options as Record<string, unknown>;
  const has = (key: string) => o[key] !== undefined;

  const rate = has('failureRateThreshold') || has('slowCallRateThreshold') || has('window') || has('minimumCalls');
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

  const recoveryTimeout = has('recoveryTimeout') ? checkNumber('recoveryTimeout', o.recoveryTimeout, { min: 0 }) : 60_000;
  const timeout = has('timeout') ? checkNumber('timeout', o.timeout, { min: 0, minExclusive: true }) : undefined;
  const window = has('window') ? checkWindow(o.window) : DEFAULT_WINDOW;
  const minimumCalls = has('minimumCalls') ? checkNumber('minimumCalls', o.minimumCalls, { min: 1, integer: true }) : 10;

  return {
    name: o.name as string | undefined,
    mode: rate ? 'rate' : 'consecutive',
    failureThreshold: has('failureThreshold') ? checkNumber('failureThreshold', o.failureThreshold, { min: 1, integer: true }) : 5,
    failureRateThreshold: has('failureRateThreshold')
      ? checkNumber('failureRateThreshold', o.failureRateThreshold, { min: 0, max: 1, minExclusive: true })
      : undefined,
    slowCallRateThreshold: has('slowCallRateThreshold')
      ? checkNumber('slowCallRateThreshold', o.slowCallRateThreshold, { min: 0, max: 1, minExclusive: true })
      : undefined,
    slowCallDuration: has('slowCallDuration')
      ? checkNumber('slowCallDuration', o.slowCallDuration, { min: 0, minExclusive: true })
      : undefined,
    window,
    minimumCalls: window.type === 'count' ? Math.min(minimumCalls, window.size) : minimumCalls,
    recoveryTimeout,
    backoff: has('backoff') ? checkBackoff(o.backoff, recoveryTimeout) : FIXED_BACKOFF,
    halfOpenProbes: has('halfOpenProbes') ? checkNumber('halfOpenProbes', o.halfOpenProbes, { min: 1, integer: true }) : 1,
    successThreshold: has('successThreshold') ? checkNumber('successThreshold', o.successThreshold, { min: 1, integer: true }) : 1,
    maxProbeWait: has('maxProbeWait')
      ? checkNumber('maxProbeWait', o.maxProbeWait, { min: 0, minExclusive: true })
      : Math.max(60_000, timeout ?? 0),
    isFailure: has('isFailure') ? checkFunction('isFailure', o.isFailure) : undefined,
    isResultFailure: has('isResultFailure') ? checkFunction('isResultFailure', o.isResultFailure) : undefined,
    retryAfterHint: has('retryAfterHint') ? checkFunction('retryAfterHint', o.retryAfterHint) : undefined,
    timeout,
    clock: has('clock') ? checkClock(o.clock) : systemClock,
    logger: has('logger') ? checkLogger(o.logger) : undefined,
    random: Math.random,
    ...checkStore(o),
  };
}
