// A compare-and-set checks the identity of the record it replaces (version and writer), not its version alone: after a
// failover that lost an acknowledged write (K+1 by A), the store may hold another K+1 (by D); an instance that still
// holds A's K+1 and writes from it must be refused and compute again from D's, never replace a record it never saw.
import { describe, expect, it } from 'vitest';
import type { SharedRecord } from '../../src/fleet/contract.js';
import { CircuitBreaker } from '../../src/index.js';
import { fail, quiet, sharedCircuit } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

const tick = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** A handle whose messages can be muted (a subscriber connection that misses them). */
function mutable(store: MemoryStore) {
  const handle = store.handle();
  const state = { muted: false };
  const subscribe = handle.subscribe?.bind(handle);
  handle.subscribe = (name: string, listener: (record: SharedRecord) => void) =>
    (subscribe as NonNullable<typeof subscribe>)(name, (record) => {
      if (!state.muted) listener(record);
    });
  return { handle, state };
}

describe('a write from a record the store lost', () => {
  it('is refused when the store holds another record under the same version, and computed again from it', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const [ha, hb, hd] = [mutable(store), mutable(store), mutable(store)];
    const options = { name: 'api', failureThreshold: 3, syncInterval: 100, clock: { now: () => clock.t }, logger: quiet() };
    const [a, b, d] = [ha, hb, hd].map(({ handle }) => new CircuitBreaker({ ...options, store: handle })) as [
      CircuitBreaker,
      CircuitBreaker,
      CircuitBreaker,
    ];
    await tick();
    // K: closed, one failure.
    await a.execute(fail).catch(() => {});
    await a.flush();
    await tick();
    const k = store.row('api');
    const version = store.backend.version;
    // K+1 by A: two failures; B learns it, D (cut off) does not.
    hd.state.muted = true;
    await a.execute(fail).catch(() => {});
    await a.flush();
    await tick();
    const lost = store.row('api');
    expect(b.metrics().window.failures).toBe(2);
    // The failover loses K+1. D disables the breaker: the new primary writes it as K+1 again. B misses the message.
    store.backend.rows.set('api', { ...(k as NonNullable<typeof k>) });
    store.backend.version = version;
    hb.state.muted = true;
    hd.state.muted = false;
    d.disable();
    await tick();
    const disabled = store.row('api');
    expect(disabled?.version).toBe(lost?.version);
    expect(disabled?.writer).not.toBe(lost?.writer);
    // B, still on A's K+1 (two failures), fails once more: from A's record that would open the circuit. The store
    // refuses it (another K+1), and B computes again from D's record: disabled, which a failure does not change.
    await b.execute(fail).catch(() => {});
    await b.flush();
    await tick();
    expect(sharedCircuit(store)?.[0]).toBe('disabled');
    expect(store.row('api')?.writer).toBe(disabled?.writer);
    expect(b.state).toBe('disabled');
  });
});
