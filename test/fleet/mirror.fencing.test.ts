// Records the store rolled back: a failover that loses an acknowledged write leaves the new primary with an older
// record (version K while instances hold K+1), and the next write reuses the number K+1 with other content. Every
// instance converges to the store's record: at once when a message tells of the new K+1, and otherwise within the
// re-read bound (max(syncInterval, 5000) ms with a subscriber). Messages that cross never make it flap.
import { describe, expect, it } from 'vitest';
import type { SharedRecord } from '../../src/fleet/contract.js';
import { verdict } from '../../src/fleet/mirror.js';
import { CircuitBreaker } from '../../src/index.js';
import { fail, ok, quiet, sharedCircuit } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

const tick = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** A handle whose messages can be muted (a subscriber connection that misses them). */
function mutable(store: MemoryStore) {
  const handle = store.handle();
  const state = { muted: false, messages: 0 };
  const subscribe = handle.subscribe?.bind(handle);
  handle.subscribe = (name: string, listener: (record: SharedRecord) => void) =>
    (subscribe as NonNullable<typeof subscribe>)(name, (record) => {
      state.messages++;
      if (!state.muted) listener(record);
    });
  return { handle, state };
}

/**
 * Four instances of breaker `api`; A forces the circuit open (version K+1, learnt by all but D, which is cut off);
 * then the store loses that write (back to version K, closed) and D, which never saw it, writes another K+1.
 */
async function lossyFailover(syncInterval = 100) {
  const clock = { t: 0 };
  const store = new MemoryStore({ now: () => 1e12 + clock.t });
  const handles = [mutable(store), mutable(store), mutable(store), mutable(store)];
  const options = { name: 'api', failureThreshold: 3, syncInterval, clock: { now: () => clock.t }, logger: quiet() };
  const [a, b, c, d] = handles.map(({ handle }) => new CircuitBreaker({ ...options, store: handle })) as CircuitBreaker[];
  await tick();
  // The record at K: closed, one failure counted.
  await (a as CircuitBreaker).execute(fail).catch(() => {});
  await (a as CircuitBreaker).flush();
  await tick();
  const k = store.row('api');
  const version = store.backend.version;
  // D is cut off from messages: it keeps K.
  (handles[3] as (typeof handles)[number]).state.muted = true;
  (a as CircuitBreaker).forceOpen();
  await tick();
  expect([a, b, c].map((x) => x?.state)).toEqual(['forced-open', 'forced-open', 'forced-open']);
  expect(d?.state).toBe('closed');
  const lost = store.row('api');
  // The failover: the new primary never had K+1, and numbers the next write K+1 again.
  store.backend.rows.set('api', { ...(k as NonNullable<typeof k>) });
  store.backend.version = version;
  (handles[3] as (typeof handles)[number]).state.muted = false;
  return { clock, store, handles, a: a as CircuitBreaker, b: b as CircuitBreaker, c: c as CircuitBreaker, d: d as CircuitBreaker, lost };
}

describe('a failover that loses an acknowledged write', () => {
  it('every instance adopts the other write that reused the version number, when its message arrives', async () => {
    const { store, a, b, c, d, lost } = await lossyFailover();
    // D writes another K+1: a second failure, still closed.
    await d.execute(fail).catch(() => {});
    await d.flush();
    await tick();
    const reused = store.row('api');
    expect(reused?.version).toBe(lost?.version);
    expect(reused?.writer).not.toBe(lost?.writer);
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    // Same version, another writer: the store's record, read back and adopted (not stuck forced-open until K+2).
    expect([a, b, c, d].map((x) => x.state)).toEqual(['closed', 'closed', 'closed', 'closed']);
    expect(a.metrics().window.failures).toBe(2);
  });

  it('an instance that missed the message adopts the store’s record within the re-read bound', async () => {
    const { clock, store, handles, b, d } = await lossyFailover();
    (handles[1] as (typeof handles)[number]).state.muted = true;
    await d.execute(fail).catch(() => {});
    await d.flush();
    await tick();
    expect(b.state).toBe('forced-open');
    const reads = store.calls.read;
    // Calls are rejected locally meanwhile; once the re-read interval is over, one of them reads the store back.
    clock.t += 4_999;
    await b.execute(ok).catch(() => {});
    await tick();
    expect(b.state).toBe('forced-open');
    clock.t += 1;
    await b.execute(ok).catch(() => {});
    await tick();
    expect(store.calls.read).toBe(reads + 1);
    expect(b.state).toBe('closed');
  });

  it('a re-read that finds an older record than the one held adopts it too (the store is the truth)', async () => {
    const { clock, store, handles, a } = await lossyFailover(200);
    for (const h of handles) h.state.muted = true;
    clock.t += 5_000;
    await a.execute(ok).catch(() => {});
    await tick();
    expect(a.state).toBe('closed');
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    // From there on it writes on the store's record: its next failure counts with the one at K.
    await a.execute(fail).catch(() => {});
    await a.flush();
    await tick();
    expect(a.metrics().window.failures).toBe(2);
  });
});

