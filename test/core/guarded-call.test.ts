/** The guarded call: the signal handed to `fn` aborts on a timeout or the caller's abort, and on nothing else. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, TimeoutError } from '../../src/index.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the signal handed to fn', () => {
  it('stays unaborted when fn resolves or throws', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5, timeout: 1_000 });
    const seen: AbortSignal[] = [];
    await breaker.execute(({ signal }) => {
      seen.push(signal as AbortSignal);
      return 'ok';
    });
    await breaker
      .execute(({ signal }) => {
        seen.push(signal as AbortSignal);
        return Promise.reject(new Error('down'));
      })
      .catch(() => undefined);
    await breaker
      .execute(({ signal }) => {
        seen.push(signal as AbortSignal);
        throw new Error('sync');
      })
      .catch(() => undefined);
    expect(seen.map((s) => s.aborted)).toEqual([false, false, false]);
  });

  it('aborts with the TimeoutError on a timeout, and with the caller’s reason on the caller’s abort', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5, timeout: 50 });
    let timedSignal: AbortSignal | undefined;
    const timed = breaker
      .execute(({ signal }) => {
        timedSignal = signal;
        return new Promise(() => undefined);
      })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(50);
    const error = await timed;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(timedSignal?.reason).toBe(error);

    const caller = new AbortController();
    let callerSignal: AbortSignal | undefined;
    const aborted = breaker
      .execute(
        ({ signal }) => {
          callerSignal = signal;
          return new Promise(() => undefined);
        },
        { signal: caller.signal },
      )
      .catch((e: unknown) => e);
    const reason = new Error('user left');
    caller.abort(reason);
    expect(await aborted).toBe(reason);
    expect(callerSignal?.reason).toBe(reason);
  });

  it('with a caller’s signal and no timeout, a slow call is never cut off', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5 });
    const caller = new AbortController();
    const done = breaker.execute(() => new Promise((resolve) => setTimeout(() => resolve('late'), 10_000)), { signal: caller.signal });
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(done).resolves.toBe('late');
    expect(breaker.metrics()).toMatchObject({ successes: 1, timeouts: 0 });
  });
});
