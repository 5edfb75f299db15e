// Fleet mode: re-reads without a subscriber, controls that forget waiting outcomes or survive dispose(), a store clock that steps back, hostile records.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, countWindow, timeWindow } from '../../src/index.js';
import { fail, fleetOf as fleet, ok, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('reset() and close() with outcomes still batched', () => {
  const rate = {
    failureThreshold: undefined,
    failureRateThreshold: 0.5,
    minimumCalls: 2,
    window: countWindow(10),
    syncInterval: 60_000,
  };

  it('a lone breaker forgets the successes recorded before reset(): two failures then open it', async () => {
    const b = new CircuitBreaker({ ...rate, syncInterval: undefined, clock: { now: () => 0 } });
    for (let i = 0; i < 4; i++) await b.execute(ok);
    b.reset();
    for (let i = 0; i < 2; i++) await b.execute(fail).catch(() => {});
    expect(b.state).toBe('open');
  });

  it('fleet mode: successes batched before reset() are written after it and count in the shared window', async () => {
    const { breakers, store } = fleet(1, rate);
    const b = breakers[0] as CircuitBreaker;
    await tick();
    for (let i = 0; i < 4; i++) await b.execute(ok); // batched, waiting for syncInterval
    b.reset();
    await tick();
    expect(b.metrics().window.calls).toBe(0); // forgotten here...
    for (let i = 0; i < 2; i++) await b.execute(fail).catch(() => {});
    await b.flush();
    await tick();
    // ...but the shared window has them back: 6 calls, 2 failures, and the circuit stays closed.
    expect(JSON.parse(store.row('api')?.tracker ?? '{}')).toEqual({ kind: 'count', outcomes: '11' });
    expect(b.state).toBe('open');
  });
});

describe('a manual control made during a fail-open / fail-closed fallback, then dispose()', () => {
  it("'fail-open': forceOpen() during the outage survives dispose()", async () => {
    const { breakers, stores } = fleet(1, { onStoreError: 'fail-open' });
    const b = breakers[0] as CircuitBreaker;
    await tick();
    (stores[0] as MemoryStore).fail = new Error('down');
    await b.execute(fail).catch(() => {});
    await tick();
    expect(b.state).toBe('disabled'); // the fallback
    b.forceOpen(); // the operator stops the calls by hand
    expect(b.state).toBe('forced-open');
    await b.dispose();
    // The breaker now runs alone: the operator's forceOpen() must hold, not the circuit from before the outage.
    expect(b.state).toBe('forced-open');
  });

  it("'fail-closed': disable() during the outage survives dispose()", async () => {
    const { breakers, stores } = fleet(1, { onStoreError: 'fail-closed' });
    const b = breakers[0] as CircuitBreaker;
    await tick();
    (stores[0] as MemoryStore).fail = new Error('down');
    await b.execute(fail).catch(() => {});
    await tick();
    expect(b.state).toBe('forced-open'); // the fallback
    b.disable();
    await b.dispose();
    expect(b.state).toBe('disabled');
  });
});

describe('hostile records never leave a breaker stuck', () => {
  it('a half-open record with its slots taken and no probe deadline is not kept for ever', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t + 1e9, subscribe: false });
    // Another app or a hand edit: half-open, one probe in flight, but no lease (probeDeadline 0).
    store.backend.rows.set('h', {
      version: '5',
      circuit: JSON.stringify(['half-open', 1e9, 'recovery-timeout', 0, 1, 1, 0, 0, 3]),
      tracker: '',
      settings: '',
      at: 1e9,
      writer: 'x.1',
    });
    const b = new CircuitBreaker({
      name: 'h',
      store,
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      maxProbeWait: 5_000,
      clock: { now: () => clock.t },
      logger: { info() {}, warn() {}, error() {} },
    });
    await tick();
    // Far past any lease and any recovery time, the breaker still lets nothing through.
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.t += 60_000;
      outcomes.push(await b.execute(ok).catch((e: Error) => e.name));
      await tick();
    }
    expect(outcomes).toContain('ok');
  });
});

describe('rate mode without a subscriber: a re-read at most once per syncInterval while the instance has calls', () => {
  it('an instance seeing only successes through a full count window still learns of a forceOpen() elsewhere', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { breakers, clock, store } = fleet(
      2,
      { failureThreshold: undefined, failureRateThreshold: 0.5, minimumCalls: 2, window: countWindow(4), syncInterval: 100 },
      { subscribe: false },
    );
    const [a, b] = breakers as [CircuitBreaker, CircuitBreaker];
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 4; i++) await a.execute(ok);
    await a.flush(); // the shared window is full of successes
    b.forceOpen(); // an operator stops the fleet
    await vi.advanceTimersByTimeAsync(0);
    expect(store.row('api')?.circuit).toMatch(/^\["forced-open"/);
    const before = store.calls.read;
    const results: string[] = [];
    // A keeps serving successes for 5 s (50 sync intervals).
    for (let i = 0; i < 50; i++) {
      clock.t += 100;
      results.push(await a.execute(ok).catch((e: Error) => e.name));
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(store.calls.read).toBeGreaterThan(before); // it never read the store again...
    expect(a.state).toBe('forced-open'); // ...and keeps calling the upstream the operator stopped
    expect(results).toContain('CircuitOpenError');
  });
});

describe('a time window when the store clock steps back', () => {
  it('keeps the outcomes already in the shared window (a lone breaker records into the newest bucket)', async () => {
    const clock = { t: 0 };
    const skew = { ms: 0 };
    const store = new MemoryStore({ now: () => 1_700_000_000_000 + clock.t + skew.ms });
    const b = new CircuitBreaker({
      name: 'tw',
      store,
      failureRateThreshold: 0.5,
      minimumCalls: 4,
      window: timeWindow({ duration: 60_000, buckets: 6 }),
      clock: { now: () => clock.t },
      logger: { info() {}, warn() {}, error() {} },
    });
    await tick();
    await b.execute(ok);
    await b.execute(ok);
    await b.execute(fail).catch(() => {});
    await b.flush(); // 3 calls, 1 failure in the shared window
    expect(b.metrics().window).toEqual({ calls: 3, failures: 1, slowCalls: 0 });
    skew.ms = -15_000; // failover to a replica whose clock is 15 s behind (well inside the 60 s window)
    clock.t += 1;
    await b.execute(fail).catch(() => {});
    await b.flush();
    // 4 calls, 2 failures: the rate 0.5 is reached.
    expect(JSON.parse(store.row('tw')?.tracker ?? '{}').buckets.reduce((n: number, x: number[]) => n + (x[1] as number), 0)).toBe(4);
    expect(b.state).toBe('open');
  });
});

describe('consecutive mode without a subscriber (the Lambda recipe): disable() then close() elsewhere', () => {
  it('an instance with calls learns of the close() within a few syncIntervals', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { breakers, clock, store } = fleet(2, { syncInterval: 100 }, { subscribe: false });
    const [a, b] = breakers as [CircuitBreaker, CircuitBreaker];
    await vi.advanceTimersByTimeAsync(0);
    b.disable();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 3; i++) {
      clock.t += 100;
      await a.execute(ok);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(a.state).toBe('disabled'); // A learnt of the disable() by a re-read
    b.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(store.row('api')?.circuit).toMatch(/^\["closed"/);
    const reads = store.calls.read;
    for (let i = 0; i < 50; i++) {
      clock.t += 100;
      await a.execute(i % 2 === 0 ? ok : fail).catch(() => {});
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(store.calls.read).toBeGreaterThan(reads);
    expect(a.state).toBe('closed');
  });
});
