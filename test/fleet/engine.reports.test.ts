// What a breaker in fleet mode tells about its store: the fault (once, with the error and the policy), when it tries
// the store again, the recovery (with the downtime), and the subscription's failures, to the logger or, without
// one, to the console.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedStore } from '../../src/fleet/index.js';
import { CircuitBreaker, type StoreErrorEvent, type StoreRecoveredEvent } from '../../src/index.js';
import { fail, ok, quiet, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A breaker named "f" on an in-memory store, on a fake clock; its logger and store events recorded. */
function reported(options: { syncInterval?: number } = {}) {
  const clock = { t: 0 };
  const store = new MemoryStore({ now: () => 5e8 + clock.t });
  const logger = quiet();
  const breaker = new CircuitBreaker({
    name: 'f',
    store,
    failureThreshold: 5,
    clock: { now: () => clock.t },
    logger,
    ...options,
  });
  const errors: StoreErrorEvent[] = [];
  const recoveries: StoreRecoveredEvent[] = [];
  breaker.on('storeError', (e) => errors.push(e));
  breaker.on('storeRecovered', (e) => recoveries.push(e));
  /** At 100 ms, with the store refusing every operation with `error`, a call fails; then the store is back. */
  const outageAt100 = async (error: unknown) => {
    await tick();
    clock.t = 100;
    store.fail = error;
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    store.fail = undefined;
  };
  /** At `t`, a call that succeeds, and a turn for what it sent the store. */
  const succeedAt = async (t: number) => {
    clock.t = t;
    await breaker.execute(ok);
    await tick();
  };
  return { store, logger, errors, recoveries, outageAt100, succeedAt };
}

describe('a store fault and the recovery, as reported', () => {
  it('reports the fault once, with the error and the policy, and the recovery with the downtime since the fault', async () => {
    const { logger, errors, recoveries, outageAt100, succeedAt } = reported();
    const down = new Error('ECONNREFUSED');
    await outageAt100(down);
    expect(errors).toEqual([{ name: 'f', error: down, fallback: 'local' }]);
    expect(logger.error.mock.calls).toEqual([
      [
        { event: 'breaker.storeError', breaker: 'f', error: down, fallback: 'local' },
        'breakwater "f": the store failed; running on "local" until it answers again',
      ],
    ]);
    await succeedAt(1_100);
    expect(recoveries).toEqual([{ name: 'f', downtime: 1_000 }]);
    expect(logger.info).toHaveBeenCalledWith(
      { event: 'breaker.storeRecovered', breaker: 'f', downtime: 1_000 },
      'breakwater "f": the store answers again; shared state read back',
    );
  });

  it('tries the store again no sooner than a second after the fault, though it re-reads every 100 ms when healthy', async () => {
    const { store, recoveries, outageAt100, succeedAt } = reported();
    await outageAt100(new Error('ECONNREFUSED'));
    const reads = store.calls.read;
    await succeedAt(1_099);
    expect(store.calls.read).toBe(reads);
    expect(recoveries).toHaveLength(0);
    await succeedAt(1_100);
    expect(store.calls.read).toBe(reads + 1);
    expect(recoveries).toHaveLength(1);
  });

  it('with a longer syncInterval, waits that long before trying again', async () => {
    const { recoveries, outageAt100, succeedAt } = reported({ syncInterval: 3_000 });
    await outageAt100(new Error('ECONNREFUSED'));
    await succeedAt(3_099);
    expect(recoveries).toHaveLength(0);
    await succeedAt(3_100);
    expect(recoveries).toEqual([{ name: 'f', downtime: 3_000 }]);
  });

  it('names the policies an unknown onStoreError could have been', () => {
    const store = new MemoryStore();
    expect(() => new CircuitBreaker({ name: 'f', store, onStoreError: 'open' as never })).toThrow(
      new TypeError('breakwater: option "onStoreError" must be "local", "fail-open" or "fail-closed"; got "open"'),
    );
  });
});

describe('a subscription that fails, without a logger', () => {
  const record = { version: '', now: 0, circuit: '', tracker: '', settings: '', at: 0, writer: '' };

  it('tells the console, with the error, that the breaker re-reads instead', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const refused = new Error('subscriber connection closed');
    const store = sharedStore({
      read: async () => record,
      compareAndSet: async () => ({ ok: true, version: '1', now: 0 }),
      subscribe: () => {
        throw refused;
      },
    });
    const breaker = new CircuitBreaker({ name: 'f', store, clock: { now: () => 0 } });
    expect(warn.mock.calls).toEqual([['breakwater "f": the store could not subscribe the breaker; it re-reads instead', refused]]);
    await breaker.dispose();
  });

  it('tells the console, with the error, that it could not unsubscribe a breaker that leaves', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const refused = new Error('subscriber connection closed');
    const store = sharedStore({
      read: async () => record,
      compareAndSet: async () => ({ ok: true, version: '1', now: 0 }),
      subscribe: () => () => {
        throw refused;
      },
    });
    const breaker = new CircuitBreaker({ name: 'f', store, clock: { now: () => 0 } });
    await tick();
    await breaker.dispose();
    expect(warn.mock.calls).toEqual([['breakwater "f": the store could not unsubscribe the breaker', refused]]);
  });
});
