/**
 * breakwater/fleet: the building blocks of a shared store. Extend `SharedStore` (or wrap an
 * object with `sharedStore()`) to share breakers through a store of your own;
 * `breakwater/redis` is built on it.
 * @packageDocumentation
 */

export type {
  BreakerStore,
  CompareAndSetResult,
  ControlOp,
  FleetHost,
  FleetLink,
  ProbeTicket,
  SharedRecord,
  SharedWrite,
  StoreOperations,
} from './contract.js';
export { SharedStore, sharedStore } from './shared-store.js';
