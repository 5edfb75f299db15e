/**
 * What a breaker and the fleet engine of its store exchange: internal to breakwater, free to change in any
 * release, and never part of a public type. A store carries its engine under `JOIN` (see
 * `src/fleet/shared-store.ts`), so the core names no fleet code and carries none.
 */
import type { FailureTracker } from '../trackers/tracker.js';
import type { Admission, Circuit, ManualOp, Outcome } from './rules.js';
import type { BreakerEvents } from './types.js';

/** The key under which a shared store hands a breaker to its fleet engine: `store[JOIN](settings, host)`. */
export const JOIN = Symbol.for('breakwater.join');
/** The key under which a shared store checks the fleet options of breakers to come (a registry's defaults). */
export const CHECK_FLEET = Symbol.for('breakwater.checkFleet');

/**
 * What the fleet engine may see and do in its breaker (the argument of `join`: internals, not a public API).
 */
export interface FleetHost {
  /** The local circuit, as it is (no time-driven refresh). */
  circuit(): Circuit;
  /** Replaces the local circuit; reports a transition when the state differs. */
  adopt(next: Circuit, source: 'local' | 'remote'): void;
  /** The breaker's own tracker: mirrors the shared one, and carries on alone during a store fault. */
  readonly tracker: FailureTracker;
  /** Applies an outcome to the local circuit, as a breaker without a store would. */
  settleLocally(outcome: Outcome, slow: boolean, probe: boolean, generation: number, hint?: number): void;
  /** Emits one of the fleet's events to the breaker's listeners. */
  emit<K extends 'storeError' | 'storeRecovered'>(event: K, payload: BreakerEvents[K]): void;
  /**
   * Logs through the breaker's logger, the message prefixed with the breaker's name. Without a logger,
   * `echo` sends the message to the console.
   */
  log(level: 'info' | 'warn' | 'error', event: string, message: string, fields: Record<string, unknown>, echo?: boolean): void;
}

/**
 * What the store decided for a call that found the circuit half-open; `undefined` when the store failed.
 */
export interface ProbeTicket {
  readonly admit: Admission;
  readonly generation: number;
  /** A refusal by the store: ms until its circuit lets a call through, by its clock (the local circuit may differ). */
  readonly retryAfter?: number;
}

/**
 * Manual controls, which act on the shared circuit too.
 */
export type ControlOp = ManualOp;

/**
 * What a breaker holds of the fleet engine its store started (`join`).
 */
export interface FleetLink {
  /** Whether the store is answering (otherwise the breaker runs on its fallback). */
  readonly active: boolean;
  /**
   * Takes the outcome of a call (with a failure's `retryAfterHint`, if any). Returns `false` while
   * the store is unreachable: the breaker then applies it to its local circuit itself.
   */
  record(outcome: Outcome, slow: boolean, probe: boolean, generation: number, hint?: number): boolean;
  /** A call was rejected locally: the cached open-until may be stale, or the store may be back. */
  touch(): void;
  /** Asks the store for a probe slot (the circuit is half-open locally; call only while `active`). */
  admitProbe(): Promise<ProbeTicket | undefined>;
  /** Applies a manual control to the shared circuit (the breaker already applied it locally). */
  control(op: ControlOp): void;
  /** Writes every waiting outcome now; resolves when the store has them (or has failed). Never rejects. */
  flush(): Promise<void>;
  /**
   * Stops following the store (unsubscribes, flushes); the breaker runs alone from then on, except that the probe
   * slots it holds are still freed. Never rejects.
   */
  leave(): Promise<void>;
}

/**
 * Hands a breaker, by its settings (checked options) and host, to the fleet engine of `store` (a store the options
 * check found to carry one under `JOIN`).
 */
export function joinStore(store: object, settings: object, host: FleetHost): FleetLink {
  const join = (store as Record<symbol, (settings: object, host: FleetHost) => FleetLink>)[JOIN] as (
    settings: object,
    host: FleetHost,
  ) => FleetLink;
  return join.call(store, settings, host);
}
