// The closed-over-closed alias (#aliasFrom → #aliasTo): applied to the outcomes it is meant for only.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/index.js';
import { fail, ok, quiet, sharedCircuit } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

const tick = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('alias after a store fault', () => {
  it('a stale alias from a fault recovery does not swallow failures of a later closed period with the same number', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const sa = store.handle();
    const sb = store.handle();
    const options = { name: 'api', failureThreshold: 2, recoveryTimeout: 100, clock: { now: () => clock.t }, logger: quiet() };
    const a = new CircuitBreaker({ ...options, store: sa });
    const b = new CircuitBreaker({ ...options, store: sb });
    await tick();
    // The shared record exists: closed, generation 0.
    await a.execute(fail).catch(() => {});
    await a.execute(ok);
    await a.flush();
    await tick();
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(sharedCircuit(store)?.[8]).toBe(0);

    // B loses the store; alone, its local circuit opens (gen 1), half-opens (gen 2) and closes (gen 3).
    sb.fail = new Error('ECONNRESET');
    await b.execute(fail).catch(() => {});
    await tick();
    await b.execute(fail).catch(() => {});
    await tick();
    expect(b.state).toBe('open');
    clock.t += 100;
    await b.execute(ok);
    await tick();
    expect(b.state).toBe('closed');

    // The store is back: B adopts the shared closed generation 0 (closed over closed: alias 3 → 0).
    sb.fail = undefined;
    clock.t += 2_000;
    await b.execute(ok);
    await tick();
    expect(sharedCircuit(store)?.[8]).toBe(0);

    // The fleet goes through one open / half-open / closed cycle: shared generation 3, closed.
    await a.execute(fail).catch(() => {});
    await a.execute(fail).catch(() => {});
    await a.flush();
    await tick();
    expect(b.state).toBe('open');
    clock.t += 100;
    await a.execute(ok);
    await a.flush();
    await tick();
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(sharedCircuit(store)?.[8]).toBe(3);
    expect(b.state).toBe('closed');

    // Now B's calls fail twice, admitted under the current shared generation 3: the fleet must open.
    await b.execute(fail).catch(() => {});
    await b.execute(fail).catch(() => {});
    await b.flush();
    await tick();
    expect(sharedCircuit(store)?.[0]).toBe('open');
  });
});

describe('alias when an instance missed a whole cycle', () => {
  it('a failure of a call admitted before the circuit opened and closed again is not counted in the new closed period', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const sa = store.handle();
    const sb = store.handle({ subscribe: false }); // B re-reads instead of listening (a Lambda)
    const options = {
      name: 'api',
      failureThreshold: 1,
      recoveryTimeout: 100,
      syncInterval: 100,
      clock: { now: () => clock.t },
      logger: quiet(),
    };
    const a = new CircuitBreaker({ ...options, store: sa });
    // The record exists, closed at generation 0.
    a.close();
    await tick();
    expect(sharedCircuit(store)?.[8]).toBe(0);
    const b = new CircuitBreaker({ ...options, store: sb });
    await tick();

    // B starts a slow call under the shared closed generation 0.
    let rejectSlow!: (e: Error) => void;
    const slow = b.execute(() => new Promise<string>((_, r) => (rejectSlow = r))).catch(() => {});
    // The fleet opens (A's failure), probes and closes again: generation 3, closed, nothing counted.
    await a.execute(fail).catch(() => {});
    await tick();
    clock.t += 100;
    await a.execute(ok);
    await a.flush();
    await tick();
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(sharedCircuit(store)?.[8]).toBe(3);

    // B's old call fails now. A lone breaker ignores it (admitted under generation 0, the circuit moved on).
    rejectSlow(new Error('late failure'));
    await slow;
    await b.flush();
    await tick();
    expect(sharedCircuit(store)?.[0]).toBe('closed');
  });
});
