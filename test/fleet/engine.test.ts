import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RecordIdentity } from '../../src/fleet/contract.js';
import { sharedStore } from '../../src/fleet/index.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  CircuitOpenError,
  countWindow,
  type StateChangeEvent,
  timeWindow,
} from '../../src/index.js';
import { fail, fleetOf as fleet, ok, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { MemoryBackend, RecordingStore, WriteLog } from '../helpers/recording-store.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('fleet options', () => {
  const store = new MemoryStore();
  it('requires a name with a store', () => {
    expect(() => new CircuitBreaker({ store })).toThrow(TypeError);
    expect(() => new CircuitBreaker({ store })).toThrow(/"name" is required/);
  });
  it('refuses something that is not a store', () => {
    expect(() => new CircuitBreaker({ name: 'x', store: {} as never })).toThrow(/option "store"/);
    expect(() => new CircuitBreaker({ name: 'x', store: null as never })).toThrow(TypeError);
    expect(() => new CircuitBreaker({ name: 'x', store: { read() {}, compareAndSet() {}, subscribe: 1 } as never })).toThrow(TypeError);
    // The store's engine checks the primitives when the breaker joins.
    const broken = Object.assign(new MemoryStore(), { subscribe: 1 });
    expect(() => new CircuitBreaker({ name: 'x', store: broken as never })).toThrow(
      /option "store" must be a store with read\(\) and compareAndSet\(\)/,
    );
  });
  it('refuses fleet options without a store', () => {
    expect(() => new CircuitBreaker({ syncInterval: 100 })).toThrow(/"syncInterval" only applies with a "store"/);
    expect(() => new CircuitBreaker({ onStoreError: 'local' })).toThrow(TypeError);
  });
  it('validates syncInterval and onStoreError', () => {
    expect(() => new CircuitBreaker({ name: 'x', store, syncInterval: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ name: 'x', store, syncInterval: Number.NaN })).toThrow(/syncInterval/);
    expect(() => new CircuitBreaker({ name: 'x', store, syncInterval: '5' as never })).toThrow(TypeError);
    expect(() => new CircuitBreaker({ name: 'x', store, onStoreError: 'ignore' as never })).toThrow(/"onStoreError" must be/);
  });
  it('suggests the option for a typo', () => {
    expect(() => new CircuitBreaker({ syncIntervall: 5 } as never)).toThrow(/did you mean "syncInterval"/);
  });
  it('flush() resolves at once without a store', async () => {
    await expect(new CircuitBreaker().flush()).resolves.toBeUndefined();
  });
});

