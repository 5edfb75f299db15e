// How long each write asks the store to keep the record: past the open time and two probe leases, so that an
// abandoned breaker's record expires, never one that still holds a state; a manual state never expires.
import { describe, expect, it, vi } from 'vitest';
import type { CompareAndSetResult, RecordIdentity, SharedWrite } from '../../src/fleet/contract.js';
import { CircuitBreaker } from '../../src/index.js';
import { fail, ok, quiet, sharedCircuit } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

/** A store that keeps the `ttl` of every write it takes. */
class TtlStore extends MemoryStore {
  readonly ttls: number[] = [];
  override async compareAndSet(name: string, expected: RecordIdentity, next: SharedWrite): Promise<CompareAndSetResult> {
    const result = await super.compareAndSet(name, expected, next);
    if (result.ok) this.ttls.push(next.ttl);
    return result;
  }
}

function breakerOn(maxProbeWait: number) {
  const clock = { t: 0 };
  const store = new TtlStore({ now: () => 1e12 + clock.t });
  const breaker = new CircuitBreaker({
    name: 'api',
    failureThreshold: 2,
    recoveryTimeout: 5_000,
    maxProbeWait,
    clock: { now: () => clock.t },
    logger: quiet(),
    store,
  });
  return { clock, store, breaker };
}

describe('the ttl of a write', () => {
  it('while closed: two probe leases, rounded up', async () => {
    const { store, breaker } = breakerOn(1_000.25);
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(store.ttls.at(-1)).toBe(2_001);
  });

  it('when it opens: the time left open plus two probe leases', async () => {
    const { clock, store, breaker } = breakerOn(1_000);
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    clock.t = 300;
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    expect(sharedCircuit(store)?.[0]).toBe('open');
    expect(store.ttls.at(-1)).toBe(5_000 + 2 * 1_000);
  });

  it('after the probe closes the circuit: two probe leases again', async () => {
    const { clock, store, breaker } = breakerOn(1_000);
    for (let i = 0; i < 2; i++) await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    clock.t = 5_000;
    await breaker.execute(ok);
    await breaker.flush();
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(store.ttls.at(-1)).toBe(2_000);
  });

  it('of a manual state: none (0), so that it holds until someone changes it', async () => {
    const { store, breaker } = breakerOn(1_000);
    breaker.forceOpen();
    await vi.waitFor(() => expect(sharedCircuit(store)?.[0]).toBe('forced-open'));
    expect(store.ttls.at(-1)).toBe(0);
    breaker.disable();
    await vi.waitFor(() => expect(sharedCircuit(store)?.[0]).toBe('disabled'));
    expect(store.ttls.at(-1)).toBe(0);
  });
});
