// The breaker against the guide where the model and robustness tests cannot see: retryAfter with a free probe slot,
// time-window snapshots carried through wall time, oversized snapshots.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, countWindow, parseSnapshot, timeWindow } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.js';

const failing = () => Promise.reject(new Error('down'));
afterEach(() => vi.useRealTimers());

describe('metrics().retryAfter', () => {
  it('is 0 in half-open while a probe slot is free (a call may pass now)', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, halfOpenProbes: 2, clock });
    await b.execute(failing).catch(() => undefined);
    clock.advance(1000);
    let release!: () => void;
    const probe = b.execute(() => new Promise<void>((r) => (release = r)));
    // One of two slots taken: the next call is let through right now.
    expect(b.metrics().retryAfter).toBe(0);
    const second = b.execute(() => 'passes');
    await expect(second).resolves.toBe('passes');
    release();
    await probe;
  });
});

describe('time window snapshot round trip', () => {
  it('keeps every bucket of the window (same clocks; a fractional monotonic time, as performance.now gives)', async () => {
    // Slices of 100 ms; the monotonic clock has a fraction, the wall clock is Date.now-sized.
    const clock = new ManualClock(1000.3, 1_800_000_000_000);
    const opts = { failureRateThreshold: 0.9, minimumCalls: 100, window: timeWindow({ duration: 1000, buckets: 10 }), clock };
    const a = new CircuitBreaker(opts);
    for (let i = 0; i < 10; i++) {
      if (i > 0) clock.advance(100);
      await a.execute(() => 1); // one call in each of the window's 10 slices
    }
    const before = a.metrics().window;
    expect(before.calls).toBe(10);
    // Restored at the same instant, with the very same clock.
    const b = new CircuitBreaker({ ...opts, initialState: parseSnapshot(JSON.stringify(a)) });
    expect(b.metrics().window).toEqual(before);
    // Each slice keeps its own calls: they leave the window one by one, not two at a time.
    const slices = (br: CircuitBreaker) => (br.toJSON().tracker as unknown as { buckets: number[][] }).buckets.map((x) => x[1]);
    expect(slices(b)).toEqual(slices(a));
  });
});

describe('hostile snapshots', () => {
  it('refuses a time tracker with far more buckets than any window holds', () => {
    const buckets = Array.from({ length: 200_000 }, () => [1, 1, 0, 0]);
    const snapshot = {
      version: 1,
      name: null,
      state: 'closed',
      reason: 'initial',
      since: 1,
      openUntil: null,
      opens: 0,
      tracker: { kind: 'time', buckets },
    };
    expect(
      () =>
        new CircuitBreaker({ failureRateThreshold: 0.5, window: timeWindow({ duration: 1000 }), initialState: parseSnapshot(snapshot) }),
    ).toThrow(/initialState\.tracker\.buckets" must be at most 1000 buckets/);
    // At the limit, accepted.
    const most = { ...snapshot, tracker: { kind: 'time', buckets: buckets.slice(0, 1000) } };
    expect(
      () => new CircuitBreaker({ failureRateThreshold: 0.5, window: timeWindow({ duration: 1000 }), initialState: parseSnapshot(most) }),
    ).not.toThrow();
  });

  it('refuses a count tracker longer than any window', () => {
    const snapshot = (outcomes: string) => ({
      version: 1,
      name: null,
      state: 'closed',
      reason: 'initial',
      since: 1,
      openUntil: null,
      opens: 0,
      tracker: { kind: 'count', outcomes },
    });
    const make = (outcomes: string) => () =>
      new CircuitBreaker({ failureRateThreshold: 0.5, window: countWindow(10), initialState: parseSnapshot(snapshot(outcomes)) });
    expect(make('0'.repeat(1_000_001))).toThrow(RangeError);
    expect(make('0'.repeat(1_000_000))).not.toThrow();
  });
});

describe('time window snapshot in another process', () => {
  it("keeps the newest bucket when the other host's wall clock is a few ms behind", async () => {
    const a = new ManualClock(10_000, 1_800_000_000_000);
    const opts = { failureRateThreshold: 0.5, minimumCalls: 1, window: timeWindow({ duration: 1000, buckets: 10 }) };
    const source = new CircuitBreaker({ ...opts, clock: a });
    a.advance(5); // 5 ms into the current 100 ms slice
    await source.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    expect(source.state).toBe('open');
    expect(source.metrics().window.calls).toBe(1);
    // Another host: monotonic time near zero, wall clock 20 ms behind the first one's.
    const b = new ManualClock(95, a.wallNow() - 20 - 95);
    const restored = new CircuitBreaker({ ...opts, clock: b, initialState: parseSnapshot(JSON.stringify(source)) });
    expect(restored.metrics().window).toEqual({ calls: 1, failures: 1, slowCalls: 0 });
  });
});
