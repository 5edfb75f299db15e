// Orphaned probe slots of the shared trial under store faults: freed once, and only when they are this instance's.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker } from '../../src/index.js';
import { deferred, fail, fleetPair, ok, openAndHoldProbe, quiet, sharedCircuit } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('a probe outcome whose write timed out but landed', () => {
  it('is not written a second time on recovery (successThreshold 2 needs two successes)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { t: 0 };
    // A's compare-and-sets can be held past the store timeout, then let through (a slow server).
    const hold = { on: false, gate: undefined as ReturnType<typeof deferred> | undefined };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const sa = store.handle({
      timeout: 50,
      gate: async (op) => {
        if (hold.on && op === 'cas') {
          hold.gate = deferred();
          await hold.gate.promise;
        }
      },
    });
    const sb = store.handle({ timeout: 50 });
    const options = {
      name: 'api',
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      halfOpenProbes: 2,
      successThreshold: 2,
      maxProbeWait: 60_000,
      clock: { now: () => clock.t },
      logger: quiet(),
    };
    const a = new CircuitBreaker({ ...options, store: sa });
    const b = new CircuitBreaker({ ...options, store: sb });
    await vi.advanceTimersByTimeAsync(0);
    await a.execute(fail).catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(b.state).toBe('open');
    clock.t += 1_000;

    // A and B each take one of the two probe slots.
    let answerA: ((v: string) => void) | undefined;
    let answerB: ((v: string) => void) | undefined;
    const probeA = a.execute(() => new Promise<string>((r) => (answerA = r)));
    await vi.advanceTimersByTimeAsync(0);
    const probeB = b.execute(() => new Promise<string>((r) => (answerB = r)));
    await vi.advanceTimersByTimeAsync(0);
    expect(sharedCircuit(store)?.slice(0, 1)).toEqual(['half-open']);
    expect(sharedCircuit(store)?.[5]).toBe(2); // two probes in flight

    // A's probe succeeds; its write is slow: A times out (a fault) and the write lands afterwards.
    hold.on = true;
    answerA?.('ok');
    await probeA;
    await vi.advanceTimersByTimeAsync(60); // the store timeout fires: A falls back
    hold.on = false;
    hold.gate?.resolve(); // the write lands anyway
    await vi.advanceTimersByTimeAsync(0);
    expect(sharedCircuit(store)?.[5]).toBe(1); // A's slot freed, one success counted
    expect(sharedCircuit(store)?.[6]).toBe(1);

    // A reads the store back (its recovery timer) and releases its "orphaned" slot again.
    for (let i = 0; i < 3; i++) {
      clock.t += 1_000;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    // B's probe is still in flight and only one probe succeeded: the trial is not over.
    expect(sharedCircuit(store)?.[0]).toBe('half-open');
    answerB?.('ok');
    await probeB;
  });
});

describe('orphaned slots and dispose()', () => {
  it('a probe that ended during a fault, disposed before the store answers, still frees its slot', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { clock, store, sa, a, b } = fleetPair();
    const { probe, release } = await openAndHoldProbe({ clock, a, b }, () => vi.advanceTimersByTimeAsync(0));
    expect(sharedCircuit(store)?.[0]).toBe('half-open');
    sa.fail = new Error('ECONNRESET');
    await a.execute(ok).catch(() => {});
    await a.flush();
    release('ok');
    await probe; // ends during the fault: its slot is orphaned
    await vi.advanceTimersByTimeAsync(0);
    expect(sharedCircuit(store)?.[0]).toBe('half-open');
    await a.dispose(); // the app shuts the breaker down (a registry eviction, say)
    sa.fail = undefined;
    for (let i = 0; i < 5; i++) {
      clock.t += 1_000;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    // docs/fleet.md: "A probe that holds a slot frees it whatever happens to its instance meanwhile".
    expect(sharedCircuit(store)?.[0]).toBe('closed');
  });

  it('a granted probe that ends after dispose() during a fault still frees its slot once the store answers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { clock, store, sa, a, b } = fleetPair();
    const { probe, release } = await openAndHoldProbe({ clock, a, b }, () => vi.advanceTimersByTimeAsync(0));
    sa.fail = new Error('ECONNRESET');
    await a.execute(ok).catch(() => {});
    await a.flush();
    await a.dispose();
    release('ok');
    await probe;
    sa.fail = undefined;
    for (let i = 0; i < 5; i++) {
      clock.t += 1_000;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(sharedCircuit(store)?.[0]).toBe('closed');
  });
});