describe('one breaker shared by a fleet', () => {
  it('dispose() writes what is batched, unsubscribes, and leaves the breaker running alone', async () => {
    const { breakers, store } = fleet(2, {
      failureThreshold: undefined,
      failureRateThreshold: 0.5,
      window: countWindow(100),
      minimumCalls: 2,
      syncInterval: 60_000,
    });
    const [gone, stays] = breakers as [CircuitBreaker, CircuitBreaker];
    await tick();
    await gone.execute(ok); // a success waits in the batch for the sync interval
    expect(store.backend.listeners.get('api')?.size).toBe(2);
    await gone.dispose();
    expect(store.backend.listeners.get('api')?.size).toBe(1);
    expect(JSON.parse(store.row('api')?.tracker ?? '{}')).toMatchObject({ outcomes: '0' });
    const before = { ...store.calls };
    // From now on its outcomes stay local, and what the fleet does no longer reaches it.
    for (let i = 0; i < 2; i++) await gone.execute(fail).catch(() => {});
    expect(gone.state).toBe('open');
    expect(store.calls).toEqual(before);
    for (let i = 0; i < 2; i++) await stays.execute(fail).catch(() => {});
    await tick();
    expect(stays.state).toBe('open');
    stays.close();
    await tick();
    expect(stays.state).toBe('closed');
    expect(gone.state).toBe('open');
    await expect(gone.dispose()).resolves.toBeUndefined();
    await expect(new CircuitBreaker().dispose()).resolves.toBeUndefined();
  });

  it('opens every instance after failureThreshold failures in total, not per instance', async () => {
    const { breakers, store } = fleet(3);
    await tick();
    const events: StateChangeEvent[] = [];
    breakers[2]?.on('stateChange', (e) => events.push(e));
    await breakers[0]?.execute(fail).catch(() => {});
    await breakers[1]?.execute(fail).catch(() => {});
    await tick();
    expect(breakers.map((b) => b.state)).toEqual(['closed', 'closed', 'closed']);
    await breakers[2]?.execute(fail).catch(() => {});
    await tick();
    expect(breakers.map((b) => b.state)).toEqual(['open', 'open', 'open']);
    expect(events).toEqual([expect.objectContaining({ from: 'closed', to: 'open', reason: 'failure-threshold', source: 'local' })]);
    const seen: StateChangeEvent[] = [];
    expect(store.row('api')?.circuit).toMatch(/^\["open"/);
    // While open, rejections cost no round trip: the open-until is cached.
    const before = { ...store.calls };
    for (const b of breakers) b.on('stateChange', (e) => seen.push(e));
    const results = await Promise.allSettled(breakers.map((b) => b.execute(ok)));
    for (const r of results) expect(r.status === 'rejected' && r.reason instanceof CircuitOpenError).toBe(true);
    expect(store.calls).toEqual(before);
  });

  it('marks transitions made by another instance as remote', async () => {
    const { breakers } = fleet(2);
    await tick();
    const seen: StateChangeEvent[] = [];
    breakers[1]?.on('stateChange', (e) => seen.push(e));
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    expect(seen).toEqual([expect.objectContaining({ from: 'closed', to: 'open', source: 'remote', name: 'api' })]);
  });

  it('keeps the open-until on the store clock: a probe is allowed after recoveryTimeout, whatever the offset', async () => {
    const { breakers, clock } = fleet(2);
    await tick();
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    const error = await breakers[1]?.execute(ok).catch((e: CircuitOpenError) => e);
    expect((error as CircuitOpenError).retryAfter).toBe(1_000);
    clock.t += 999;
    expect(breakers[1]?.state).toBe('open');
    clock.t += 1;
    expect(breakers[1]?.state).toBe('half-open');
  });

  it('admits one probe fleet-wide in half-open; the probe closes every instance', async () => {
    const { breakers, clock, store } = fleet(3);
    await tick();
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    clock.t += 1_000;
    let release: (v: string) => void = () => {};
    const probeCalls: number[] = [];
    const calls = breakers.map((b, i) =>
      b.execute(() => {
        probeCalls.push(i);
        return new Promise<string>((resolve) => {
          release = resolve;
        });
      }),
    );
    const outcomes = calls.map((call) =>
      call.then(
        () => 'resolved',
        () => 'rejected',
      ),
    );
    await tick();
    expect(probeCalls).toHaveLength(1);
    expect(await Promise.all(outcomes.filter((_, i) => i !== probeCalls[0]))).toEqual(['rejected', 'rejected']);
    // Others still reject locally while the probe is out.
    const casBefore = store.calls.cas;
    await expect(breakers[(Number(probeCalls[0]) + 1) % 3]?.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(store.calls.cas).toBe(casBefore);
    release('fine');
    await expect(calls[Number(probeCalls[0])]).resolves.toBe('fine');
    await tick();
    expect(breakers.map((b) => b.state)).toEqual(['closed', 'closed', 'closed']);
  });

  it('reopens fleet-wide when the probe fails', async () => {
    const { breakers, clock } = fleet(2);
    await tick();
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    clock.t += 1_000;
    await breakers[1]?.execute(fail).catch(() => {});
    await tick();
    expect(breakers.map((b) => b.state)).toEqual(['open', 'open']);
    clock.t += 999;
    expect(breakers[0]?.state).toBe('open');
  });

  it('a probe whose instance froze holds half-open only until maxProbeWait (the lease)', async () => {
    const { breakers, clock } = fleet(2, { maxProbeWait: 500 });
    await tick();
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    clock.t += 1_000;
    void breakers[0]?.execute(() => new Promise(() => {})); // never settles: a frozen instance
    await tick();
    await expect(breakers[1]?.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    clock.t += 500; // the lease is over: the trial failed, the circuit reopens for a fresh recovery time
    expect(breakers[1]?.state).toBe('open');
    clock.t += 1_000;
    await expect(breakers[1]?.execute(ok)).resolves.toBe('ok');
    await tick();
    expect(breakers.map((b) => b.state)).toEqual(['closed', 'closed']);
  });

  it('lets a call that finds the circuit closed by another instance pass', async () => {
    const { breakers, clock } = fleet(2, {}, { subscribe: false });
    await tick();
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    await tick();
    clock.t += 100;
    await breakers[1]?.execute(ok).catch(() => {}); // re-read (no subscriber): sees open
    await tick();
    expect(breakers[1]?.state).toBe('open');
    clock.t += 900;
    await expect(breakers[0]?.execute(ok)).resolves.toBe('ok'); // probe closes
    await tick();
    expect(breakers[1]?.state).toBe('half-open'); // breaker 1 has not heard yet
    await expect(breakers[1]?.execute(ok)).resolves.toBe('ok');
    expect(breakers[1]?.state).toBe('closed');
  });

  it('without a subscriber, re-reads at most once per syncInterval while there are calls', async () => {
    const { breakers, store, clock } = fleet(2, { syncInterval: 100 }, { subscribe: false });
    await tick();
    const reads = store.calls.read;
    for (let i = 0; i < 50; i++) await breakers[1]?.execute(ok);
    await tick();
    expect(store.calls.read).toBe(reads);
    clock.t += 100;
    for (let i = 0; i < 50; i++) await breakers[1]?.execute(ok);
    await tick();
    expect(store.calls.read).toBe(reads + 1);
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    expect(breakers[1]?.state).toBe('closed');
    clock.t += 100;
    await breakers[1]?.execute(ok);
    await tick();
    expect(breakers[1]?.state).toBe('open');
  });
});

describe('the hot path with a store', () => {
  it('closed successes in consecutive mode make no round trip at all', async () => {
    const { breakers, store } = fleet(1);
    await tick();
    const before = { ...store.calls };
    for (let i = 0; i < 1_000; i++) await breakers[0]?.execute(ok);
    await breakers[0]?.flush();
    expect(store.calls).toEqual(before);
  });

  it('neutral errors are not sent either', async () => {
    const { breakers, store } = fleet(1, { isFailure: () => false });
    await tick();
    const before = { ...store.calls };
    for (let i = 0; i < 10; i++) await breakers[0]?.execute(fail).catch(() => {});
    await breakers[0]?.flush();
    expect(store.calls).toEqual(before);
  });

  it('batches outcomes in rate mode and flushes them after syncInterval, with an unref()ed timer only while pending', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { breakers, store } = fleet(1, {
      failureThreshold: undefined,
      failureRateThreshold: 0.5,
      minimumCalls: 4,
      window: countWindow(10),
      syncInterval: 100,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
    for (let i = 0; i < 20; i++) await breakers[0]?.execute(ok);
    expect(store.calls.cas).toBe(0);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(store.calls.cas).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(JSON.parse(store.row('api')?.tracker ?? '')).toEqual({ kind: 'count', outcomes: '0000000000' });
  });

  it('flushes a full batch at once', async () => {
    const { breakers, store } = fleet(1, {
      failureThreshold: undefined,
      failureRateThreshold: 0.5,
      window: countWindow(100),
      syncInterval: 60_000,
    });
    await tick();
    for (let i = 0; i < 64; i++) await breakers[0]?.execute(ok);
    await tick();
    expect(store.calls.cas).toBe(1);
    await breakers[0]?.flush();
  });

  it('shares a time window across instances, on the store clock', async () => {
    const { breakers, clock } = fleet(2, {
      failureThreshold: undefined,
      failureRateThreshold: 0.5,
      minimumCalls: 4,
      window: timeWindow({ duration: 1_000, buckets: 10 }),
    });
    await tick();
    await breakers[0]?.execute(ok);
    await breakers[1]?.execute(ok);
    await Promise.all(breakers.map((b) => b.flush()));
    clock.t += 100;
    await breakers[0]?.execute(fail).catch(() => {});
    await breakers[1]?.execute(fail).catch(() => {});
    await tick();
    expect(breakers.map((b) => b.state)).toEqual(['open', 'open']);
    expect(breakers[1]?.metrics().window).toEqual({ calls: 4, failures: 2, slowCalls: 0 });
  });
});

describe('manual controls act fleet-wide', () => {
  it('forceOpen, close, disable and reset reach the other instances', async () => {
    const { breakers } = fleet(2);
    await tick();
    breakers[0]?.forceOpen();
    await tick();
    expect(breakers[1]?.state).toBe('forced-open');
    breakers[0]?.close();
    await tick();
    expect(breakers[1]?.state).toBe('closed');
    breakers[1]?.disable();
    await tick();
    expect(breakers[0]?.state).toBe('disabled');
    breakers[1]?.reset();
    await tick();
    expect(breakers[0]?.state).toBe('closed');
  });
});

describe('settings and records', () => {
  it('warns once when instances sharing a breaker have different settings', async () => {
    const { breakers, stores, clock, logger } = fleet(1);
    await tick();
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    const other = new CircuitBreaker({ name: 'api', store: stores[0], failureThreshold: 7, clock: { now: () => clock.t }, logger });
    await tick();
    expect(other.state).toBe('open');
    const mismatch = logger.warn.mock.calls.find(([r]) => (r as { event: string }).event === 'breaker.settingsMismatch');
    // Theirs: the digest the record was written with; ours: the new instance's, another one.
    expect(mismatch).toEqual([
      {
        event: 'breaker.settingsMismatch',
        breaker: 'api',
        ours: expect.stringMatching(/^[0-9a-f]{8}$/),
        theirs: stores[0]?.row('api')?.settings,
      },
      'breakwater "api": instances sharing this breaker have different settings; each computes with its own',
    ]);
    const fields = mismatch?.[0] as { ours: string; theirs: string };
    expect(fields.theirs).toMatch(/^[0-9a-f]{8}$/);
    expect(fields.ours).not.toBe(fields.theirs);
    const warnings = logger.warn.mock.calls.filter(([r]) => (r as { event: string }).event === 'breaker.settingsMismatch').length;
    clock.t += 100;
    await other.execute(ok).catch(() => {});
    await tick();
    expect(logger.warn.mock.calls.filter(([r]) => (r as { event: string }).event === 'breaker.settingsMismatch').length).toBe(warnings);
  });

  it('warns on the console without a logger', async () => {
    const store = new MemoryStore();
    const a = new CircuitBreaker({ name: 'w', store: store.handle(), failureThreshold: 2 });
    await tick();
    await a.execute(fail).catch(() => {});
    await a.flush();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    new CircuitBreaker({ name: 'w', store: store.handle(), failureThreshold: 3 });
    await tick();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      'breakwater "w": instances sharing this breaker have different settings; each computes with its own',
      { ours: expect.stringMatching(/^[0-9a-f]{8}$/), theirs: store.row('w')?.settings },
    );
    warn.mockRestore();
  });

  it('treats a malformed record as a fresh circuit', async () => {
    const store = new MemoryStore();
    store.backend.rows.set('bad', { version: '5', circuit: '{nope', tracker: '[1]', settings: '', at: 0, writer: '' });
    const b = new CircuitBreaker({ name: 'bad', store, failureThreshold: 1 });
    await tick();
    expect(b.state).toBe('closed');
    await b.execute(fail).catch(() => {});
    await tick();
    expect(b.state).toBe('open');
    expect(store.row('bad')?.circuit).toMatch(/^\["open"/);
  });

  it('starts over when the record disappears (expired or flushed)', async () => {
    const { breakers, store, clock } = fleet(1, {}, { subscribe: false });
    await tick();
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    store.backend.rows.clear();
    clock.t += 100;
    await breakers[0]?.execute(ok).catch(() => {});
    await tick();
    expect(breakers[0]?.state).toBe('closed');
  });
});

describe('store faults never reach the caller', () => {
  function faulty(onStoreError?: CircuitBreakerOptions['onStoreError']) {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t + 5e8 });
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const b = new CircuitBreaker({
      name: 'f',
      store,
      failureThreshold: 2,
      recoveryTimeout: 1_000,
      clock: { now: () => clock.t },
      logger,
      ...(onStoreError === undefined ? {} : { onStoreError }),
    });
    const errors: unknown[] = [];
    const recovered: number[] = [];
    b.on('storeError', (e) => errors.push(e.error));
    b.on('storeRecovered', (e) => recovered.push(e.downtime));
    return { clock, store, b, logger, errors, recovered };
  }

  it("'local': runs on local state, reports once, resynchronises when the store returns", async () => {
    const { clock, store, b, logger, errors, recovered } = faulty();
    await tick();
    store.fail = new Error('ECONNREFUSED');
    await expect(b.execute(fail)).rejects.toThrow('upstream down');
    await tick();
    expect(errors).toHaveLength(1);
    for (let i = 0; i < 5; i++) await expect(b.execute(ok)).resolves.toBe('ok');
    await b.execute(fail).catch(() => {});
    await b.execute(fail).catch(() => {});
    expect(b.state).toBe('open'); // opened locally
    await expect(b.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(errors).toHaveLength(1);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ event: 'breaker.storeError', fallback: 'local' }),
      expect.any(String),
    );
    // Store back: the next call after the retry delay reads the shared state (closed) back.
    store.fail = undefined;
    clock.t += 1_000;
    await b.execute(ok).catch(() => {});
    await tick();
    expect(recovered).toHaveLength(1);
    expect(b.state).toBe('closed');
    expect(logger.info).toHaveBeenCalledWith(expect.objectContaining({ event: 'breaker.storeRecovered' }), expect.any(String));
    // A failed retry keeps the fallback and waits for the next delay.
    store.fail = new Error('down again');
    await b.execute(fail).catch(() => {});
    await tick();
    expect(errors).toHaveLength(2);
    clock.t += 1_000;
    await b.execute(ok);
    await tick();
    expect(recovered).toHaveLength(1);
  });

  it("'local': a probe admitted locally during the fault settles locally", async () => {
    const { clock, store, b } = faulty();
    await tick();
    store.fail = new Error('down');
    await b.execute(fail).catch(() => {});
    await b.execute(fail).catch(() => {});
    await tick();
    expect(b.state).toBe('open');
    clock.t += 500;
    await expect(b.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError); // before retry delay: no recovery read
    clock.t += 500;
    await expect(b.execute(ok)).resolves.toBe('ok');
    expect(b.state).toBe('closed');
  });

  it("'fail-closed' rejects every call until the store returns", async () => {
    const { clock, store, b, errors } = faulty('fail-closed');
    await tick();
    store.fail = new Error('down');
    await b.execute(ok); // succeeds: the fault is found by this call's write, or the next read
    await b.execute(fail).catch(() => {});
    await tick();
    expect(errors).toHaveLength(1);
    expect(b.state).toBe('forced-open');
    await expect(b.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    store.fail = undefined;
    clock.t += 1_000;
    await expect(b.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError); // this rejection triggers the re-read
    await tick();
    expect(b.state).toBe('closed');
  });

  it("'fail-open' lets every call through until the store returns", async () => {
    const { store, b, errors } = faulty('fail-open');
    await tick();
    store.fail = new Error('down');
    for (let i = 0; i < 2; i++) await b.execute(fail).catch(() => {});
    await tick();
    expect(errors).toHaveLength(1);
    expect(b.state).toBe('disabled');
    for (let i = 0; i < 5; i++) await b.execute(fail).catch(() => {});
    expect(b.state).toBe('disabled');
  });

  it('a store that never answers times out; the caller does not wait for it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t, timeout: 50 });
    const errors: unknown[] = [];
    const b = new CircuitBreaker({
      name: 'h',
      store,
      failureThreshold: 2,
      clock: { now: () => clock.t },
      logger: { info() {}, warn() {}, error() {} },
    });
    b.on('storeError', (e) => errors.push(e.error));
    await vi.advanceTimersByTimeAsync(0);
    store.hang = true;
    await expect(b.execute(fail)).rejects.toThrow('upstream down');
    await vi.advanceTimersByTimeAsync(50);
    expect(errors).toEqual([expect.objectContaining({ name: 'StoreTimeoutError' })]);
    await b.execute(fail).catch(() => {});
    expect(b.state).toBe('open'); // the first failure was handed to the local circuit
  });

  it('a store that throws synchronously counts as failed', async () => {
    const store = new MemoryStore();
    const errors: unknown[] = [];
    const broken = {
      read: () => {
        throw new Error('sync');
      },
      compareAndSet: store.compareAndSet.bind(store),
    };
    const b = new CircuitBreaker({ name: 's', store: sharedStore(broken), logger: { info() {}, warn() {}, error() {} } });
    b.on('storeError', (e) => errors.push(e.error));
    await tick();
    expect(errors).toHaveLength(1);
    await expect(b.execute(ok)).resolves.toBe('ok');
  });

  it('a probe admission that meets a store fault falls back to the local circuit', async () => {
    const { clock, store, b, errors } = faulty();
    await tick();
    await b.execute(fail).catch(() => {});
    await b.execute(fail).catch(() => {});
    await tick();
    expect(b.state).toBe('open');
    clock.t += 1_000;
    store.fail = new Error('down');
    await expect(b.execute(ok)).resolves.toBe('ok');
    expect(errors).toHaveLength(1);
    expect(b.state).toBe('closed');
  });

  it('logs on the console without a logger, once', async () => {
    const store = new MemoryStore();
    store.fail = new Error('down');
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const b = new CircuitBreaker({ name: 'c', store });
    await tick();
    for (let i = 0; i < 5; i++) await b.execute(fail).catch(() => {});
    expect(error).toHaveBeenCalledTimes(1);
    error.mockRestore();
  });

  it('gives up a batch after too many conflicts and keeps its outcomes for the next flush', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t });
    let conflicts = 40;
    const contended = {
      read: store.read.bind(store),
      async compareAndSet(name: string, expected: RecordIdentity, next: Parameters<MemoryStore['compareAndSet']>[2]) {
        if (conflicts-- > 0) {
          // Someone else wins every time.
          await store.compareAndSet(name, await store.read(name), { ...next, writer: 'other', tracker: '' });
        }
        return store.compareAndSet(name, expected, next);
      },
    };
    const b = new CircuitBreaker({ name: 'k', store: sharedStore(contended), failureThreshold: 2, clock: { now: () => clock.t } });
    await vi.advanceTimersByTimeAsync(0);
    await b.execute(fail).catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1); // the outcome waits for the next flush
    await vi.advanceTimersByTimeAsync(100);
    await b.execute(fail).catch(() => {});
    await b.flush();
    expect(b.state).toBe('open');
  });
});

