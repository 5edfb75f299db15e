import type { CircuitOpenError } from '../errors/circuit-open-error.js';
import type { ConcurrencyLimitError } from '../errors/concurrency-limit-error.js';
import type { TimeoutError } from '../errors/timeout-error.js';
import type { BreakerStore } from '../fleet/contract.js';
import type { CircuitSnapshot } from '../snapshot/snapshot.js';
import type { CountWindow } from '../trackers/count-window.js';
import type { TimeWindow } from '../trackers/time-window.js';
import type { Clock } from './clock.js';
import type { CircuitState, RecoveryBackoff, TransitionReason } from './rules.js';

export type { CircuitState, RecoveryBackoff, TransitionReason };

/** Which calls rate mode judges the rates over: `countWindow(size)` or `timeWindow({ duration, buckets })`. */
export type RateWindow = CountWindow | TimeWindow;

/** A structured logger: pino's `(record, message)` shape, which `console` also accepts. */
export interface Logger {
  /** Transitions that do not open the circuit (closing, half-opening, disabling); fleet mode: the store answers again. */
  info(record: LogRecord, message: string): void;
  /**
   * Transitions that open the circuit (open, forced open) and rejected calls (at most one record a second while
   * calls are rejected, with their count); fleet mode: differing settings, a refused control.
   */
  warn(record: LogRecord, message: string): void;
  /** Listener, predicate and store errors. */
  error(record: LogRecord, message: string): void;
}

/** What the breaker logs: `event` names the kind of record, `breaker` the breaker. */
export interface LogRecord {
  readonly event:
    | 'breaker.stateChange'
    | 'breaker.rejected'
    | 'breaker.listenerError'
    | 'breaker.predicateError'
    | 'breaker.storeError'
    | 'breaker.storeRecovered'
    | 'breaker.settingsMismatch'
    | 'breaker.controlConflict'
    | (string & {});
  readonly breaker: string | undefined;
  readonly [key: string]: unknown;
}

/** Options of a `CircuitBreaker`. Every one is optional; unknown names are refused. */
export interface CircuitBreakerOptions {
  /** Name used in logs, events, metrics and errors. Required with a `store`. */
  readonly name?: string;
  /** Consecutive counted failures that open the circuit (default 5). Not with rate options. */
  readonly failureThreshold?: number;
  /** Rate mode: open when failures / calls in the `window` reach this fraction (0 < x ≤ 1). */
  readonly failureRateThreshold?: number;
  /** Rate mode: open when slow calls / calls in the `window` reach this fraction (0 < x ≤ 1). */
  readonly slowCallRateThreshold?: number;
  /** A call that takes at least this many ms is slow (counted in metrics; feeds `slowCallRateThreshold`). */
  readonly slowCallDuration?: number;
  /** Rate mode: the window the rates are measured over, `countWindow(100)` or `timeWindow({ duration: 10_000 })`. Required in rate mode. */
  readonly window?: RateWindow;
  /** Rate mode: calls the window must hold before a rate can open the circuit (default 10). */
  readonly minimumCalls?: number;
  /** Ms the circuit stays open before a probe is allowed (default 60 000). */
  readonly recoveryTimeout?: number;
  /** How the open time grows when probes keep failing: `exponentialBackoff()` or a function (default fixed). Reset when the circuit closes. */
  readonly backoff?: RecoveryBackoff;
  /** Probes let through at once while half-open (default 1). Other callers are rejected, never queued. */
  readonly halfOpenProbes?: number;
  /** Successful probes needed to close (default 1). */
  readonly successThreshold?: number;
  /**
   * A half-open trial still undecided this many ms after the first probe in flight counts as failed (default
   * 60 000, or `timeout` if longer). The clock runs only while a probe is in flight.
   */
  readonly maxProbeWait?: number;
  /** The expected-error predicate: `false` makes the error neutral, anything else counts it as a failure (default: every error counts). */
  readonly isFailure?: (error: unknown) => boolean;
  /** `true` counts a resolved value as a failure while still returning it (an HTTP response with status ≥ 500, say); anything else passes. */
  readonly isResultFailure?: (result: unknown) => boolean;
  /**
   * Reads how long the upstream asked us to wait from a failure (the error, or the value
   * `isResultFailure` judged), in ms. When that failure opens the circuit, it stays open this long
   * instead of the recovery delay. Return `undefined` for no hint. Default: none.
   */
  readonly retryAfterHint?: (failure: unknown) => number | undefined;
  /** Per-call limit in ms (at most 2^31 − 1, what timers hold): aborts the call's signal and rejects with `TimeoutError`. Omit for none. */
  readonly timeout?: number;
  /**
   * Most calls in flight at once (a positive integer; default unlimited). A call beyond it is rejected at once with
   * `ConcurrencyLimitError`, without calling `fn`, and counts neither as a failure nor as a success. In fleet mode
   * the cap is per instance.
   */
  readonly maxConcurrent?: number;
  /** Time source (default `performance.now`); inject one to test your code without waiting. */
  readonly clock?: Clock;
  /** Receives a structured record for every transition, rejection and listener error. */
  readonly logger?: Logger;
  /**
   * Restores a snapshot: one `parseSnapshot()` checked (from JSON text or an object, made in this process or
   * another), or one `toJSON()` returned here. `null` means none. Not with a `store`: there the shared state is the
   * breaker's state.
   */
  readonly initialState?: CircuitSnapshot | null;
  /**
   * Fleet mode: every instance with the same `name` and store shares one breaker (state, counts,
   * open-until, probes). A `SharedStore`: `RedisStore` from `breakwater/redis`, or `sharedStore()` / a
   * `SharedStore` subclass from `breakwater/fleet` for a database of your own. An object with the storage
   * primitives alone is refused at construction: wrap it with `sharedStore()`.
   */
  readonly store?: BreakerStore;
  /** Fleet mode: ms between flushes of batched outcomes, and between re-reads without a subscriber (default 100). */
  readonly syncInterval?: number;
  /** Fleet mode: what the breaker does while the store is unreachable (default `'local'`). */
  readonly onStoreError?: StoreErrorPolicy;
}

