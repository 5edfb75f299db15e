// breakwater/fetch hooks, Retry-After on a failed probe and a Request's signal, with a fake fetch and a fake clock.
import { describe, expect, it, vi } from 'vitest';
import { createBreakerFetch } from '../../src/fetch/index.js';

const clock = { t: 0, now: () => clock.t, wallNow: () => 1_900_000_000_000 + clock.t };

describe('hooks that throw', () => {
  it('keyOf throwing rejects the call', async () => {
    const bfetch = createBreakerFetch({
      fetch: async () => new Response('ok'),
      keyOf: () => {
        throw new Error('nope');
      },
    });
    await expect(bfetch('http://a.test/')).rejects.toThrow('nope');
  });

  it('isFailureResponse throwing: the response is returned, counted as a failure, and reported', async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const bfetch = createBreakerFetch({
      fetch: async () => new Response('ok'),
      breaker: { failureThreshold: 1, logger },
      isFailureResponse: () => {
        throw new Error('bad rule');
      },
    });
    const res = await bfetch('http://a.test/');
    expect(res.status).toBe(200);
    expect(bfetch.registry.get('http://a.test').state).toBe('open');
    // Reported under the breaker option the wrapper runs it as.
    expect(logger.error.mock.calls[0]?.[0]).toMatchObject({ event: 'breaker.predicateError', option: 'isResultFailure' });
  });
});

describe('Retry-After', () => {
  it('a 503 with Retry-After that fails the half-open probe holds the circuit open as asked', async () => {
    clock.t = 0;
    let status = 500;
    let after: string | undefined;
    const bfetch = createBreakerFetch({
      breaker: { failureThreshold: 1, recoveryTimeout: 1000, clock },
      fetch: async () => new Response(null, { status, headers: after === undefined ? {} : { 'retry-after': after } }),
    });
    await bfetch('http://a.test/');
    const breaker = bfetch.registry.get('http://a.test');
    expect(breaker.state).toBe('open');
    clock.t = 1000;
    status = 503;
    after = '30';
    await bfetch('http://a.test/');
    expect(breaker.metrics().retryAfter).toBe(30_000);
  });
});

describe('a Request and init.signal: null', () => {
  it("init { signal: null } drops the Request's signal, as plain fetch does", async () => {
    const seen: Array<AbortSignal | null | undefined> = [];
    const bfetch = createBreakerFetch({
      fetch: async (input, init) => {
        seen.push(init?.signal ?? (input as Request).signal);
        return new Response('ok');
      },
    });
    const controller = new AbortController();
    controller.abort(new Error('old'));
    const req = new Request('http://a.test/', { signal: controller.signal });
    // Plain fetch: fetch(req, { signal: null }) sends the request (signal removed).
    const plain = new Request(req, { signal: null });
    expect(plain.signal.aborted).toBe(false);
    await expect(bfetch(req, { signal: null })).resolves.toBeInstanceOf(Response);
    expect(seen.map((signal) => signal?.aborted)).toEqual([false]);
  });
});
