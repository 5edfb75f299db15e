/**
 * breakwater: a typed circuit breaker for Node, browsers, edge runtimes and fleets.
 * @packageDocumentation
 */
export { CircuitBreaker } from './core/breaker.js';
export type { Clock } from './core/clock.js';
export { CIRCUIT_STATES, TRANSITION_REASONS } from './core/rules.js';
export { type AsyncMethod, circuit, circuitOf } from './decorator/circuit.js';
export { CircuitOpenError, TimeoutError } from './errors/errors.js';
export { BreakerRegistry, type BreakerRegistryOptions, type RegistryEvent, type RegistryEvents } from './registry/registry.js';
export type { CircuitSnapshot } from './snapshot/snapshot.js';
export type { BreakerStore, CompareAndSetResult, SharedRecord, SharedWrite } from './fleet/contract.js';
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
} from './core/types.js';
