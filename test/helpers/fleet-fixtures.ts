// Small pieces the fleet tests share: calls that succeed or fail, a silent logger, a deferred promise, the shared
// circuit as stored, and two breakers on one in-memory store with an open circuit and a probe held in flight.
import { vi } from 'vitest';
import { CircuitBreaker, type CircuitBreakerOptions } from '../../src/index.js';
import { MemoryStore } from './memory-store.js';

/** One turn of the event loop (with real timers). */
export const tick = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
export const fail = (): Promise<never> => Promise.reject(new Error('upstream down'));
export const ok = (): Promise<string> => Promise.resolve('ok');
export const quiet = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });

/** A promise and the functions that settle it. */
export function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The shared circuit as the store holds it (`encodeCircuit`'s array), or `null` when there is no record. */
export const sharedCircuit = (store: MemoryStore, name = 'api') =>
  JSON.parse(store.row(name)?.circuit ?? 'null') as [string, ...unknown[]] | null;

/** Two instances, A and B, of breaker `api` on one in-memory store, on a fake clock (the store's runs 1e12 ahead). */
export function fleetPair(options: Partial<CircuitBreakerOptions> = {}) {
  const clock = { t: 0 };
  const store = new MemoryStore({ now: () => 1e12 + clock.t });
  const [sa, sb] = [store.handle(), store.handle()];
  const logger = quiet();
  const common: CircuitBreakerOptions = {
    name: 'api',
    failureThreshold: 1,
    recoveryTimeout: 1_000,
    maxProbeWait: 60_000,
    clock: { now: () => clock.t },
    logger,
    ...options,
  };
  return { clock, store, sa, sb, logger, a: new CircuitBreaker({ ...common, store: sa }), b: new CircuitBreaker({ ...common, store: sb }) };
}

/**
 * A fails once (opening the fleet's circuit, threshold 1), the recovery time passes, and A takes the probe slot
 * with a call held in flight. `settle` lets the store answer (a tick, or fake timers' advance).
 */
export async function openAndHoldProbe(
  { clock, a, b }: { clock: { t: number }; a: CircuitBreaker; b: CircuitBreaker },
  settle: () => Promise<unknown>,
) {
  await settle();
  await a.execute(fail).catch(() => {});
  await settle();
  if (b.state !== 'open') throw new Error(`expected B to hear that the circuit opened; it is ${b.state}`);
  clock.t += 1_000;
  let answer: ((v: string) => void) | undefined;
  const probe = a.execute(() => new Promise<string>((r) => (answer = r)));
  await settle();
  return { probe, release: (value = 'ok') => answer?.(value) };
}

/** `n` instances of breaker `api` (threshold 3) sharing one in-memory store; the store's clock runs 1e9 ms ahead. */
export function fleetOf(n: number, options: Partial<CircuitBreakerOptions> = {}, storeOptions: { subscribe?: boolean } = {}) {
  const clock = { t: 0 };
  const store = new MemoryStore({ now: () => clock.t + 1e9, ...storeOptions });
  const stores = Array.from({ length: n }, () => store.handle(storeOptions));
  const logger = quiet();
  const breakers = stores.map(
    (s) =>
      new CircuitBreaker({
        name: 'api',
        store: s,
        failureThreshold: 3,
        recoveryTimeout: 1_000,
        clock: { now: () => clock.t },
        logger,
        ...options,
      }),
  );
  return { clock, store, stores, breakers, logger };
}
