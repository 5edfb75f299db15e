/**
 * breakwater: a typed circuit breaker for Node, browsers, edge runtimes and fleets.
 * @packageDocumentation
 */
export { type ExponentialBackoffOptions, exponentialBackoff } from './backoff/exponential.js';
export { CircuitBreaker } from './core/breaker.js';
export type { Clock } from './core/clock.js';
export { CIRCUIT_STATES, TRANSITION_REASONS } from './core/rules.js';
export type {
  BaseEvent,
  BreakerEvents,
  BreakerMetrics,
  CallContext,
  CircuitBreakerOptions,
  CircuitState,
  ExecuteOptions,
  FailureEvent,
  FallbackEvent,
  LimitedEvent,
  Logger,
  LogRecord,
  NeutralEvent,
  RateWindow,
  RecoveryBackoff,
  RejectedEvent,
  StateChangeEvent,
  StoreErrorEvent,
  StoreErrorPolicy,
  StoreRecoveredEvent,
  SuccessEvent,
  TimeoutEvent,
  TransitionReason,
} from './core/types.js';
export { type AsyncMethod, circuit, circuitOf } from './decorator/circuit.js';
export { CircuitOpenError } from './errors/circuit-open-error.js';
export { ConcurrencyLimitError } from './errors/concurrency-limit-error.js';
export { TimeoutError } from './errors/timeout-error.js';
export { BREAKER_EVENTS } from './events/names.js';
export { BreakerRegistry, type BreakerRegistryOptions, type RegistryEvent, type RegistryEvents } from './registry/registry.js';
export { type CircuitSnapshot, parseSnapshot } from './snapshot/snapshot.js';
export { type CountWindow, countWindow } from './trackers/count-window.js';
export { type TimeWindow, type TimeWindowOptions, timeWindow } from './trackers/time-window.js';
export type { TrackerSnapshot } from './trackers/tracker.js';
