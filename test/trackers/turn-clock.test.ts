// A time window on the system clock places untimed successes by the clock reading of the current event-loop turn.
// These tests pin the bound: one turn, never across turns, never with an injected clock.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, timeWindow } from '../../src/index.js';
import { sleep } from '../helpers/real-time.js';

const rateBreaker = (extra = {}) =>
  new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 1_000, window: timeWindow({ duration: 40, buckets: 4 }), ...extra });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('time window on the system clock: successes placed by the reading of the turn', () => {
  it('a success after a long gap is never counted in an expired bucket', async () => {
    const breaker = rateBreaker();
    for (let i = 0; i < 5; i++) await breaker.execute(() => 'ok');
    expect(breaker.metrics().window.calls).toBe(5);
    // More than the window's duration between two turns: the earlier reading must not place the next success.
    await sleep(80);
    await breaker.execute(() => 'ok');
    expect(breaker.metrics().window.calls).toBe(1);
    for (let round = 0; round < 3; round++) {
      // Real time on the system clock, the subject here: more than the window's duration again.
      await sleep(60);
      await Promise.all([breaker.execute(() => 'a'), breaker.execute(async () => 'b')]);
      expect(breaker.metrics().window.calls).toBe(2);
    }
  });

  it('reads the clock once for the untimed successes of one turn, and again in the next turn', async () => {
    // A window no turn outlasts: all 21 successes stay in it however long a busy machine takes between turns.
    const breaker = rateBreaker({ window: timeWindow({ duration: 60_000, buckets: 4 }) });
    await sleep(1);
    const reads = vi.spyOn(performance, 'now');
    await Promise.all(Array.from({ length: 20 }, () => breaker.execute(() => 'ok')));
    expect(reads.mock.calls.length).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    await breaker.execute(() => 'ok');
    expect(reads.mock.calls.length).toBe(2);
    expect(breaker.metrics().window.calls).toBe(21);
  });

  it('failures, timed calls and injected clocks keep the exact clock', async () => {
    const clock = { t: 0, now: () => clock.t };
    const injected = rateBreaker({ clock });
    await injected.execute(() => 'ok');
    clock.t += 100;
    await injected.execute(() => 'ok');
    expect(injected.metrics().window.calls).toBe(1);
    const breaker = rateBreaker();
    await sleep(1);
    const reads = vi.spyOn(performance, 'now');
    await Promise.all(Array.from({ length: 3 }, () => breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {})));
    expect(reads.mock.calls.length).toBe(3);
  });
});