describe('fleet sync, corner cases', () => {
  it('records slow calls in a shared slow-call window', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t });
    const b = new CircuitBreaker({
      name: 'slow',
      store,
      slowCallRateThreshold: 0.5,
      slowCallDuration: 10,
      minimumCalls: 2,
      window: countWindow(4),
      clock: { now: () => clock.t },
    });
    await tick();
    const slow = () => {
      clock.t += 20;
      return 'late';
    };
    await b.execute(slow);
    await b.execute(slow);
    await b.flush();
    expect(b.state).toBe('open');
    expect(JSON.parse(store.row('slow')?.tracker ?? '')).toEqual({ kind: 'count', outcomes: '22' });
  });

  it('a second call in half-open on the same instance is rejected locally while the first asks the store', async () => {
    const { breakers, clock, store } = fleet(1);
    await tick();
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    clock.t += 1_000;
    const reads = store.calls.cas;
    const first = breakers[0]?.execute(ok);
    const second = breakers[0]?.execute(ok);
    await expect(second).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(first).resolves.toBe('ok');
    expect(store.calls.cas - reads).toBeLessThanOrEqual(2); // the probe's slot and its outcome
  });

  it('manual controls during a store fault stay local; a failing control write starts the fallback once', async () => {
    const { breakers, store, stores } = fleet(1, { onStoreError: 'local' });
    const errors: unknown[] = [];
    breakers[0]?.on('storeError', (e) => errors.push(e));
    await tick();
    (stores[0] as MemoryStore).fail = new Error('down');
    breakers[0]?.forceOpen();
    breakers[0]?.close(); // a second failing write while the first is failing: one fault
    await tick();
    expect(errors).toHaveLength(1);
    const before = { ...store.calls };
    breakers[0]?.disable();
    expect(store.calls).toEqual(before);
    expect(breakers[0]?.state).toBe('disabled');
  });

  it('a store fault while outcomes wait for the timer hands them to the local circuit', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { breakers, stores } = fleet(1, {
      failureThreshold: undefined,
      failureRateThreshold: 0.5,
      minimumCalls: 3,
      window: countWindow(4),
      syncInterval: 100,
    });
    await vi.advanceTimersByTimeAsync(0);
    await breakers[0]?.execute(ok);
    expect(vi.getTimerCount()).toBe(1);
    (stores[0] as MemoryStore).fail = new Error('down');
    await breakers[0]?.execute(fail).catch(() => {}); // written at once, with the waiting success: the write fails
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(breakers[0]?.metrics().window).toEqual({ calls: 2, failures: 1, slowCalls: 0 });
  });

  it('mirrors a shared tracker of another kind as nothing counted', async () => {
    const { stores, clock, logger } = fleet(1);
    const rate = new CircuitBreaker({
      name: 'api',
      store: stores[0],
      failureRateThreshold: 0.5,
      window: countWindow(10),
      clock: { now: () => clock.t },
      logger,
    });
    await tick();
    await rate.execute(ok);
    await rate.flush();
    const consecutive = new CircuitBreaker({ name: 'api', store: stores[0], failureThreshold: 2, clock: { now: () => clock.t }, logger });
    await tick();
    await consecutive.execute(ok);
    await consecutive.flush();
    expect(consecutive.metrics().window.calls).toBe(0);
    expect(consecutive.state).toBe('closed');
  });

  it('writes probe slots and manual controls through the store, and nothing for a control that changes nothing', async () => {
    const clock = { t: 0 };
    const log = new WriteLog();
    const store = RecordingStore.on(new MemoryBackend(), log, 0, { now: () => clock.t });
    const b = new CircuitBreaker({ name: 'o', store, failureThreshold: 1, recoveryTimeout: 10, clock: { now: () => clock.t } });
    await tick();
    b.forceOpen();
    await tick();
    b.close();
    await tick();
    b.close(); // changes nothing: not written
    await tick();
    await b.execute(fail).catch(() => {});
    await b.flush();
    clock.t += 10;
    await b.execute(ok);
    await b.flush();
    const written = log.sent.map((w) => `${w.circuit?.state}:${w.circuit?.reason}:${w.landed}`);
    expect(written).toEqual([
      'forced-open:forced-open:true',
      'closed:closed-manually:true',
      'open:failure-threshold:true',
      'half-open:recovery-timeout:true', // the probe's slot
      'closed:probe-succeeded:true', // its outcome
    ]);
  });
});

