// dispose() and the store-error fallbacks: a breaker that left runs alone.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, countWindow } from '../../src/index.js';
import { fail, ok, quiet, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

describe('a probe granted before dispose() whose write fails after it', () => {
  it("'fail-closed': the disposed breaker, alone now, is not left forced-open for good", async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const sa = store.handle();
    const a = new CircuitBreaker({
      name: 'api',
      store: sa,
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      onStoreError: 'fail-closed',
      clock: { now: () => clock.t },
      logger: quiet(),
    });
    const errors: unknown[] = [];
    a.on('storeError', (e) => errors.push(e.error));
    await tick();
    await a.execute(fail).catch(() => {});
    await tick();
    clock.t += 1_000;
    let answer: ((v: string) => void) | undefined;
    const probe = a.execute(() => new Promise<string>((r) => (answer = r)));
    await tick();
    await a.dispose(); // the breaker leaves the store while its probe runs
    sa.fail = new Error('ECONNRESET'); // then the store goes away
    answer?.('ok');
    await probe;
    await tick();
    await tick();
    // Without a store, a successful probe closes the circuit; the disposed breaker runs alone.
    expect.soft(errors).toEqual([]); // no store fault reported after dispose()
    expect(a.state).toBe('closed');
    clock.t += 3_600_000;
    await expect(a.execute(ok)).resolves.toBe('ok');
  });

  it("'local', successThreshold 2: the probe's success is not applied twice to the lone circuit", async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const sa = store.handle();
    const a = new CircuitBreaker({
      name: 'api',
      store: sa,
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      halfOpenProbes: 2,
      successThreshold: 2,
      clock: { now: () => clock.t },
      logger: quiet(),
    });
    await tick();
    await a.execute(fail).catch(() => {});
    await tick();
    clock.t += 1_000;
    let answer: ((v: string) => void) | undefined;
    const probe = a.execute(() => new Promise<string>((r) => (answer = r)));
    await tick();
    await a.dispose();
    sa.fail = new Error('ECONNRESET');
    answer?.('ok');
    await probe;
    await tick();
    await tick();
    // One success of two needed: a lone breaker is still half-open.
    expect(a.state).toBe('half-open');
  });
});

describe("a fault that starts in dispose()'s last flush", () => {
  it("'fail-closed': the breaker is not left forced-open for good once it runs alone", async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const sa = store.handle();
    const a = new CircuitBreaker({
      name: 'api',
      store: sa,
      failureRateThreshold: 0.5,
      window: countWindow(100),
      minimumCalls: 10,
      onStoreError: 'fail-closed',
      clock: { now: () => clock.t },
      logger: quiet(),
    });
    await tick();
    await a.execute(ok); // batched (rate mode)
    sa.fail = new Error('ECONNRESET');
    await a.dispose(); // the last flush fails
    clock.t += 3_600_000;
    // From then on the breaker runs alone, as without a store: no fallback state that nothing would lift.
    expect(a.state).not.toBe('forced-open');
  });
});

describe('dispose() while the last failure is being written and the store fails', () => {
  for (const policy of ['local', 'fail-closed', 'fail-open'] as const) {
    it(`'${policy}': the breaker, alone now, has counted both failures (failureThreshold 2): open`, async () => {
      const clock = { t: 0 };
      const hold = { on: false, release: undefined as (() => void) | undefined };
      const store = new MemoryStore({
        now: () => 1e12 + clock.t,
        gate: async (op) => {
          if (op === 'cas' && hold.on) await new Promise<void>((r) => (hold.release = r));
        },
      });
      const a = new CircuitBreaker({
        name: 'api',
        store,
        failureThreshold: 2,
        onStoreError: policy,
        clock: { now: () => clock.t },
        logger: quiet(),
      });
      await tick();
      await a.execute(fail).catch(() => {});
      await a.flush();
      expect(store.row('api')?.tracker).toContain('"failures":1');
      hold.on = true;
      await a.execute(fail).catch(() => {});
      await tick();
      expect(hold.release).toBeDefined(); // the write of the second failure is under way
      const disposed = a.dispose();
      store.fail = new Error('ECONNRESET');
      hold.release?.();
      await disposed;
      await tick();
      expect(store.row('api')?.tracker).toContain('"failures":1'); // the store never got it
      expect(a.state).toBe('open');
    });
  }
});

describe('dispose() during a fault whose fallback holds the circuit', () => {
  it("'fail-closed': the breaker takes back the circuit the fallback replaced, as a local transition", async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const a = new CircuitBreaker({
      name: 'api',
      store,
      failureThreshold: 3,
      onStoreError: 'fail-closed',
      clock: { now: () => clock.t },
      logger: quiet(),
    });
    const changes: Array<[string, string, string]> = [];
    a.on('stateChange', (e) => changes.push([e.from, e.to, e.source]));
    await tick();
    store.fail = new Error('ECONNRESET');
    await a.execute(fail).catch(() => {});
    await a.flush();
    expect(a.state).toBe('forced-open');
    await a.dispose();
    expect(a.state).toBe('closed');
    expect(changes).toEqual([
      ['closed', 'forced-open', 'local'],
      ['forced-open', 'closed', 'local'],
    ]);
  });
});
