// One listener on a caller's signal, however many calls follow it (Node warns of a leak past ten).
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { followAbort, unfollowAbort } from '../../src/async/abort-followers.js';
import { CircuitBreaker } from '../../src/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('followAbort', () => {
  it('adds one listener for many followers, calls each once on abort, in order, and leaves none', () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const followers = [0, 1, 2].map((i) => () => seen.push(i));
    for (const f of followers) followAbort(controller.signal, f);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(seen).toEqual([0, 1, 2]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('the listener goes with the last follower; an unknown or repeated unfollow changes nothing', () => {
    const controller = new AbortController();
    const a = vi.fn();
    const b = vi.fn();
    followAbort(controller.signal, a);
    followAbort(controller.signal, b);
    unfollowAbort(controller.signal, a);
    unfollowAbort(controller.signal, a);
    unfollowAbort(new AbortController().signal, b);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    unfollowAbort(controller.signal, b);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
  });

  it('once the signal aborts, every follower is told, even one that another unfollows during the abort', () => {
    const controller = new AbortController();
    const later = vi.fn();
    followAbort(controller.signal, () => unfollowAbort(controller.signal, later));
    followAbort(controller.signal, later);
    controller.abort();
    // Once the signal has aborted, every follower is told: the fan-out no longer tracks unfollows.
    expect(later).toHaveBeenCalledTimes(1);
  });
});

describe('calls through a breaker sharing one caller signal', () => {
  it('twenty calls in flight: one listener, no leak warning; an abort rejects each with its reason, neutral', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const shared = new AbortController();
      const calls = Array.from({ length: 20 }, () => breaker.execute(() => new Promise(() => {}), { signal: shared.signal }));
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
      const reason = new Error('shutting down');
      shared.abort(reason);
      for (const call of calls) await expect(call).rejects.toBe(reason);
      expect(breaker.metrics()).toMatchObject({ neutral: 20, failures: 0 });
      expect(breaker.state).toBe('closed');
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('calls that settle leave no listener on the shared signal, and a later abort reaches only the calls in flight', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const shared = new AbortController();
    for (let i = 0; i < 15; i++) await breaker.execute(() => i, { signal: shared.signal });
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    const inFlight = breaker.execute(() => new Promise(() => {}), { signal: shared.signal });
    shared.abort('stop');
    await expect(inFlight).rejects.toBe('stop');
    expect(breaker.metrics()).toMatchObject({ successes: 15, neutral: 1 });
  });
});
