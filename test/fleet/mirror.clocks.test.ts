// The store's clock and the local one differ (here by 1e12 ms): the shared record's times are the store's, and an
// instance moves them to its own clock when it takes the record. What it reports (since, retryAfter) is right.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, timeWindow } from '../../src/index.js';
import { fail, fleetPair, ok, quiet, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

/** Within a minute of the wall clock: a time moved by the wrong offset is off by 1e12 ms. */
const nearNow = (wall: number) => Math.abs(wall - Date.now()) < 60_000;

describe('times in the shared record, on an instance whose clock is not the store’s', () => {
  it('an instance that learns the circuit opened reports when it opened and when it may close, on its own clock', async () => {
    // The local clock maps to the wall clock at 1e6 + t: every instance reports the same moment, exactly.
    const local = { t: 0 };
    const pair = fleetPair({ recoveryTimeout: 1_000, clock: { now: () => local.t, wallNow: () => 1e6 + local.t } });
    const at = (t: number) => {
      local.t = t;
      pair.clock.t = t;
    };
    const { a, b } = pair;
    await tick();
    at(200);
    await a.execute(fail).catch(() => {});
    await a.flush();
    await tick();
    at(450);
    const seen = b.metrics();
    expect(seen.state).toBe('open');
    expect(seen.since).toBe(1e6 + 200);
    expect(seen.retryAfter).toBe(750);
    expect(a.metrics().since).toBe(1e6 + 200);
  });

  it('an instance that finds no record starts closed, now on its own clock', async () => {
    const clock = { t: 5_000 };
    const store = new MemoryStore({ now: () => 1e12 + clock.t });
    const breaker = new CircuitBreaker({ name: 'api', failureThreshold: 2, clock: { now: () => clock.t }, logger: quiet(), store });
    await tick();
    expect(store.calls.read).toBeGreaterThan(0);
    const m = breaker.metrics();
    expect(m.state).toBe('closed');
    expect(nearNow(m.since)).toBe(true);
  });
});

/**
 * Breaker "api" (threshold 1) alone on an in-memory store whose clock runs 1e12 ahead. `messageDelay`: its change
 * messages are learnt that many ms after the store wrote them. `late(op, ms)`: from then on, every answer of `op`
 * reaches the instance `ms` after the store read its clock (the offset it measures is `ms` too low).
 */
function lateStore(recoveryTimeout: number, messageDelay = 0) {
  const clock = { t: 0 };
  const store = new MemoryStore({ now: () => 1e12 + clock.t });
  const handle = store.handle();
  const subscribe = handle.subscribe?.bind(handle) as NonNullable<MemoryStore['subscribe']>;
  handle.subscribe = (name, listener) =>
    subscribe(name, (record) => {
      clock.t += messageDelay;
      listener(record);
    });
  const late = (op: 'read' | 'compareAndSet', ms: number) => {
    const call = (handle[op] as (...args: unknown[]) => Promise<unknown>).bind(handle);
    (handle as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
      const answer = await call(...args);
      clock.t += ms;
      return answer;
    };
  };
  const breaker = new CircuitBreaker({
    name: 'api',
    failureThreshold: 1,
    recoveryTimeout,
    clock: { now: () => clock.t },
    logger: quiet(),
    store: handle,
  });
  /** At 100 ms a call fails, which opens the circuit; resolves once the store answered. */
  const failAt100 = async () => {
    await tick();
    clock.t = 100;
    await breaker.execute(fail).catch(() => {});
    await breaker.flush();
    await tick();
  };
  return { clock, breaker, late, failAt100 };
}

describe('a record learnt by message, then answered with a newer reading of the store’s clock', () => {
  it('the instance that opened the circuit goes half-open when its estimate of the store’s clock says so, and probes', async () => {
    const { clock, breaker, late, failAt100 } = lateStore(1_000);
    // The store publishes the change before it answers; the answer comes 5 ms after the store read its clock.
    late('compareAndSet', 5);
    await failAt100();
    expect(breaker.state).toBe('open');
    // Open until 1100 on the store's clock, which the instance now estimates 5 ms behind the local one + 1e12.
    clock.t = 1_100;
    expect(breaker.state).toBe('open');
    expect(breaker.metrics().retryAfter).toBe(5);
    clock.t = 1_105;
    expect(breaker.state).toBe('half-open');
    let ran = false;
    await breaker.execute(async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(breaker.state).toBe('closed');
  });

  it('every such answer moves the circuit again: a re-read that finds the same record with a later reading', async () => {
    const { clock, breaker, late, failAt100 } = lateStore(60_000);
    late('compareAndSet', 5);
    await failAt100();
    // Open until 1e12 + 60,100 on the store's clock, estimated at local + 1e12 − 5.
    expect(breaker.metrics().retryAfter).toBe(60_105 - clock.t);
    late('read', 10);
    // A refused call long after the last answer (5 s with a subscriber) makes the instance read the store again: the
    // same record, answered 10 ms late: the store's clock is now estimated at local + 1e12 − 10.
    clock.t = 6_000;
    await expect(breaker.execute(ok)).rejects.toThrow(/open/);
    for (let i = 0; i < 5 && clock.t === 6_000; i++) await tick();
    expect(clock.t).toBe(6_010);
    expect(breaker.metrics().retryAfter).toBe(60_110 - 6_010);
  });
});

describe('the shared tracker and trial, moved to an instance’s clock', () => {
  it('a time window learnt from the store keeps its buckets at the times they were written, on the local clock', async () => {
    const options = {
      failureThreshold: undefined,
      failureRateThreshold: 1,
      minimumCalls: 100,
      window: timeWindow({ duration: 1_000, buckets: 10 }),
    };
    const { a, clock, store } = fleetPair(options);
    await tick();
    // Two failures in the first 100 ms slice, written by A.
    await a.execute(fail).catch(() => {});
    await a.execute(fail).catch(() => {});
    await a.flush();
    // An instance that joins 150 ms later, in the next slice, reads them.
    clock.t = 150;
    const c = new CircuitBreaker({ name: 'api', clock: { now: () => clock.t }, logger: quiet(), store: store.handle(), ...options });
    await tick();
    expect(c.metrics().window.calls).toBe(2);
    // The window holds the last ten slices: at 999 ms the first slice is still in it, at 1,000 ms it is not.
    clock.t = 999;
    expect(c.metrics().window.calls).toBe(2);
    clock.t = 1_000;
    expect(c.metrics().window.calls).toBe(0);
  });

  it('a half-open trial with no probe in flight has no deadline on any instance', async () => {
    // The local clock maps to the wall clock at 1e6 + t, on every instance.
    const local = { t: 0 };
    const pair = fleetPair({ successThreshold: 2, clock: { now: () => local.t, wallNow: () => 1e6 + local.t } });
    const { a, b } = pair;
    const at = (t: number) => {
      local.t = t;
      pair.clock.t = t;
    };
    await tick();
    await a.execute(fail).catch(() => {});
    await a.flush();
    await tick();
    at(1_000);
    // A's first probe succeeds: the trial goes on, half-open, with no probe in flight and so no deadline.
    await expect(a.execute(ok)).resolves.toBe('ok');
    await a.flush();
    await tick();
    // The trial that began at 1,000 ms, on both instances: not one that expired and began again.
    expect(b.state).toBe('half-open');
    expect(b.metrics().since).toBe(1e6 + 1_000);
    expect(a.metrics().since).toBe(1e6 + 1_000);
    at(1_000_000);
    expect(b.state).toBe('half-open');
    expect(b.metrics().since).toBe(1e6 + 1_000);
    expect(b.metrics().retryAfter).toBe(0);
  });
});

describe('a new reading of the store’s clock that puts it earlier', () => {
  it('does not take a circuit that went half-open back to open, and a refused probe says how long until the store agrees', async () => {
    // The change message is learnt 3 ms after the store wrote it (on the offset measured before); the answer comes
    // with it, measuring the offset 3 ms lower: by that reading the circuit is still open.
    const { clock, breaker, failAt100 } = lateStore(2, 3);
    const changes: Array<[string, string]> = [];
    breaker.on('stateChange', (e) => changes.push([e.from, e.to]));
    await failAt100();
    expect(clock.t).toBe(103);
    expect(breaker.state).toBe('half-open');
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
    ]);
    // The store, by the instance's estimate of its clock, is 1 ms short of the end of the open time.
    const refused = await breaker.execute(ok).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect((refused as CircuitOpenError).retryAfter).toBe(2);
    clock.t = 105;
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
  });
});