describe('the recovery timer', () => {
  it('is gone once a call has read the store back (an idle breaker holds no timer)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { clock, store, sa, a, b } = fleetPair({ syncInterval: 10_000 });
    const errs: unknown[] = [];
    a.on('storeError', () => errs.push(['err', clock.t]));
    a.on('storeRecovered', () => errs.push(['rec', clock.t]));
    await vi.advanceTimersByTimeAsync(0);
    await a.execute(fail).catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    clock.t += 1_000;
    let answer: ((v: string) => void) | undefined;
    const probe = a.execute(() => new Promise<string>((r) => (answer = r)));
    await vi.advanceTimersByTimeAsync(0);
    sa.fail = new Error('ECONNRESET');
    await a.execute(ok).catch(() => {});
    await a.flush();
    answer?.('ok');
    await probe; // orphaned: the recovery timer is armed for the retry delay (syncInterval: 10 s)
    await vi.advanceTimersByTimeAsync(0);
    expect(errs.length).toBe(1);
    sa.fail = undefined;
    clock.t += 10_000;
    await a.execute(ok).catch(() => {}); // a call reads the store back and frees the slot
    await vi.advanceTimersByTimeAsync(0);
    await a.flush();
    expect(JSON.parse(store.row('api')?.circuit ?? 'null')[0]).toBe('closed');
    expect(a.state).toBe('closed');
    expect(b.state).toBe('closed');
    // No fault, no orphan, nothing batched: no timer should be left.
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('a slot request that failed without reaching the store', () => {
  it("frees no other instance's slot on recovery (halfOpenProbes stays the fleet-wide bound)", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const [sa, sb, sc] = [store.handle(), store.handle(), store.handle()];
    const options = {
      name: 'api',
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      halfOpenProbes: 2,
      successThreshold: 3,
      maxProbeWait: 60_000,
      onStoreError: 'fail-closed' as const,
      clock: { now: () => clock.t },
      logger: quiet(),
    };
    const a = new CircuitBreaker({ ...options, store: sa });
    const b = new CircuitBreaker({ ...options, store: sb });
    const c = new CircuitBreaker({ ...options, store: sc });
    await vi.advanceTimersByTimeAsync(0);
    await a.execute(fail).catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(b.state).toBe('open');
    clock.t += 1_000;

    // B takes a slot and keeps it (a slow probe); A takes the other one, and its probe succeeds.
    const held: Array<(v: string) => void> = [];
    let started = 0;
    const slow = () => {
      started++;
      return new Promise<string>((r) => held.push(r));
    };
    const probeB = b.execute(slow);
    await vi.advanceTimersByTimeAsync(0);
    await a.execute(ok);
    await vi.advanceTimersByTimeAsync(0);
    expect(sharedCircuit(store)?.[5]).toBe(1); // B's slot
    expect(store.row('api')?.writer).toBeDefined();

    // A asks for a slot again; the request is refused at once (the connection broke): it never reached the store.
    sa.fail = new Error('ECONNREFUSED');
    await a.execute(ok).catch(() => {}); // fail-closed: rejected
    await vi.advanceTimersByTimeAsync(0);
    expect(a.state).toBe('forced-open');
    sa.fail = undefined;
    for (let i = 0; i < 3; i++) {
      clock.t += 1_000;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(a.state).toBe('half-open'); // A read the store back

    // B's probe is still in flight: its slot must still be counted.
    expect.soft(sharedCircuit(store)?.[5]).toBe(1);
    const before = started;
    const third = c.execute(slow).catch(() => {});
    const fourth = c.execute(slow).catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    const extra = started - before;
    for (const r of held) r('ok');
    await Promise.all([probeB, third, fourth]);
    expect(extra).toBeLessThanOrEqual(1); // at most halfOpenProbes (2) in flight with B's
  });
});

describe('the recovery timer and a slow read', () => {
  it('keeps trying while a read from before the fault is still under way', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { t: 0 };
    const hold = { reads: false, release: undefined as (() => void) | undefined };
    const store = new MemoryStore({ now: () => 1e12 + clock.t, subscribe: false });
    const sa = store.handle({
      subscribe: false,
      timeout: 5_000,
      gate: async (op) => {
        if (hold.reads && op === 'read') await new Promise<void>((resolve) => (hold.release = resolve));
      },
    });
    const common = {
      name: 'api',
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      maxProbeWait: 60_000,
      syncInterval: 100,
      clock: { now: () => clock.t },
      logger: quiet(),
    };
    const a = new CircuitBreaker({ ...common, store: sa });
    await vi.advanceTimersByTimeAsync(0);
    await a.execute(fail).catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    clock.t += 1_000;
    let answer: ((v: string) => void) | undefined;
    const probe = a.execute(() => new Promise<string>((r) => (answer = r)));
    await vi.advanceTimersByTimeAsync(0);
    expect(sharedCircuit(store)?.[0]).toBe('half-open');
    // A re-read starts and hangs (a slow store); then the probe's write fails: a fault, and a slot to free.
    hold.reads = true;
    clock.t += 200;
    await a.execute(ok).catch(() => {}); // rejected (the slot is taken); due for a re-read
    sa.fail = new Error('ECONNRESET');
    answer?.('ok');
    await probe;
    await vi.advanceTimersByTimeAsync(0);
    expect(sharedCircuit(store)?.[0]).toBe('half-open');
    // The store is back, but the old read is still under way when the timer first fires.
    sa.fail = undefined;
    hold.reads = false;
    clock.t += 1_000;
    await vi.advanceTimersByTimeAsync(1_000);
    hold.release?.();
    for (let i = 0; i < 4 && sharedCircuit(store)?.[0] !== 'closed'; i++) {
      clock.t += 1_000;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });
});
