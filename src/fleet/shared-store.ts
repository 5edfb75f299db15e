/**
 * The store side of fleet mode: a store made of storage primitives plus the engine that links a
 * breaker to them. It lives outside the core entry, so a breaker without a store carries none of it.
 */

import type { Settings } from '../options/validate.js';
import type { BreakerStore, CompareAndSetResult, FleetHost, FleetLink, SharedRecord, SharedWrite, StoreOperations } from './contract.js';
import { checkFleetOptions, FleetSync } from './engine.js';

/**
 * Base class of a shared store: implement the storage primitives, and every breaker given this
 * store as its `store` option shares its state with the other instances through it.
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
  // `timeout` and `subscribe` are optional (see `StoreOperations`): a subclass adds them as a field or a method.
  /** Reads the record of breaker `name` and the store's clock, atomically. */
  abstract read(name: string): Promise<SharedRecord>;
  /** Writes `next` only if the record's version is still `expected` and the store's clock is not behind `next.at`. */
  abstract compareAndSet(name: string, expected: string, next: SharedWrite): Promise<CompareAndSetResult>;

  /**
   * Starts the fleet engine for one breaker (the breaker calls it; you do not).
   * @internal
   */
  join(settings: Settings, host: FleetHost): FleetLink {
    return new FleetSync(settings, this, host);
  }

  /**
   * Checks the fleet options of breakers to come (a registry's defaults) without joining.
   * @internal
   */
  check(settings: Settings): void {
    checkFleetOptions(settings, this);
  }
}

/**
 * Makes a shared store of an object with the storage primitives (an object literal, say).
 * Its methods are called on it, so they may read its fields.
 */
export function sharedStore(operations: StoreOperations): BreakerStore {
  const store: BreakerStore = {
    read: (name) => operations.read(name),
    compareAndSet: (name, expected, next) => operations.compareAndSet(name, expected, next),
    join: (settings, host) => new FleetSync(settings, store, host),
    check: (settings) => {
      checkFleetOptions(settings, store);
    },
  };
  return Object.assign(
    store,
    operations.timeout === undefined ? {} : { timeout: operations.timeout },
    operations.subscribe === undefined ? {} : { subscribe: operations.subscribe.bind(operations) },
  );
}