/**
 * While the store is unreachable: `'local'` goes on with the breaker's own state, starting from the
 * last shared state it saw; `'fail-open'` lets every call through (state `disabled`); `'fail-closed'`
 * rejects every call (state `forced-open`). The shared state is read again when the store returns.
 */
export type StoreErrorPolicy = 'local' | 'fail-open' | 'fail-closed';

/** What `fn` receives. */
export interface CallContext {
  /** Aborted on timeout or when the caller's signal aborts; `undefined` when neither is in play. */
  readonly signal: AbortSignal | undefined;
}

/** Per-call options of `execute`. */
export interface ExecuteOptions<T> {
  /** The caller's signal: its abort is passed on to `fn` and rejects the call with its reason (neutral). */
  readonly signal?: AbortSignal | undefined;
  /** Value to return instead of an error, a `CircuitOpenError` included. */
  readonly fallback?: ((error: unknown) => T | PromiseLike<T>) | undefined;
}

/** Fields every event carries. */
export interface BaseEvent {
  readonly name: string | undefined;
}

/** A transition. `source` is `remote` when another instance of a fleet made it. */
export interface StateChangeEvent extends BaseEvent {
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: TransitionReason;
  /** Wall-clock ms. */
  readonly at: number;
  readonly source: 'local' | 'remote';
}

export interface SuccessEvent extends BaseEvent {
  /**
   * Ms the call took. `NaN` for a call already in flight when the first listener that needs durations
   * subscribed (it was not timed: untimed calls read no clock).
   */
  readonly duration: number;
  readonly slow: boolean;
}

export interface FailureEvent extends BaseEvent {
  /** Ms the call took (`NaN` as for `SuccessEvent`). */
  readonly duration: number;
  readonly slow: boolean;
  /** The error, or the resolved value when `isResultFailure` judged it. */
  readonly error: unknown;
  readonly fromResult: boolean;
}

export interface NeutralEvent extends BaseEvent {
  /** Ms the call took (`NaN` as for `SuccessEvent`). */
  readonly duration: number;
  readonly error: unknown;
}

export interface RejectedEvent extends BaseEvent {
  readonly error: CircuitOpenError;
}

/** A call refused because `maxConcurrent` calls were in flight. */
export interface LimitedEvent extends BaseEvent {
  readonly error: ConcurrencyLimitError;
}

/** A call's `fallback` answered instead of the error (a failure, a timeout, a rejection, a cap). */
export interface FallbackEvent extends BaseEvent {
  /** The error the fallback replaced. */
  readonly error: unknown;
}

export interface TimeoutEvent extends BaseEvent {
  /** Ms the call ran before it was cut off. */
  readonly duration: number;
  readonly error: TimeoutError;
}

/** The store became unreachable (emitted once per outage, not per call). */
export interface StoreErrorEvent extends BaseEvent {
  readonly error: unknown;
  readonly fallback: StoreErrorPolicy;
}

/** The store is reachable again and the shared state was read back. */
export interface StoreRecoveredEvent extends BaseEvent {
  /** Ms the store was unreachable. */
  readonly downtime: number;
}

/**
 * Every event and its payload. Each call ends in exactly one of success, failure, neutral, rejected, limited,
 * timeout; `fallback` follows it when the call's fallback answered.
 */
export interface BreakerEvents {
  stateChange: StateChangeEvent;
  success: SuccessEvent;
  failure: FailureEvent;
  neutral: NeutralEvent;
  rejected: RejectedEvent;
  limited: LimitedEvent;
  timeout: TimeoutEvent;
  fallback: FallbackEvent;
  storeError: StoreErrorEvent;
  storeRecovered: StoreRecoveredEvent;
}

/** A point-in-time view for dashboards and exporters. */
export interface BreakerMetrics {
  readonly name: string | undefined;
  readonly state: CircuitState;
  /** Wall-clock ms when the current state was entered. */
  readonly since: number;
  readonly successes: number;
  /** Counted failures, result failures included, timeouts not. */
  readonly failures: number;
  readonly neutral: number;
  /** Calls refused by the open circuit. */
  readonly rejected: number;
  /** Calls refused by `maxConcurrent`. */
  readonly limited: number;
  readonly timeouts: number;
  /** Calls whose `fallback` answered. */
  readonly fallbacks: number;
  /** Calls in flight now. */
  readonly inFlight: number;
  /** Wall-clock ms of the last counted failure (a timeout included); `null` if none since the last `reset()`. */
  readonly lastFailureAt: number | null;
  readonly slowCalls: number;
  /** Failure rate over the window (rate mode); in consecutive mode, (failures + timeouts) / judged calls since the last `reset()`. */
  readonly failureRate: number;
  readonly slowCallRate: number;
  /** Calls and counted failures the tracker holds now. */
  readonly window: { readonly calls: number; readonly failures: number; readonly slowCalls: number };
  /** Ms until a call may pass (0 when closed). */
  readonly retryAfter: number;
}
