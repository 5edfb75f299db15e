/**
 * The store side of fleet mode: a store made of storage primitives plus the engine that links a
 * breaker to them. It lives outside the core entry, so a breaker without a store carries none of it.
 */
import { CHECK_FLEET, type FleetHost, type FleetLink, JOIN } from '../core/fleet-link.js';
import type { Settings } from '../options/breaker-options.js';
import type { BreakerStore, CompareAndSetResult, RecordIdentity, SharedRecord, SharedWrite } from './contract.js';
import { FleetSync } from './engine.js';
import { checkFleetOptions } from './options.js';

/**
 * A store that breakers share their state through: pass it as a breaker's `store` option, and every
 * instance with the same `name` shares one breaker. Extend it and implement the storage primitives of
 * `BreakerStore` (`read`, `compareAndSet`, optionally `subscribe` and `timeout`), or wrap an object that has
 * them with `sharedStore()`. `RedisStore` from `breakwater/redis` is one.
 *
 * @example
 * ```ts
 * import { SharedStore } from 'breakwater/fleet';
 *
 * class MyStore extends SharedStore {
 *   async read(name) { … }
 *   async compareAndSet(name, expected, next) { … }
 * }
 * ```
 */
export abstract class SharedStore implements BreakerStore {
  /** Makes the type nominal: a plain object with the primitives is not a `SharedStore` (use `sharedStore()`). */
  readonly #shared = true;
  // `timeout` and `subscribe` are optional (see `BreakerStore`): a subclass adds them as a field or a method.
  /** Reads the record of breaker `name` and the store's clock, atomically. */
  abstract read(name: string): Promise<SharedRecord>;
  /**
   * Writes `next` only if the record is still `expected` (its version and its writer tag) and the store's clock is not
   * behind `next.at`.
   */
  abstract compareAndSet(name: string, expected: RecordIdentity, next: SharedWrite): Promise<CompareAndSetResult>;

  static {
    // The breaker finds the engine under keys from the global symbol registry, not in the public type: what the
    // engine and the breaker exchange is theirs alone, free to change in any release.
    Object.defineProperty(SharedStore.prototype, JOIN, {
      value(this: SharedStore, settings: Settings, host: FleetHost): FleetLink {
        return this.#shared && new FleetSync(settings, this, host);
      },
    });
    Object.defineProperty(SharedStore.prototype, CHECK_FLEET, {
      value(this: SharedStore, settings: Settings): void {
        checkFleetOptions(settings, this);
      },
    });
  }
}

/** A `SharedStore` over an object with the storage primitives; its methods are called on it, so they may read its fields. */
class WrappedStore extends SharedStore {
  readonly #operations: BreakerStore;
  readonly timeout?: number;
  subscribe?: (name: string, listener: (record: SharedRecord) => void) => () => void;

  constructor(operations: BreakerStore) {
    super();
    this.#operations = operations;
    if (operations.timeout !== undefined) this.timeout = operations.timeout;
    if (operations.subscribe !== undefined) this.subscribe = operations.subscribe.bind(operations);
  }

  read(name: string): Promise<SharedRecord> {
    return this.#operations.read(name);
  }

  compareAndSet(name: string, expected: RecordIdentity, next: SharedWrite): Promise<CompareAndSetResult> {
    return this.#operations.compareAndSet(name, expected, next);
  }
}

/**
 * Makes a shared store of an object with the storage primitives of `BreakerStore` (an object literal, say).
 * Its methods are called on it, so they may read its fields.
 */
export function sharedStore(operations: BreakerStore): SharedStore & BreakerStore {
  return new WrappedStore(operations);
}
