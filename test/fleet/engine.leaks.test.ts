// Long-run resource growth of the fleet engine on the in-memory store: after many cycles (calls, open → half-open →
// closed, store faults and recoveries, breakers disposed), no timer is left and no listener stays subscribed.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BreakerRegistry, CircuitBreaker } from '../../src/index.js';
import { fail, ok, quiet } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

afterEach(() => {
  vi.useRealTimers();
});

const listening = (store: MemoryStore) => [...store.backend.listeners.values()].reduce((n, set) => n + set.size, 0);

describe('the fleet engine over many cycles', () => {
  it('hundreds of open → half-open → closed cycles with store faults leave no timer behind', { timeout: 120_000 }, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const handles = [store.handle({ timeout: 50 }), store.handle({ timeout: 50 }), store.handle({ timeout: 50 })];
    const options = {
      name: 'api',
      failureThreshold: 3,
      recoveryTimeout: 1_000,
      maxProbeWait: 5_000,
      syncInterval: 50,
      clock: { now: () => clock.t },
      logger: quiet(),
    };
    const breakers = handles.map((s) => new CircuitBreaker({ ...options, store: s }));
    const seen = { opened: 0, storeError: 0, storeRecovered: 0 };
    for (const b of breakers) {
      b.on('stateChange', (e) => {
        if (e.to === 'open') seen.opened++;
      });
      b.on('storeError', () => seen.storeError++);
      b.on('storeRecovered', () => seen.storeRecovered++);
    }
    const settle = async (ms = 0) => {
      clock.t += ms;
      await vi.advanceTimersByTimeAsync(ms);
    };
    await settle();
    for (let cycle = 0; cycle < 300; cycle++) {
      // Closed: a mix of successes and failures, batched.
      for (let i = 0; i < 10; i++) {
        const b = breakers[i % 3] as CircuitBreaker;
        await b.execute(ok).catch(() => {});
      }
      await settle(60);
      // Open the shared circuit.
      for (let i = 0; i < 3; i++) await (breakers[i] as CircuitBreaker).execute(fail).catch(() => {});
      await settle();
      // Rejections while open.
      for (const b of breakers) await b.execute(ok).catch(() => {});
      await settle(1_000);
      const prober = breakers[cycle % 3] as CircuitBreaker;
      const handle = handles[cycle % 3] as MemoryStore;
      if (cycle % 4 === 1) {
        // The store fails while the probe runs: its outcome is orphaned, then freed on recovery.
        let answer: ((v: string) => void) | undefined;
        const probe = prober.execute(() => new Promise<string>((r) => (answer = r)));
        await settle();
        handle.fail = new Error('store down');
        answer?.('ok');
        await probe.catch(() => {});
        await settle();
        handle.fail = undefined;
        await settle(1_000);
        await settle(1_000);
      } else if (cycle % 4 === 3) {
        // The store hangs past its timeout, then answers again.
        handle.hang = true;
        const call = prober.execute(ok).catch(() => {});
        await settle(60);
        await call;
        handle.hang = false;
        await settle(1_000);
        await prober.execute(ok).catch(() => {});
        await settle(1_000);
      } else {
        await prober.execute(ok).catch(() => {});
        await settle();
      }
      // Whatever happened, the fleet closes again (probes on every instance until it does).
      for (let i = 0; i < 5 && breakers.some((b) => b.state !== 'closed'); i++) {
        await settle(6_000);
        for (const b of breakers) await b.execute(ok).catch(() => {});
        await settle();
      }
      await settle(100);
    }
    for (const b of breakers) expect(b.state).toBe('closed');
    // The cycles did what they say: the fleet opened each time, and the store failed and came back.
    expect(seen.opened).toBeGreaterThanOrEqual(300 * 3);
    expect(seen.storeError).toBeGreaterThanOrEqual(150);
    expect(seen.storeRecovered).toBe(seen.storeError);
    await Promise.all(breakers.map((b) => b.flush()));
    await settle(10_000);
    expect(vi.getTimerCount()).toBe(0);
    await Promise.all(breakers.map((b) => b.dispose()));
    await settle(10_000);
    expect(vi.getTimerCount()).toBe(0);
    expect(listening(store)).toBe(0);
  });

  it('a registry over a store that evicts and re-creates keys keeps no listener and no timer of dropped breakers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t, timeout: 50 });
    const registry = new BreakerRegistry({
      defaults: { store, failureThreshold: 2, recoveryTimeout: 1_000, syncInterval: 20, clock: { now: () => clock.t }, logger: quiet() },
      maxSize: 5,
    });
    for (let round = 0; round < 2_000; round++) {
      const key = `k${round % 37}`;
      const b = registry.get(key);
      await b.execute(round % 3 === 0 ? fail : ok).catch(() => {});
      if (round % 101 === 0) store.fail = new Error('down');
      if (round % 101 === 7) store.fail = undefined;
      clock.t += 7;
      await vi.advanceTimersByTimeAsync(7);
    }
    store.fail = undefined;
    expect(listening(store)).toBeLessThanOrEqual(5);
    registry.clear();
    clock.t += 120_000;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(listening(store)).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('breakers dropped while holding orphaned probe slots during an outage: their recovery timers end with the lease', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t, timeout: 50 });
    const registry = new BreakerRegistry({
      defaults: {
        store,
        failureThreshold: 1,
        recoveryTimeout: 1_000,
        maxProbeWait: 10_000,
        clock: { now: () => clock.t },
        logger: quiet(),
      },
      maxSize: 1_000,
    });
    const N = 100;
    for (let i = 0; i < N; i++)
      await registry
        .get(`k${i}`)
        .execute(fail)
        .catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    clock.t += 1_000;
    const answers: Array<(v: string) => void> = [];
    const probes = Array.from({ length: N }, (_, i) => registry.get(`k${i}`).execute(() => new Promise<string>((r) => answers.push(r))));
    await vi.advanceTimersByTimeAsync(0);
    expect(answers.length).toBe(N);
    store.fail = new Error('store down');
    for (const answer of answers) answer('ok');
    await Promise.all(probes);
    await vi.advanceTimersByTimeAsync(0);
    registry.clear();
    await vi.advanceTimersByTimeAsync(0);
    const during = vi.getTimerCount();
    const readsBefore = store.calls.read;
    for (let s = 0; s < 15; s++) {
      clock.t += 1_000;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    // One timer per dropped breaker while its slot's lease lasts (10 s), none after; a read each per second at most.
    expect(during).toBeGreaterThan(0);
    expect(during).toBeLessThanOrEqual(N);
    expect(vi.getTimerCount()).toBe(0);
    expect(store.calls.read - readsBefore).toBeLessThanOrEqual(N * 11);
  });
});
