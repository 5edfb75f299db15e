// README.md blocks run as written (the quick start's breaker against real fetch and an HTTP API, with a clock; the
// whole program runs verbatim in quick-start.test.ts), with the prose around them checked.
import { readFileSync } from 'node:fs';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, CircuitOpenError, TimeoutError } from '../../src/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const url = 'https://quotes.example/q';
let status = 200;
let hits = 0;
const api = setupServer(
  http.get(url, () => {
    hits++;
    return HttpResponse.json(status === 200 ? { price: 1 } : { error: status }, { status });
  }),
);
beforeAll(() => api.listen({ onUnhandledRequest: 'error' }));
afterAll(() => api.close());

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

// The quick start's breaker and call, with a clock added and its fetch replaceable.
function quickStart(
  clock: { now: () => number },
  fetch: (u: string, init: { signal?: AbortSignal }) => Promise<Response> = globalThis.fetch,
) {
  class HttpError extends Error {
    constructor(readonly status: number) {
      super(`HTTP ${status}`);
    }
  }
  const lines: string[] = [];
  const breaker = new CircuitBreaker({
    name: 'quotes-api',
    failureThreshold: 3, // consecutive counted failures that open the circuit
    recoveryTimeout: 1_000, // ms open before a probe is allowed
    timeout: 5_000, // per-call limit: aborts the signal, rejects with TimeoutError
    isFailure: (error) => !(error instanceof HttpError && error.status < 500), // 4xx answers stay neutral
    clock,
  });
  breaker.on('stateChange', ({ from, to, reason }) => lines.push(`  [quotes-api] ${from} → ${to} (${reason})`));
  const call = async () => {
    try {
      const quote = await breaker.execute(async ({ signal }) => {
        const res = await fetch(url, { signal });
        if (!res.ok) throw new HttpError(res.status); // fetch resolves on every status: judge the answer
        return res.json();
      });
      return { quote };
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        return { open: error.retryAfter, called: false };
      }
      return { error };
    }
  };
  return { breaker, lines, call };
}

describe('README quick start', () => {
  it('is the code tested here: answers are judged, not only thrown errors', () => {
    expect(readme).toContain('if (!res.ok) throw new HttpError(res.status);');
    expect(readme).toContain('isFailure: (error) => !(error instanceof HttpError && error.status < 500)');
    expect(readme).toContain('failureThreshold: 3, ');
    expect(readme).toContain('recoveryTimeout: 1_000, ');
    expect(readme).toContain('timeout: 5_000, ');
  });

  it('3 answers of 503 open, 404s stay neutral, open rejects with retryAfter, 1 s later half-open, a probe closes', async () => {
    let t = 0;
    hits = 0;
    status = 404;
    const { breaker, lines, call } = quickStart({ now: () => t });
    for (let i = 0; i < 10; i++) expect((await call()).error).toMatchObject({ status: 404 });
    expect(breaker.state).toBe('closed');
    status = 503;
    for (let i = 0; i < 2; i++) await call();
    expect(breaker.state).toBe('closed');
    await call();
    expect(breaker.state).toBe('open');
    expect(lines).toEqual(['  [quotes-api] closed → open (failure-threshold)']);
    const before = hits;
    t += 400;
    const r = await call();
    expect(hits).toBe(before); // fn was not called
    expect(r.open).toBe(600); // ms until a call may get through
    t += 600;
    expect(breaker.state).toBe('half-open');
    status = 200;
    expect(await call()).toEqual({ quote: { price: 1 } });
    expect(breaker.state).toBe('closed');
    expect(lines).toEqual([
      '  [quotes-api] closed → open (failure-threshold)',
      '  [quotes-api] open → half-open (recovery-timeout)',
      '  [quotes-api] half-open → closed (probe-succeeded)',
    ]);
  });

  it('timeout: aborts the signal and rejects with TimeoutError (counted as a failure)', async () => {
    vi.useFakeTimers();
    let seen: AbortSignal | undefined;
    const fetch = (_u: string, { signal }: { signal?: AbortSignal }) => {
      seen = signal;
      return new Promise<never>(() => {});
    };
    const { breaker, call } = quickStart({ now: () => 0 }, fetch);
    const p = call();
    await vi.advanceTimersByTimeAsync(5_000);
    const r = await p;
    expect(r.error).toBeInstanceOf(TimeoutError);
    expect(seen?.aborted).toBe(true);
    expect(breaker.metrics().timeouts).toBe(1);
  });
});

describe('README "What it promises"', () => {
  it('CircuitOpenError: an Error with retryAfter and breaker, stack reads "CircuitOpenError: <message>"', async () => {
    const t = 0;
    const b = new CircuitBreaker({ name: 'x', failureThreshold: 1, recoveryTimeout: 1000, clock: { now: () => t } });
    await b.execute(() => Promise.reject(new Error('boom'))).catch(() => {});
    const e = await b.execute(() => 1).catch((x) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(CircuitOpenError);
    expect(e.breaker).toBe('x');
    expect(e.retryAfter).toBe(1000);
    expect(e.stack).toBe(`CircuitOpenError: ${e.message}`);
  });

  it('an aborted signal rejects with its reason without calling fn, in every state', async () => {
    const t = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, clock: { now: () => t } });
    const reason = new Error('gone');
    const fn = vi.fn(() => 1);
    await expect(b.execute(fn, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await b.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    expect(b.state).toBe('open');
    await expect(b.execute(fn, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    b.forceOpen();
    await expect(b.execute(fn, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
  });

  it('any function: sync value, undefined, sync throw counts, non-Error throw rethrown as is', async () => {
    const b = new CircuitBreaker({ failureThreshold: 2, clock: { now: () => 0 } });
    expect(await b.execute(() => 3)).toBe(3);
    expect(await b.execute(() => undefined)).toBeUndefined();
    await expect(
      b.execute(() => {
        throw 'str';
      }),
    ).rejects.toBe('str');
    await expect(
      b.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(b.state).toBe('open');
  });

  it('manual control (README:171-173)', async () => {
    const b = new CircuitBreaker({ failureThreshold: 2, clock: { now: () => 0 } });
    await b.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    b.forceOpen();
    const e = await b.execute(() => 1).catch((x) => x);
    expect(e).toBeInstanceOf(CircuitOpenError);
    expect(e.retryAfter).toBe(Infinity);
    b.close();
    expect(b.state).toBe('closed');
    // close() forgot the recorded failure: one more failure does not open
    await b.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    expect(b.state).toBe('closed');
    b.disable();
    for (let i = 0; i < 5; i++) await b.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    expect(b.state).toBe('disabled');
    expect(b.metrics().failures).toBeGreaterThan(0); // still counted in metrics
    b.reset();
    expect(b.state).toBe('closed');
    expect(b.metrics().failures).toBe(0);
  });
});
