// docs/fleet.md and README fleet blocks, stood up with the in-memory store of the tests (no Redis).
import { describe, expect, it, vi } from 'vitest';
import type { CompareAndSetResult, RecordIdentity, SharedRecord, SharedWrite } from '../../src/fleet/contract.js';
import { SharedStore, sharedStore } from '../../src/fleet/index.js';
import { CircuitBreaker, CircuitOpenError } from '../../src/index.js';
import { MemoryStore } from '../helpers/memory-store.js';

const fail = () => Promise.reject(new Error('down'));
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('fleet: one breaker shared by every instance (README:181-197, fleet.md:8-28)', () => {
  it('failures on two instances add up; the other instance sees open (source remote); flush/dispose', async () => {
    let t = 1_000_000;
    const now = () => t;
    const a = new MemoryStore({ now });
    const b = a.handle();
    const opts = {
      name: 'quotes-api',
      failureThreshold: 5,
      recoveryTimeout: 30_000,
      maxProbeWait: 10_000,
      syncInterval: 100,
      onStoreError: 'local' as const,
      clock: { now },
    };
    const A = new CircuitBreaker({ ...opts, store: a });
    const B = new CircuitBreaker({ ...opts, store: b });
    await settle();
    const remote: string[] = [];
    B.on('stateChange', ({ to, source }) => void remote.push(`${to}:${source}`));
    for (let i = 0; i < 3; i++) await A.execute(fail).catch(() => {});
    await settle();
    for (let i = 0; i < 2; i++) await B.execute(fail).catch(() => {});
    await settle();
    expect(A.state).toBe('open');
    expect(B.state).toBe('open');
    await expect(A.execute(() => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    t += 30_000;
    expect(A.state).toBe('half-open');
    expect(B.state).toBe('half-open');
    // one probe fleet-wide
    let release!: () => void;
    const probe = A.execute(() => new Promise<void>((r) => (release = r)));
    await settle();
    await expect(B.execute(() => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    release();
    await probe;
    await settle();
    expect(B.state).toBe('closed');
    expect(remote).toContain('closed:remote');
    await A.flush();
    await A.dispose();
    await B.dispose();
  });

  it('onStoreError fail-closed / fail-open; storeError once per outage; storeRecovered after', async () => {
    let t = 1_000_000;
    const now = () => t;
    const store = new MemoryStore({ now });
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const B = new CircuitBreaker({ name: 'x', store, onStoreError: 'fail-closed', syncInterval: 100, failureThreshold: 1, clock: { now } });
    await settle();
    const events: string[] = [];
    B.on('storeError', ({ fallback }) => void events.push(`error:${fallback}`));
    B.on('storeRecovered', () => void events.push('recovered'));
    store.fail = new Error('redis down');
    await B.execute(fail).catch(() => {});
    await settle();
    await B.execute(() => 1).catch(() => {});
    await settle();
    expect(B.state).toBe('forced-open');
    await expect(B.execute(() => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(events).toEqual(['error:fail-closed']);
    store.fail = undefined;
    t += 1_000;
    await B.execute(() => 1).catch(() => {});
    await settle();
    expect(events).toEqual(['error:fail-closed', 'recovered']);
    await B.dispose();
    err.mockRestore();
  });
});

describe('fleet.md "Stores of your own" (fleet.md:306-320)', () => {
  it('a subclass written as shown carries a fleet', async () => {
    const rows = new Map<string, { version: string } & SharedWrite>();
    let v = 0;
    class MyStore extends SharedStore {
      readonly timeout = 250;
      async read(name: string): Promise<SharedRecord> {
        const r = rows.get(name);
        return r ? { ...r, now: Date.now() } : { version: '', now: Date.now(), circuit: '', tracker: '', settings: '', at: 0, writer: '' };
      }
      async compareAndSet(name: string, expected: RecordIdentity, next: SharedWrite): Promise<CompareAndSetResult> {
        const cur = await this.read(name);
        const same = cur.version === expected.version && (cur.version === '' || cur.writer === expected.writer);
        if (!same || next.at > cur.now) return { ok: false, current: cur };
        const version = String(++v);
        rows.set(name, { ...next, version });
        return { ok: true, version, now: Date.now() };
      }
      subscribe(_name: string, _listener: (record: SharedRecord) => void) {
        return () => {};
      }
    }
    const s = new MyStore();
    const A = new CircuitBreaker({ name: 'mine', store: s, failureThreshold: 2 });
    const B = new CircuitBreaker({ name: 'mine', store: s, failureThreshold: 2 });
    await A.execute(fail).catch(() => {});
    await settle();
    await B.execute(fail).catch(() => {});
    await settle();
    expect(A.state === 'open' || B.state === 'open').toBe(true);
    expect(B.state).toBe('open');
    await A.dispose();
    await B.dispose();
  });
  it('sharedStore(operations) makes a store; a store without join() is refused with a TypeError naming both ways', () => {
    const ops = {
      read: async () => ({ version: '', now: Date.now(), circuit: '', tracker: '', settings: '', at: 0, writer: '' }),
      compareAndSet: async () => ({ ok: true as const, version: '1', now: Date.now() }),
    };
    expect(sharedStore(ops)).toBeInstanceOf(SharedStore);
    let e: unknown;
    try {
      new CircuitBreaker({ name: 'n', store: ops as never });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(TypeError);
    expect(String(e)).toMatch(/SharedStore/);
    expect(String(e)).toMatch(/sharedStore\(/);
  });
  it('a store needs a name; not with initialState', () => {
    const s = new MemoryStore();
    expect(() => new CircuitBreaker({ store: s })).toThrow(TypeError);
    const snap = new CircuitBreaker().toJSON();
    expect(() => new CircuitBreaker({ name: 'n', store: s, initialState: snap })).toThrow();
  });
});
