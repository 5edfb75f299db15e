import { type Clock, systemClock } from '../core/clock.js';
import { JOIN } from '../core/fleet-link.js';
import type { RecoveryBackoff, Rules } from '../core/rules.js';
import type { CircuitBreakerOptions, Logger } from '../core/types.js';
import { isSnapshot } from '../snapshot/brand.js';
import { callback, describe, fail, methods, num, refuseUnknown } from './checks.js';

/** Options after validation, with defaults filled in. */
export interface Settings extends Rules {
  readonly name: string | undefined;
  readonly failureThreshold: number;
  readonly failureRateThreshold: number | undefined;
  readonly slowCallRateThreshold: number | undefined;
  readonly slowCallDuration: number | undefined;
  /** Rate mode's window (`undefined`: consecutive mode). */
  readonly window: object | undefined;
  readonly minimumCalls: number;
  readonly isFailure: ((error: unknown) => boolean) | undefined;
  readonly isResultFailure: ((result: unknown) => boolean) | undefined;
  readonly retryAfterHint: ((failure: unknown) => number | undefined) | undefined;
  readonly timeout: number | undefined;
  readonly maxConcurrent: number | undefined;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly store: object | undefined;
  /** The fleet options as given: the store's engine checks them when the breaker joins (the core carries none of it). */
  readonly syncInterval: unknown;
  readonly onStoreError: unknown;
}

/** Timers hold at most 2^31 − 1 ms; beyond that they fire at once. */
const MAX_TIMER = 2_147_483_647;

type Check = (value: unknown, option: string) => unknown;

const int1: Check = (v, o) => num(v, o, 1, undefined, 'integer');
const positive: Check = (v, o) => num(v, o, 0, undefined, 'above');
const rate: Check = (v, o) => num(v, o, 0, 1, 'above');
const given: Check = (v) => v;

/**
 * Every option and its check. Typed against `CircuitBreakerOptions`: an option added to the interface and not
 * here (or here and not there) fails to compile, so the list of known names cannot drift from the type.
 */
const CHECKS: { readonly [K in keyof CircuitBreakerOptions]-?: Check } = {
  name: (v, o) => (typeof v === 'string' && v !== '' ? v : fail(TypeError, o, v, 'a non-empty string')),
  failureThreshold: int1,
  failureRateThreshold: rate,
  slowCallRateThreshold: rate,
  slowCallDuration: positive,
  window: (v, o) =>
    typeof (v as { tracker?: unknown } | null)?.tracker === 'function'
      ? v
      : fail(TypeError, o, v, 'countWindow(size) or timeWindow({ duration, buckets })'),
  minimumCalls: int1,
  recoveryTimeout: (v, o) => num(v, o, 0),
  backoff: callback,
  halfOpenProbes: int1,
  successThreshold: int1,
  maxProbeWait: positive,
  isFailure: callback,
  isResultFailure: callback,
  retryAfterHint: callback,
  timeout: (v, o) => num(v, o, 0, MAX_TIMER, 'above'),
  maxConcurrent: int1,
  clock: (v, o) => methods(v, o, 'now wallNow?', 'an object with a now() method (and optionally wallNow())'),
  logger: (v, o) => methods(v, o, 'info warn error', 'an object with info, warn and error methods'),
  initialState: (v, o) => (v === null || isSnapshot(v) ? v : fail(TypeError, o, v, 'a snapshot from parseSnapshot() or toJSON()')),
  store: (v, o) =>
    typeof (v as Record<symbol, unknown> | null)?.[JOIN] === 'function'
      ? v
      : fail(
          TypeError,
          o,
          v,
          'a shared store: RedisStore from breakwater/redis, or sharedStore() or a SharedStore subclass from breakwater/fleet',
        ),
  syncInterval: given,
  onStoreError: given,
};

const KNOWN = /* @__PURE__ */ Object.keys(CHECKS);

