// Fleet mode under races and odd records: late answers, faults declared by another operation, records from
// the store's future, manual controls racing with writes, dispose() during a write, very long versions.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { initialCircuit } from '../../src/core/rules.js';
import { encodeCircuit } from '../../src/fleet/codec.js';
import { CircuitBreaker, CircuitOpenError, countWindow } from '../../src/index.js';
import { deferred, fail, ok, quiet, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('a late answer after the fault was declared', () => {
  /** Reads are held until the test releases them; compare-and-sets fail at once (the connection broke). */
  function halfBroken(onStoreError: 'fail-closed' | 'fail-open' | 'local', failureThreshold = 3) {
    const clock = { t: 0 };
    const gate = { broken: false, read: undefined as ReturnType<typeof deferred> | undefined };
    const store = new MemoryStore({
      now: () => clock.t,
      subscribe: false,
      gate: async (op) => {
        if (!gate.broken) return;
        if (op === 'read') {
          gate.read = deferred();
          await gate.read.promise;
        } else throw new Error('ECONNRESET');
      },
    });
    const errors: unknown[] = [];
    const b = new CircuitBreaker({
      name: 'late',
      store,
      failureThreshold,
      syncInterval: 100,
      clock: { now: () => clock.t },
      onStoreError,
      logger: quiet(),
    });
    b.on('storeError', (e) => errors.push(e.error));
    return { clock, gate, b, errors };
  }

  it("a re-read that answers after a write failed does not override 'fail-closed'", async () => {
    const { clock, gate, b, errors } = halfBroken('fail-closed');
    await tick();
    gate.broken = true;
    clock.t += 100;
    await b.execute(ok); // a success due for the re-read: the read is now in flight (held)
    await b.execute(fail).catch(() => {}); // its write fails: fault, fallback 'fail-closed'
    await tick();
    expect(errors).toHaveLength(1);
    expect(b.state).toBe('forced-open');
    gate.read?.resolve(); // the read started before the fault answers now
    await tick();
    // Still in the fault (every write fails): 'fail-closed' must hold.
    expect(b.state).toBe('forced-open');
    await expect(b.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it("a re-read that answers after a write failed keeps what 'local' counted during the fault", async () => {
    const { clock, gate, b } = halfBroken('local', 2);
    await tick();
    gate.broken = true;
    clock.t += 100;
    await b.execute(ok); // re-read in flight (held)
    await b.execute(fail).catch(() => {}); // write fails: fault; this failure is counted locally (1 of 2)
    await tick();
    expect(b.metrics().window.failures).toBe(1);
    gate.read?.resolve();
    await tick();
    await b.execute(fail).catch(() => {}); // the second failure in a row, during the fault
    expect(b.state).toBe('open');
  });
});

describe('outcomes in flight when another operation declares the fault', () => {
  it("are handed to the local circuit ('local')", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t, timeout: 50, subscribe: false });
    const b = new CircuitBreaker({
      name: 'lost',
      store,
      failureThreshold: 1,
      syncInterval: 100,
      clock: { now: () => clock.t },
      logger: quiet(),
    });
    const errors: unknown[] = [];
    b.on('storeError', (e) => errors.push(e.error));
    await vi.advanceTimersByTimeAsync(0);
    store.hang = true; // Redis stops answering
    clock.t += 100;
    await b.execute(ok); // a due re-read starts (and will time out first)
    await b.execute(fail).catch(() => {}); // its write starts just after (and times out second)
    await vi.advanceTimersByTimeAsync(50);
    expect(errors).toHaveLength(1);
    // 'local': "outcomes waiting to be written are applied locally" (docs/fleet.md); failureThreshold 1.
    expect(b.state).toBe('open');
  });
});

describe('a record whose "at" is ahead of the store clock', () => {
  it('does not block the writes: failures are counted and the circuit opens', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1_700_000_000_000 + clock.t });
    // Another writer (a hand-edited key, or a Redis whose clock stepped back) left a record stamped in the future.
    store.backend.version = 5000;
    store.backend.rows.set('future', {
      version: '5000',
      circuit: encodeCircuit(initialCircuit(1_700_000_000_000)),
      tracker: '{"kind":"consecutive","failures":0}',
      settings: '',
      at: 1_700_000_000_000 + 3_600_000,
      writer: 'other',
    });
    const logger = quiet();
    const b = new CircuitBreaker({ name: 'future', store, failureThreshold: 1, clock: { now: () => clock.t }, logger });
    await tick();
    await b.execute(fail).catch(() => {});
    await b.flush();
    await b.execute(fail).catch(() => {});
    await b.flush();
    expect(logger.error).not.toHaveBeenCalled();
    expect(b.state).toBe('open');
  });

  it('a store clock that steps back 10 s does not stop the writes', async () => {
    const clock = { t: 0 };
    const skew = { ms: 0 };
    const store = new MemoryStore({ now: () => 1_700_000_000_000 + clock.t + skew.ms });
    const b = new CircuitBreaker({ name: 'step', store, failureThreshold: 2, clock: { now: () => clock.t }, logger: quiet() });
    await tick();
    await b.execute(fail).catch(() => {});
    await b.flush(); // written at store time T
    skew.ms = -10_000; // NTP step / failover to a replica whose clock is 10 s behind
    clock.t += 1;
    await b.execute(fail).catch(() => {});
    await b.flush();
    expect(b.state).toBe('open');
  });
});

