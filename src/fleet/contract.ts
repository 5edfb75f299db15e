/**
 * The contract of fleet mode's storage: what a store must do to share breakers across processes. Types only,
 * with no import: the core names `BreakerStore` in its options without taking any code of the fleet.
 * The rules stay in `src/core/rules.ts`; each instance computes the next shared state itself and the store
 * writes it only if nobody wrote in between. `breakwater/redis` provides `RedisStore`.
 */

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

/**
 * Which record a write replaces: its version and its writer tag (`''` and `''`: no record). A `SharedRecord` is one.
 * The version alone does not tell two records apart: after a failover that lost a write, the store may number another
 * write with the version of the lost one.
 */
export interface RecordIdentity {
  /** The record's version (`''`: no record). */
  readonly version: string;
  /** The writer tag of the write that made the record (`''` when absent). */
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
 * What a store must do to share breakers across processes: the contract to implement to put fleet mode on a
 * database of your own (DynamoDB, Postgres, etcd…). Every operation is atomic on one breaker's record.
 * Operations may reject (the store is down); the breaker never lets such a rejection reach a caller.
 * Hand it to `sharedStore()` (or extend `SharedStore`) from `breakwater/fleet`: that adds the engine that keeps
 * each breaker in step with its record.
 */
export interface BreakerStore {
  /** Ms after which an operation counts as failed (default 250). Keep it short: a slow store must not slow the fleet. */
  readonly timeout?: number;
  /** Reads the record of breaker `name` and the store's clock, atomically. */
  read(name: string): Promise<SharedRecord>;
  /**
   * Writes `next` only if the record is still `expected`, its version **and** its writer tag (`version: ''`: the
   * record must not exist), and the store's clock is not behind `next.at`; bumps the version and notifies subscribers.
   * Compare both: a record whose version matches but whose writer differs is another write, made after a failover
   * lost the one the instance saw; the write must be refused (with that record) so that it is computed from it.
   */
  compareAndSet(name: string, expected: RecordIdentity, next: SharedWrite): Promise<CompareAndSetResult>;
  /** Calls `listener` with every record written for `name` by any instance. Returns the unsubscribe function. */
  subscribe?(name: string, listener: (record: SharedRecord) => void): () => void;
}

/** The storage primitives, as the fleet engine names them. */
export type StoreOperations = BreakerStore;