describe('messages that cross', () => {
  it('an older message after a newer answer changes nothing and reads nothing', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const sa = store.handle();
    let deliver: ((record: SharedRecord) => void) | undefined;
    sa.subscribe = (_name, listener) => {
      deliver = listener;
      return () => {};
    };
    const a = new CircuitBreaker({ name: 'api', failureThreshold: 3, store: sa, clock: { now: () => clock.t }, logger: quiet() });
    await tick();
    await a.execute(fail).catch(() => {});
    await a.flush();
    const older = { ...(store.row('api') as NonNullable<ReturnType<typeof store.row>>), now: 1e12 + clock.t };
    a.forceOpen();
    await tick();
    const reads = store.calls.read;
    // The message of the write before arrives after the answer to the newer one.
    deliver?.(older);
    await tick();
    expect(a.state).toBe('forced-open');
    expect(store.calls.read).toBe(reads);
  });

  it('a stray message of the lost write, after the store’s record was adopted, reads once and stays on the store’s', async () => {
    const { store, a, d, lost } = await lossyFailover();
    await d.execute(fail).catch(() => {});
    await d.flush();
    await tick();
    expect(a.state).toBe('closed');
    const reads = store.calls.read;
    // The old primary's message of the lost write arrives late.
    for (const l of store.backend.listeners.get('api') ?? []) l({ ...(lost as NonNullable<typeof lost>), now: 1e12 });
    await tick();
    expect(a.state).toBe('closed');
    expect(d.state).toBe('closed');
    // Each subscribed instance read the store once to learn which K+1 it holds; none flapped to forced-open.
    expect(store.calls.read - reads).toBeLessThanOrEqual(4);
    for (const l of store.backend.listeners.get('api') ?? []) l({ ...(lost as NonNullable<typeof lost>), now: 1e12 });
    await tick();
    expect(a.state).toBe('closed');
  });
});

describe('verdict: which record wins', () => {
  const rec = (version: string, writer: string, now = 10) => ({ version, writer, now, circuit: '', tracker: '', settings: '', at: 0 });
  it('a fresh answer is the store’s record: taken whenever it differs, older or not', () => {
    expect(verdict(rec('7', 'b.1'), rec('7', 'a.1'), true)).toBe('adopt');
    expect(verdict(rec('6', 'b.1'), rec('7', 'a.1'), true)).toBe('adopt');
    expect(verdict(rec('7', 'a.1'), rec('7', 'a.1'), true)).toBe('ignore');
    // A missing record counts only if the store saw it missing after the record held (an answer from before it crossed).
    expect(verdict(rec('', '', 11), rec('7', 'a.1', 9), true)).toBe('adopt');
    expect(verdict(rec('', '', 5), rec('7', 'a.1', 9), true)).toBe('ignore');
  });
  it('a message or a crossed answer: newer wins, older is ignored, the same version by another writer reads the store', () => {
    expect(verdict(rec('8', 'b.1'), rec('7', 'a.1'), false)).toBe('adopt');
    expect(verdict(rec('10', 'b.1'), rec('9', 'a.1'), false)).toBe('adopt');
    expect(verdict(rec('6', 'b.1'), rec('7', 'a.1'), false)).toBe('ignore');
    expect(verdict(rec('7', 'b.1'), rec('7', 'a.1'), false)).toBe('read');
    expect(verdict(rec('7', 'a.1'), rec('7', 'a.1'), false)).toBe('ignore');
    expect(verdict(rec('', '', 5), rec('7', 'a.1', 9), false)).toBe('ignore');
    expect(verdict(rec('', '', 11), rec('7', 'a.1', 9), false)).toBe('adopt');
  });
  it('versions compare as numbers of any length; a writer’s next write is newer; a record seen missing at the same time is not', () => {
    expect(verdict(rec('9', 'b.1'), rec('10', 'a.1'), false)).toBe('ignore');
    expect(verdict(rec('100', 'b.1'), rec('99', 'a.1'), false)).toBe('adopt');
    expect(verdict(rec('8', 'a.2'), rec('7', 'a.1'), false)).toBe('adopt');
    expect(verdict(rec('8', 'a.1'), rec('7', 'a.1'), false)).toBe('adopt');
    expect(verdict(rec('', '', 9), rec('7', 'a.1', 9), true)).toBe('ignore');
  });
});