describe('fleet probes with per-call options', () => {
  it('runs an admitted probe under the timeout and the fallback', async () => {
    const { breakers, clock } = fleet(2, { timeout: 1_000 });
    await tick();
    for (let i = 0; i < 3; i++) await breakers[0]?.execute(fail).catch(() => {});
    await tick();
    clock.t += 1_000;
    const fallback = (error: unknown) => `fallback: ${(error as Error).message}`;
    await expect(breakers[1]?.execute(fail, { fallback })).resolves.toBe('fallback: upstream down');
    await tick();
    expect(breakers[0]?.state).toBe('open');
    clock.t += 1_000;
    await expect(breakers[0]?.execute(ok, { fallback })).resolves.toBe('ok');
    await tick();
    expect(breakers[1]?.state).toBe('closed');
  });
});

describe('records that cross', () => {
  it('ignores an answer about a missing record older than what it knows, takes a newer one', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t, subscribe: false });
    let stale = false;
    const crossing = {
      read: async (name: string) =>
        stale ? { version: '', now: -1, circuit: '', tracker: '', settings: '', at: 0, writer: '' } : store.read(name),
      compareAndSet: store.compareAndSet.bind(store),
    };
    const b = new CircuitBreaker({ name: 'x', store: sharedStore(crossing), failureThreshold: 1, clock: { now: () => clock.t } });
    await tick();
    await b.execute(fail).catch(() => {});
    await tick();
    expect(b.state).toBe('open');
    stale = true;
    clock.t += 100;
    await b.execute(ok).catch(() => {}); // re-read answers with an old "missing"
    await tick();
    expect(b.state).toBe('open');
    stale = false;
    store.backend.rows.clear();
    clock.t += 100;
    await b.execute(ok).catch(() => {});
    await tick();
    expect(b.state).toBe('closed');
  });
});

