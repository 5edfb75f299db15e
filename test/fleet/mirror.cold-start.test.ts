// An instance that starts after the shared record has moved past generation 0 (a cold start).
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/index.js';
import { fail, ok, quiet, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

describe('cold start against a record whose generation is not 0', () => {
  it('failures recorded before the first read answers still count in the shared circuit', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const options = { name: 'api', failureThreshold: 3, recoveryTimeout: 100, clock: { now: () => clock.t }, logger: quiet() };
    // An old instance opened the circuit once, and a probe closed it again: the shared generation is now 3.
    const old = new CircuitBreaker({ ...options, store: store.handle() });
    await tick();
    for (let i = 0; i < 3; i++) await old.execute(fail).catch(() => {});
    await old.flush();
    clock.t += 100;
    await old.execute(ok);
    await old.flush();
    expect(old.state).toBe('closed');
    await old.dispose();

    // A new container starts (a Lambda cold start) and its first calls fail before its first read answers.
    const fresh = new CircuitBreaker({ ...options, store: store.handle() });
    for (let i = 0; i < 3; i++) await fresh.execute(fail).catch(() => {});
    await fresh.flush();
    await tick();
    // A lone breaker would be open after 3 failures: the fleet counts them too, though admitted under generation 0.
    expect(fresh.state).toBe('open');
    expect(JSON.parse(store.row('api')?.circuit ?? 'null')[0]).toBe('open');
  });
});
