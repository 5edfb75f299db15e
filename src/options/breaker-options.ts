import { type Clock, systemClock } from '../core/clock.js';
import { JOIN } from '../core/fleet-link.js';
import type { Rules } from '../core/rules.js';
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
      : fail(TypeError, o, v, 'countWindow(size) or timeWindow({ duration })'),
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
  clock: (v, o) => methods(v, o, 'now wallNow?', 'an object with a now() method'),
  logger: (v, o) => methods(v, o, 'info warn error', 'an object with info, warn and error methods'),
  initialState: (v, o) => (v === null || isSnapshot(v) ? v : fail(TypeError, o, v, 'a snapshot from parseSnapshot() or toJSON()')),
  store: (v, o) =>
    typeof (v as Record<symbol, unknown> | null)?.[JOIN] === 'function'
      ? v
      : fail(TypeError, o, v, 'a shared store: RedisStore (breakwater/redis), sharedStore() or a SharedStore subclass'),
  syncInterval: given,
  onStoreError: given,
};

const KNOWN = /* @__PURE__ */ Object.keys(CHECKS);

/** Validates options at construction; every problem is a `TypeError` or `RangeError` naming the option and the value. */
export function resolveOptions(options: CircuitBreakerOptions | undefined): Settings {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) fail(TypeError, 'options', options, 'an object');
  // The defaults, as one literal in a fixed order: every breaker's settings have one shape, with fast properties
  // (the hot path reads them on every call). A given option overwrites its default.
  const s: Record<string, unknown> = {
    name: undefined,
    failureThreshold: 5,
    failureRateThreshold: undefined,
    slowCallRateThreshold: undefined,
    slowCallDuration: undefined,
    window: undefined,
    minimumCalls: 10,
    recoveryTimeout: 60_000,
    backoff: undefined,
    halfOpenProbes: 1,
    successThreshold: 1,
    maxProbeWait: undefined,
    isFailure: undefined,
    isResultFailure: undefined,
    retryAfterHint: undefined,
    timeout: undefined,
    maxConcurrent: undefined,
    clock: systemClock,
    logger: undefined,
    store: undefined,
    syncInterval: undefined,
    onStoreError: undefined,
  };
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    refuseUnknown(key, KNOWN, 'option');
    const value = given[key];
    if (value === undefined) continue;
    const checked = CHECKS[key as keyof CircuitBreakerOptions](value, key);
    // `initialState` is read once, by the constructor, from the options.
    if (key !== 'initialState') s[key] = checked;
  }
  const rateMode = given.failureRateThreshold !== undefined || given.slowCallRateThreshold !== undefined;
  const window = s.window as { type?: string; size?: number } | undefined;
  if (given.failureThreshold !== undefined && (rateMode || window !== undefined || given.minimumCalls !== undefined)) {
    throw new TypeError('breakwater: "failureThreshold" (consecutive mode) cannot be combined with rate options: choose one mode');
  }
  if (rateMode !== (window !== undefined) || (given.minimumCalls !== undefined && !rateMode)) {
    throw new TypeError(
      'breakwater: rate mode needs "failureRateThreshold" or "slowCallRateThreshold", and a "window": countWindow(size) or timeWindow({ duration })',
    );
  }
  if (rateMode && given.slowCallRateThreshold !== undefined && s.slowCallDuration === undefined) {
    throw new TypeError('breakwater: "slowCallRateThreshold" needs "slowCallDuration"');
  }
  const recoveryTimeout = s.recoveryTimeout as number;
  // No `maxDelay` (undefined) compares false: nothing to check.
  const maxDelay = (s.backoff as { toJSON?: () => { maxDelay?: number } } | undefined)?.toJSON?.().maxDelay as number;
  if (maxDelay < recoveryTimeout) fail(RangeError, 'backoff.maxDelay', maxDelay, `≥ recoveryTimeout (${recoveryTimeout})`);
  for (const key of s.store === undefined ? ['syncInterval', 'onStoreError'] : ['initialState']) {
    // `initialState: null` (no snapshot) is no state to conflict with the store's.
    if (given[key] != null || (given[key] === null && s.store === undefined)) {
      throw new TypeError(
        `breakwater: option "${key}" ${s.store === undefined ? 'only applies' : 'does not apply'} with a "store"; got ${describe(given[key])}`,
      );
    }
  }
  // A count window never holds more calls than its size: a larger minimum could never be reached.
  if (window?.type === 'count') s.minimumCalls = Math.min(s.minimumCalls as number, window.size as number);
  s.maxProbeWait ??= Math.max(60_000, (s.timeout as number | undefined) ?? 0);
  return s as unknown as Settings;
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