describe('successes that follow a failure', () => {
  it('wait for the timer instead of a second write right away', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { breakers, store } = fleet(1, { syncInterval: 100 });
    await vi.advanceTimersByTimeAsync(0);
    const f = breakers[0]?.execute(fail).catch(() => {});
    await f;
    await breakers[0]?.execute(ok); // recorded while the failure's write is under way
    await vi.advanceTimersByTimeAsync(0);
    expect(store.calls.cas).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(store.calls.cas).toBe(2);
    expect(JSON.parse(store.row('api')?.tracker ?? '')).toEqual({ kind: 'consecutive', failures: 0 });
  });
});

describe('messages during a store fault', () => {
  it('are ignored: the fallback holds until the breaker reads the store back itself', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t });
    const quiet = { info() {}, warn() {}, error() {} };
    const options = { name: 'm', failureThreshold: 1, recoveryTimeout: 1_000, clock: { now: () => clock.t }, logger: quiet };
    const down = new CircuitBreaker({ ...options, store, onStoreError: 'fail-open' });
    const up = new CircuitBreaker({ ...options, store: store.handle() });
    await tick();
    store.fail = new Error('down');
    await down.execute(fail).catch(() => {});
    await tick();
    expect(down.state).toBe('disabled');
    await up.execute(fail).catch(() => {}); // published to `down` too
    await tick();
    expect(up.state).toBe('open');
    expect(down.state).toBe('disabled');
  });
});

