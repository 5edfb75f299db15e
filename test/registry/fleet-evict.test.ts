// A registry evicts a fleet breaker mid-probe: the evicted instance frees its slot, the re-created one follows the fleet.
import { describe, expect, it } from 'vitest';
import { BreakerRegistry, CircuitBreaker } from '../../src/index.js';
import { quiet, sharedCircuit, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

describe('registry eviction of a fleet breaker mid-probe', () => {
  it('the evicted instance frees its slot and the re-created one follows the fleet', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const opts = { failureThreshold: 1, recoveryTimeout: 1_000, maxProbeWait: 60_000, clock: { now: () => clock.t }, logger: quiet() };
    const registry = new BreakerRegistry({ defaults: { ...opts, store: store.handle() }, maxSize: 1 });
    const other = new CircuitBreaker({ ...opts, name: 'api', store: store.handle() });
    await tick();
    const a1 = registry.get('api');
    await tick();
    await a1.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    await tick();
    expect(other.state).toBe('open');
    clock.t += 1_000;
    let release!: (v: string) => void;
    const probe = a1.execute(() => new Promise<string>((r) => (release = r)));
    await tick();
    expect(sharedCircuit(store)?.[0]).toBe('half-open');
    registry.get('zzz'); // evicts 'api'
    await tick();
    const a2 = registry.get('api');
    expect(a2).not.toBe(a1);
    await tick();
    // a2 and other are rejected while a1's probe runs
    await expect(a2.execute(() => Promise.resolve('x'))).rejects.toThrow();
    release('ok');
    await probe;
    await tick();
    await tick();
    expect(sharedCircuit(store)?.[0]).toBe('closed');
    expect(other.state).toBe('closed');
    expect(a2.state).toBe('closed');
    await expect(a2.execute(() => Promise.resolve('x'))).resolves.toBe('x');
  });
});
