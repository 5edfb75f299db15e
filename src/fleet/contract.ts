/**
 * What a breaker needs from a shared store (fleet mode), as types only: the core holds no
 * fleet code. A store brings the engine that keeps a breaker in step with the shared record
 * (`join`); `SharedStore` in `breakwater/fleet` provides it on top of storage primitives.
 * The rules stay in `transitions.ts`; each instance computes the next shared state itself
 * and the store writes it only if nobody wrote in between.
 *
 * `breakwater/redis` provides `RedisStore`; any `SharedStore` with these primitives works.
 */

import type { Admission, Circuit, ManualOp, Outcome } from '../core/rules.js';
import type { BreakerEvents } from '../core/types.js';
import type { Settings } from '../options/validate.js';
import type { FailureTracker } from '../trackers/tracker.js';

/** A breaker's shared record as the store holds it, read together with the store's clock. */
export interface SharedRecord {
  /**
   * Version of the record: a decimal integer as text (no leading zeros, any length), greater with every
   * write; `''` when the record does not exist (yet, or any more).
   */
  readonly version: string;
  /** The store's clock (ms since the epoch) when the record was read. The fleet's clock. */
  readonly now: number;
  /** The encoded circuit; `''` when absent. */
  readonly circuit: string;
  /** The encoded tracker; `''` when absent. */
  readonly tracker: string;
  /** Digest of the settings of the instance that wrote last; `''` when absent. */
  readonly settings: string;
  /** Store-clock time the record was computed at; 0 when absent. */
  readonly at: number;
  /** The writer tag of the write that made the record (opaque to the store); `''` when absent. */
  readonly writer: string;
}

/** What an instance writes. */
export interface SharedWrite {
  readonly circuit: string;
  readonly tracker: string;
  readonly settings: string;
  /**
   * An opaque tag of this very write (the instance's id and a write number): the store keeps it and returns it
   * unchanged (in `read`, in a refused compare-and-set, in messages), so that an instance knows its own writes, and
   * whether a write that got no answer landed.
   */
  readonly writer: string;
  /** Store-clock time the state was computed at. The store refuses the write if its clock is behind this. */
  readonly at: number;
  /**
   * Ms after which the record expires if nobody writes it again (an abandoned breaker). `0`: keep it
   * without expiry (a forced-open or disabled circuit holds until a later write changes it).
   */
  readonly ttl: number;
}

/** Result of a compare-and-set: the new version, or the record that won instead (saving a read). */
export type CompareAndSetResult =
  | { readonly ok: true; readonly version: string; readonly now: number }
  | { readonly ok: false; readonly current: SharedRecord };

/**
 * The storage primitives of a shared store. Every operation is atomic on one breaker's record.
 * Operations may reject (the store is down); the breaker never lets such a rejection reach a caller.
 */
export interface StoreOperations {
  /** Ms after which an operation counts as failed (default 250). Keep it short: a slow store must not slow the fleet. */
  readonly timeout?: number;
  /** Reads the record of breaker `name` and the store's clock, atomically. */
  read(name: string): Promise<SharedRecord>;
  /**
   * Writes `next` only if the record's version is still `expected` (`''`: the record must not exist)
   * and the store's clock is not behind `next.at`; bumps the version and notifies subscribers.
   */
  compareAndSet(name: string, expected: string, next: SharedWrite): Promise<CompareAndSetResult>;
  /** Calls `listener` with every record written for `name` by any instance. Returns the unsubscribe function. */
  subscribe?(name: string, listener: (record: SharedRecord) => void): () => void;
}

/**
 * A shared store for fleet mode: storage primitives, and the engine that links a breaker to them.
 * Extend `SharedStore` (or wrap primitives with `sharedStore()`) from `breakwater/fleet` rather
 * than writing `join` yourself.
 */
export interface BreakerStore extends StoreOperations {
  /**
   * Starts keeping one breaker in step with its shared record; called once, by the breaker's constructor.
   * `SharedStore` implements it; its arguments are the breaker's internals, not a public API.
   * @internal
   */
  join(settings: Settings, host: FleetHost): FleetLink;
  /**
   * Checks the fleet options of breakers to come without joining (a registry checks its defaults with it).
   * `SharedStore` implements it.
   * @internal
   */
  check?(settings: Settings): void;
}

/**
 * What the fleet engine may see and do in its breaker (the argument of `join`: internals, not a public API).
 * @internal
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
 * @internal
 */
export interface ProbeTicket {
  readonly admit: Admission;
  readonly generation: number;
}

/**
 * Manual controls, which act on the shared circuit too.
 * @internal
 */
export type ControlOp = ManualOp;

/**
 * What a breaker holds of the fleet engine its store started (`join`).
 * @internal
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