/** Validates options at construction; every problem is a `TypeError` or `RangeError` naming the option and the value. */
export function resolveOptions(options: CircuitBreakerOptions | undefined): Settings {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) fail(TypeError, 'options', options, 'an object');
  const o: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    refuseUnknown(key, KNOWN, 'option');
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) o[key] = CHECKS[key as keyof CircuitBreakerOptions](value, key);
  }
  const rateMode = o.failureRateThreshold !== undefined || o.slowCallRateThreshold !== undefined;
  if (o.failureThreshold !== undefined && (rateMode || o.window !== undefined || o.minimumCalls !== undefined)) {
    throw new TypeError(
      'breakwater: "failureThreshold" (consecutive failures) cannot be combined with rate options (failureRateThreshold, slowCallRateThreshold, window, minimumCalls): choose one mode',
    );
  }
  if (rateMode !== (o.window !== undefined) || (o.minimumCalls !== undefined && !rateMode)) {
    throw new TypeError(
      'breakwater: rate mode needs "failureRateThreshold" or "slowCallRateThreshold", and a "window": countWindow(size) or timeWindow({ duration })',
    );
  }
  if (o.slowCallRateThreshold !== undefined && o.slowCallDuration === undefined) {
    throw new TypeError('breakwater: "slowCallRateThreshold" needs "slowCallDuration" (what counts as slow)');
  }
  const recoveryTimeout = (o.recoveryTimeout as number | undefined) ?? 60_000;
  const backoff = o.backoff as RecoveryBackoff | undefined;
  const maxDelay = (backoff as { toJSON?: () => { maxDelay?: number } } | undefined)?.toJSON?.().maxDelay;
  if (maxDelay !== undefined && maxDelay < recoveryTimeout)
    fail(RangeError, 'backoff.maxDelay', maxDelay, `≥ recoveryTimeout (${recoveryTimeout})`);
  if (o.store === undefined) {
    for (const key of ['syncInterval', 'onStoreError']) {
      if (o[key] !== undefined) throw new TypeError(`breakwater: option "${key}" only applies with a "store"; got ${describe(o[key])}`);
    }
  } else if (o.initialState != null) {
    throw new TypeError('breakwater: option "initialState" does not apply with a "store": the shared state is the breaker\'s state');
  }
  const timeout = o.timeout as number | undefined;
  const window = o.window as { type?: string; size?: number } | undefined;
  const minimumCalls = (o.minimumCalls as number | undefined) ?? 10;
  // One literal in a fixed order: the settings object keeps fast properties (the hot path reads it on every call).
  return {
    name: o.name as string | undefined,
    failureThreshold: (o.failureThreshold as number | undefined) ?? 5,
    failureRateThreshold: o.failureRateThreshold as number | undefined,
    slowCallRateThreshold: o.slowCallRateThreshold as number | undefined,
    slowCallDuration: o.slowCallDuration as number | undefined,
    window,
    // A count window never holds more calls than its size: a larger minimum could never be reached.
    minimumCalls: window?.type === 'count' ? Math.min(minimumCalls, window.size as number) : minimumCalls,
    recoveryTimeout,
    backoff,
    halfOpenProbes: (o.halfOpenProbes as number | undefined) ?? 1,
    successThreshold: (o.successThreshold as number | undefined) ?? 1,
    maxProbeWait: (o.maxProbeWait as number | undefined) ?? Math.max(60_000, timeout ?? 0),
    isFailure: o.isFailure as Settings['isFailure'],
    isResultFailure: o.isResultFailure as Settings['isResultFailure'],
    retryAfterHint: o.retryAfterHint as Settings['retryAfterHint'],
    timeout,
    maxConcurrent: o.maxConcurrent as number | undefined,
    clock: (o.clock as Clock | undefined) ?? systemClock,
    logger: o.logger as Logger | undefined,
    store: o.store as object | undefined,
    syncInterval: o.syncInterval,
    onStoreError: o.onStoreError,
  };
}

/** Which rule opens the circuit: consecutive failures, or a rate over a window. */
export function modeOf(s: Settings): 'consecutive' | 'rate' {
  return s.window === undefined ? 'consecutive' : 'rate';
}

/** The options of rate mode; `failureThreshold` is consecutive mode's. */
export const RATE_OPTIONS = ['failureRateThreshold', 'slowCallRateThreshold', 'window', 'minimumCalls'] as const;

/** Whether options given choose rate mode (any rate option set). */
export function choosesRate(o: CircuitBreakerOptions): boolean {
  return RATE_OPTIONS.some((key) => o[key] !== undefined);
}
