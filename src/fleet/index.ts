/**
 * breakwater/fleet: share breakers through a store of your own. Implement `BreakerStore` (read and
 * compare-and-set on one record per breaker) and wrap it with `sharedStore()`, or extend `SharedStore`;
 * `breakwater/redis` is built on it.
 * @packageDocumentation
 */
export type { BreakerStore, CompareAndSetResult, RecordIdentity, SharedRecord, SharedWrite } from './contract.js';
export { SharedStore, sharedStore } from './shared-store.js';
