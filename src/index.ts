/**
 * breakwater: a typed circuit breaker for Node, browsers, edge runtimes and fleets.
 * @packageDocumentation
 */
export { CircuitBreaker } from './breaker.js';
export type { Clock } from './clock.js';
export { type AsyncMethod, circuit, circuitOf } from './decorator.js';
export { CircuitOpenError, TimeoutError } from './errors.js';
export { BreakerRegistry, type BreakerRegistryOptions, type RegistryEvent, type RegistryEvents } from './registry.js';
export type { CircuitSnapshot } from './snapshot.js';
export type { BreakerStore, CompareAndSetResult, SharedRecord, SharedWrite } from './store.js';
export type { TrackerSnapshot } from './trackers/tracker.js';
export type {
  BaseEvent,
  BreakerEvents,
  BreakerMetrics,
  CallContext,
  CircuitBreakerOptions,
  CircuitState,
  ExecuteOptions,
  FailureEvent,
  Logger,
  LogRecord,
  NeutralEvent,
  RecoveryBackoff,
  RejectedEvent,
  StateChangeEvent,
  StoreErrorEvent,
  StoreErrorPolicy,
  StoreRecoveredEvent,
  SuccessEvent,
  TimeoutEvent,
  TransitionReason,
  WindowOptions,
} from './types.js';