describe('initialState together with a store', () => {
  it("is refused: the shared state is the breaker's state", () => {
    const store = new MemoryStore({ now: () => 0 });
    const snapshot = new CircuitBreaker({ name: 'snap' }).toJSON();
    expect(() => new CircuitBreaker({ name: 'snap', store, initialState: snapshot })).toThrow(
      /"initialState" does not apply with a "store"/,
    );
    expect(() => new CircuitBreaker({ name: 'snap', store, initialState: null })).not.toThrow();
  });
});

describe('a manual control racing with a flush in flight', () => {
  it('forceOpen() holds locally while an older write comes back', async () => {
    const clock = { t: 0 };
    const held: ReturnType<typeof deferred>[] = [];
    const gate = { hold: false };
    const store = new MemoryStore({
      now: () => clock.t,
      gate: async (op) => {
        if (gate.hold && op === 'cas') {
          const d = deferred();
          held.push(d);
          await d.promise;
        }
      },
    });
    const b = new CircuitBreaker({
      name: 'race',
      store,
      failureThreshold: undefined,
      failureRateThreshold: 0.5,
      minimumCalls: 10,
      window: countWindow(10),
      clock: { now: () => clock.t },
      logger: quiet(),
    });
    const seen: string[] = [];
    b.on('stateChange', (e) => seen.push(`${e.from}>${e.to}`));
    await tick();
    gate.hold = true;
    await b.execute(ok);
    const flushed = b.flush(); // the success's write is in flight
    await tick();
    b.forceOpen(); // applied locally at once; its write waits behind the flush
    await tick();
    expect(b.state).toBe('forced-open');
    held[0]?.resolve(); // the flush's write lands
    await flushed;
    const passed = await b.execute(ok).then(
      () => true,
      () => false,
    );
    for (const d of held.slice(1)) d.resolve();
    gate.hold = false;
    await tick();
    await tick();
    expect(passed).toBe(false);
    expect(seen).toEqual(['closed>forced-open']);
  });
});

describe('dispose() while outcomes are being written', () => {
  it('writes them to the store and to the breaker that now runs alone', async () => {
    const clock = { t: 0 };
    const gate = { hold: false, d: undefined as ReturnType<typeof deferred> | undefined };
    const store = new MemoryStore({
      now: () => clock.t,
      gate: async (op) => {
        if (gate.hold && op === 'cas') {
          gate.d = deferred();
          await gate.d.promise;
        }
      },
    });
    const b = new CircuitBreaker({ name: 'bye', store, failureThreshold: 1, clock: { now: () => clock.t }, logger: quiet() });
    await tick();
    gate.hold = true;
    await b.execute(fail).catch(() => {}); // the failure's write is in flight
    const left = b.dispose();
    gate.d?.resolve();
    await left;
    expect(store.row('bye')?.circuit).toMatch(/^\["open"/); // the fleet opened on it
    expect(b.state).toBe('open');
  });
});

describe('a store of your own with long versions', () => {
  it('versions above 2^53 (nanosecond stamps, say) are compared as decimal text of any length', async () => {
    const { sharedStore } = await import('../../src/fleet/index.js');
    const clock = { t: 0 };
    const inner = new MemoryStore({ now: () => clock.t, subscribe: false });
    // Versions as 19-digit strings: increasing both as text and as integers, and opaque to the breaker.
    const BASE = 1_700_000_000_000_000_000n;
    const outer = (v: string) => (v === '' ? '' : String(BASE + BigInt(v)));
    const inward = (v: string) => (v === '' ? '' : String(BigInt(v) - BASE));
    const store = sharedStore({
      read: async (name) => {
        const r = await inner.read(name);
        return { ...r, version: outer(r.version) };
      },
      compareAndSet: async (name, expected, next) => {
        const r = await inner.compareAndSet(name, { ...expected, version: inward(expected.version) }, next);
        return r.ok ? { ...r, version: outer(r.version) } : { ok: false, current: { ...r.current, version: outer(r.current.version) } };
      },
    });
    const b = new CircuitBreaker({ name: 'big', store, failureThreshold: 2, clock: { now: () => clock.t }, logger: quiet() });
    await tick();
    await b.execute(fail).catch(() => {});
    await b.flush(); // version BASE+1001
    await b.execute(fail).catch(() => {});
    await b.flush(); // version BASE+1002: opens the shared circuit
    expect(inner.row('big')?.circuit).toMatch(/^\["open"/);
    expect(b.state).toBe('open');
  });
});

describe('manual states and key expiry', () => {
  it('writes forced-open and disabled records with ttl 0 (kept without expiry), and others with an expiry', async () => {
    const { sharedStore } = await import('../../src/fleet/index.js');
    const inner = new MemoryStore({ now: () => 0, subscribe: false });
    const ttls: [string, number][] = [];
    const store = sharedStore({
      read: (name) => inner.read(name),
      compareAndSet: (name, expected, next) => {
        ttls.push([JSON.parse(next.circuit)[0] as string, next.ttl]);
        return inner.compareAndSet(name, expected, next);
      },
    });
    const b = new CircuitBreaker({ name: 'manual', store, failureThreshold: 1, clock: { now: () => 0 }, logger: quiet() });
    await tick();
    b.forceOpen();
    await tick();
    b.disable();
    await tick();
    b.close();
    await tick();
    await b.execute(fail).catch(() => {});
    await b.flush();
    expect(ttls.map(([state, ttl]) => `${state}:${ttl === 0 ? 'kept' : 'expires'}`)).toEqual([
      'forced-open:kept',
      'disabled:kept',
      'closed:expires',
      'open:expires',
    ]);
  });
});