describe('under heavy write contention', () => {
  /** A store where another instance wins every compare-and-set while `conflicts` lasts. */
  function contended() {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t, subscribe: false });
    const state = { conflicts: 0 };
    const wrapped = {
      read: store.read.bind(store),
      async compareAndSet(name: string, expected: RecordIdentity, next: Parameters<MemoryStore['compareAndSet']>[2]) {
        if (state.conflicts-- > 0) {
          // Another instance rewrites the record as it is: only the version moves.
          const cur = await store.read(name);
          const circuit = cur.circuit === '' ? next.circuit : cur.circuit;
          await store.compareAndSet(name, cur, { ...cur, circuit, ttl: 1_000, writer: 'other' });
        }
        return store.compareAndSet(name, expected, next);
      },
    };
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const b = new CircuitBreaker({
      name: 'k',
      store: sharedStore(wrapped),
      failureThreshold: 1,
      recoveryTimeout: 100,
      clock: { now: () => clock.t },
      logger,
    });
    return { clock, state, b, logger };
  }

  it('a call that cannot get a probe slot is rejected fast, not failed over to the fallback', async () => {
    const { clock, state, b, logger } = contended();
    await tick();
    await b.execute(fail).catch(() => {});
    await b.flush();
    clock.t += 100;
    state.conflicts = 40;
    await expect(b.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('a manual control that cannot be written fleet-wide is reported, not failed over to the fallback', async () => {
    const { state, b, logger } = contended();
    await tick();
    b.close(); // a record to contend on
    await tick();
    state.conflicts = 40;
    b.forceOpen();
    await tick();
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ event: 'breaker.controlConflict', op: 'forceOpen' }),
      expect.stringContaining('forceOpen()'),
    );
    expect(logger.error).not.toHaveBeenCalled();
  });
});
