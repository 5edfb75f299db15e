// A probe admitted on the local circuit during a store fault, settled after the store is back.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, CircuitOpenError } from '../../src/index.js';
import { fail, fleetPair, ok, openAndHoldProbe, quiet, sharedCircuit, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

describe('a local probe from a store fault, settled after recovery', () => {
  it('does not free a fleet-wide probe slot it never held (halfOpenProbes stays the fleet-wide bound)', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const [sa, sb, sc] = [store.handle(), store.handle(), store.handle()];
    const options = {
      name: 'api',
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      halfOpenProbes: 1,
      successThreshold: 2,
      maxProbeWait: 60_000,
      clock: { now: () => clock.t },
      logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    };
    const a = new CircuitBreaker({ ...options, store: sa });
    const b = new CircuitBreaker({ ...options, store: sb });
    const c = new CircuitBreaker({ ...options, store: sc });
    await tick();

    // A loses Redis for a while (a partition); the upstream is down too.
    sa.fail = new Error('ECONNRESET');
    await a.execute(fail).catch(() => {});
    await tick();
    expect(a.state).toBe('open'); // local fallback
    await b.execute(fail).catch(() => {});
    await tick();
    expect(c.state).toBe('open'); // the fleet's circuit, opened by B

    clock.t += 1_000;
    // A probes its local circuit (it still cannot reach the store); B takes the fleet's only probe slot.
    let probesStarted = 0;
    const held: Array<(v: string) => void> = [];
    const slowProbe = () => {
      probesStarted++;
      return new Promise<string>((r) => held.push(r));
    };
    const localProbe = a.execute(slowProbe);
    const fleetProbe = b.execute(slowProbe);
    await tick();
    expect(probesStarted).toBe(2);
    await expect(c.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError); // the fleet's one slot is taken

    // A reaches the store again and adopts the fleet's state; then its local probe answers.
    sa.fail = undefined;
    clock.t += 1_000;
    await a.execute(ok).catch(() => {});
    await tick();
    held[0]?.('ok');
    await localProbe;
    await tick();
    await tick();

    // B's probe is still in flight, so the fleet's one slot is still taken: C must be rejected.
    const before = probesStarted;
    const third = c.execute(slowProbe).catch(() => {});
    await tick();
    await tick();
    const extra = probesStarted - before;
    for (const release of held) release('ok');
    await Promise.all([fleetProbe, third]);
    expect(extra).toBe(0); // A's local probe did not free B's slot: C ran no second probe fleet-wide
  });
});

describe('probe slots of the shared trial', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a probe that ends after dispose() still writes its outcome: the fleet closes', async () => {
    const { clock, store, a, b } = fleetPair();
    const { probe, release } = await openAndHoldProbe({ clock, a, b }, tick);
    expect(sharedCircuit(store)?.[0]).toBe('half-open');
    await a.dispose();
    release('ok');
    await expect(probe).resolves.toBe('ok');
    await tick();
    await tick();
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(a.state).toBe('closed'); // and the breaker, alone now, settled it too
    await expect(b.execute(ok)).resolves.toBe('ok');
  });

  it('a probe that ends during a store fault writes its outcome when the store answers, read back by a timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { clock, store, sa, a, b } = fleetPair();
    const { probe, release } = await openAndHoldProbe({ clock, a, b }, () => vi.advanceTimersByTimeAsync(0));
    expect(sharedCircuit(store)?.[0]).toBe('half-open');
    sa.fail = new Error('ECONNRESET');
    await a.execute(ok).catch(() => {}); // the store fails under A (a rejection or a re-read finds out)
    await a.flush();
    release('ok');
    await probe;
    await vi.advanceTimersByTimeAsync(0);
    expect(sharedCircuit(store)?.[0]).toBe('half-open'); // the slot is A's, and the store does not answer A
    sa.fail = undefined;
    // No call on A: the timer armed for the orphaned slot reads the store back once a retry is allowed.
    for (let i = 0; i < 3 && sharedCircuit(store)?.[0] !== 'closed'; i++) {
      clock.t += 1_000;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('after the shared key is lost, the calls admitted before an instance noticed still count', async () => {
    const { clock, store, a } = fleetPair({ failureThreshold: 2, recoveryTimeout: 100 });
    await tick();
    for (let i = 0; i < 2; i++) await a.execute(fail).catch(() => {});
    await a.flush();
    clock.t += 100;
    await a.execute(ok);
    await a.flush();
    expect(a.state).toBe('closed');
    store.backend.rows.delete('api'); // expired, or lost with the server's data
    for (let i = 0; i < 2; i++) {
      await a.execute(fail).catch(() => {});
      await a.flush();
    }
    expect(a.state).toBe('open');
    expect(sharedCircuit(store)?.[0]).toBe('open');
  });
});

describe('after dispose()', () => {
  it('a probe outcome that cannot be written reports nothing, and is written once the store answers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { clock, store, sa, a, b, logger } = fleetPair({ onStoreError: 'fail-closed' });
    const storeEvents: unknown[] = [];
    a.on('storeError', (e) => storeEvents.push(e));
    a.on('storeRecovered', (e) => storeEvents.push(e));
    const { probe, release } = await openAndHoldProbe({ clock, a, b }, () => vi.advanceTimersByTimeAsync(0));
    await a.dispose();
    sa.fail = new Error('ECONNRESET');
    release('ok');
    await expect(probe).resolves.toBe('ok');
    await vi.advanceTimersByTimeAsync(0);
    expect(a.state).toBe('closed'); // alone now: its own probe closed it, and no fallback state was applied
    expect(sharedCircuit(store)?.[0]).toBe('half-open');
    sa.fail = undefined;
    for (let i = 0; i < 3 && sharedCircuit(store)?.[0] !== 'closed'; i++) {
      clock.t += 1_000;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(storeEvents).toEqual([]);
    expect(logger.error).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('an instance that sees only successes', () => {
  it('notices a store outage within one re-read interval while it has calls (consecutive mode, no subscriber)', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t, subscribe: false });
    const breaker = new CircuitBreaker({ name: 'api', store, clock: { now: () => clock.t }, logger: quiet() });
    const errors = vi.fn();
    breaker.on('storeError', errors);
    await tick();
    store.fail = new Error('ECONNREFUSED');
    for (let i = 0; i < 5; i++) {
      clock.t += 100; // syncInterval: one re-read at most
      await breaker.execute(ok);
      await tick();
    }
    expect(errors).toHaveBeenCalledTimes(1);
  });
});
