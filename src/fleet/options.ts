/**
 * The fleet options (`onStoreError`, `syncInterval`) and the store's methods, checked when a breaker joins a store
 * (or a registry is made with one): the core entry carries none of it.
 */
import type { StoreErrorPolicy } from '../core/types.js';
import type { Settings } from '../options/breaker-options.js';
import { fail, methods, num } from '../options/checks.js';
import type { StoreOperations } from './contract.js';

const STORE_ERROR_POLICIES: readonly unknown[] = ['local', 'fail-open', 'fail-closed'];

/** What the engine runs with: the store-error policy, and `syncInterval` (ms, 1 – 3,600,000, default 100). */
export interface FleetOptions {
  readonly policy: StoreErrorPolicy;
  readonly syncInterval: number;
}

/**
 * Checks the fleet options and the store's methods (all but the `name`, which a registry gives each breaker).
 * @throws {TypeError | RangeError} naming the option and the value.
 */
export function checkFleetOptions(s: Settings, store: StoreOperations): FleetOptions {
  methods(store, 'store', 'read compareAndSet subscribe?', 'a store with read() and compareAndSet() methods');
  const policy = s.onStoreError ?? 'local';
  if (!STORE_ERROR_POLICIES.includes(policy)) fail(TypeError, 'onStoreError', policy, '"local", "fail-open" or "fail-closed"');
  return { policy: policy as StoreErrorPolicy, syncInterval: num(s.syncInterval, 'syncInterval', 1, 3_600_000) ?? 100 };
}
