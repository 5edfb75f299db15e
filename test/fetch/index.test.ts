import { delay, HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerFetch, isFailureStatus, parseRetryAfter } from '../../src/fetch/index.js';
import { CircuitOpenError, TimeoutError } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.js';

let hits = 0;
const server = setupServer(
  http.get('http://api.test/ok', () => {
    hits++;
    return HttpResponse.json({ ok: true });
  }),
  http.get('http://api.test/boom', () => {
    hits++;
    return new HttpResponse('boom', { status: 500 });
  }),
  http.get('http://api.test/busy', ({ request }) => {
    hits++;
    return new HttpResponse(null, { status: 429, headers: { 'Retry-After': new URL(request.url).searchParams.get('after') ?? '' } });
  }),
  http.get('http://api.test/down', () => {
    hits++;
    return new HttpResponse(null, { status: 503, headers: { 'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT' } });
  }),
  http.get('http://api.test/missing', () => {
    hits++;
    return new HttpResponse(null, { status: 404 });
  }),
  http.get('http://api.test/drop', () => {
    hits++;
    return HttpResponse.error();
  }),
  http.get('http://api.test/slow', async () => {
    hits++;
    await delay(2_000);
    return HttpResponse.json({ late: true });
  }),
  http.get('http://api.test/later', ({ request }) => {
    hits++;
    const at = Number(new URL(request.url).searchParams.get('at'));
    return new HttpResponse(null, { status: 503, headers: { 'Retry-After': new Date(at).toUTCString() } });
  }),
  http.get('http://other.test/ok', () => HttpResponse.json({ other: true })),
);

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  hits = 0;
  server.resetHandlers();
});
afterAll(() => server.close());

const clock = { t: 0, now: () => clock.t };

describe('breakwater/fetch', () => {
  it('returns responses unchanged, failing ones included, and opens on 5xx', async () => {
    clock.t = 0;
    const fetch = createBreakerFetch({ breaker: { failureThreshold: 2, recoveryTimeout: 1000, clock } });
    const ok = await fetch('http://api.test/ok');
    expect(await ok.json()).toEqual({ ok: true });
    const first = await fetch('http://api.test/boom');
    expect(first.status).toBe(500);
    expect(await first.text()).toBe('boom');
    await fetch('http://api.test/boom');
    const breaker = fetch.registry.get('http://api.test');
    expect(breaker.state).toBe('open');
    hits = 0;
    await expect(fetch('http://api.test/ok')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(hits).toBe(0);
    // Another origin has its own breaker.
    expect((await fetch(new URL('http://other.test/ok'))).status).toBe(200);
    clock.t = 1000;
    expect((await fetch(new Request('http://api.test/ok'))).status).toBe(200);
    expect(breaker.state).toBe('closed');
    expect([...fetch.registry.keys()].sort()).toEqual(['http://api.test', 'http://other.test']);
  });

  it('counts network errors as failures and leaves 4xx (except 429) alone', async () => {
    const fetch = createBreakerFetch({ breaker: { failureThreshold: 2 } });
    for (let i = 0; i < 3; i++) expect((await fetch('http://api.test/missing')).status).toBe(404);
    expect(fetch.registry.get('http://api.test').state).toBe('closed');
    await expect(fetch('http://api.test/drop')).rejects.toThrow(TypeError);
    await expect(fetch('http://api.test/drop')).rejects.toThrow(TypeError);
    expect(fetch.registry.get('http://api.test').state).toBe('open');
  });

  it('keeps the circuit open as long as Retry-After on a 429 asks, capped by maxRetryAfter', async () => {
    clock.t = 0;
    const fetch = createBreakerFetch({ breaker: { failureThreshold: 1, recoveryTimeout: 1000, clock }, maxRetryAfter: 60_000 });
    expect((await fetch('http://api.test/busy?after=30')).status).toBe(429);
    const breaker = fetch.registry.get('http://api.test');
    expect(breaker.metrics().retryAfter).toBe(30_000);
    clock.t = 29_999;
    expect(breaker.state).toBe('open');
    clock.t = 30_000;
    expect(breaker.state).toBe('half-open');
    await fetch('http://api.test/busy?after=3600');
    expect(breaker.metrics().retryAfter).toBe(60_000);
    clock.t += 60_000;
    // No usable header: the recovery delay applies.
    await fetch('http://api.test/busy?after=soon');
    expect(breaker.metrics().retryAfter).toBe(1000);
  });

  it('reads an HTTP-date Retry-After on a 503 (a date in the past means probe at once)', async () => {
    clock.t = 0;
    const fetch = createBreakerFetch({ breaker: { failureThreshold: 1, recoveryTimeout: 5000, clock } });
    expect((await fetch('http://api.test/down')).status).toBe(503);
    expect(fetch.registry.get('http://api.test').state).toBe('half-open');
  });

  it('times out slow requests as failures, aborting the request', async () => {
    const fetch = createBreakerFetch({ breaker: { failureThreshold: 1, timeout: 20 } });
    await expect(fetch('http://api.test/slow')).rejects.toBeInstanceOf(TimeoutError);
    expect(fetch.registry.get('http://api.test').state).toBe('open');
  });

  it("passes the caller's AbortSignal through; aborting is neutral", async () => {
    const fetch = createBreakerFetch({ breaker: { failureThreshold: 1 } });
    const controller = new AbortController();
    const pending = fetch('http://api.test/slow', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user left')), 10);
    await expect(pending).rejects.toThrow('user left');
    const fromRequest = new AbortController();
    const viaRequest = fetch(new Request('http://api.test/slow', { signal: fromRequest.signal }));
    setTimeout(() => fromRequest.abort(new Error('gone')), 10);
    await expect(viaRequest).rejects.toThrow('gone');
    const breaker = fetch.registry.get('http://api.test');
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics().neutral).toBe(2);
  });

  it('hands a given fetch the request built from input and init, the signal when one is in play, and uses a custom key and failure rule', async () => {
    const seen: Array<{ url: string; signal: AbortSignal | null | undefined; method: string | undefined }> = [];
    const fake: typeof globalThis.fetch = async (input, init) => {
      const request = input as Request;
      seen.push({ url: request.url, signal: init?.signal, method: request.method });
      return new Response('teapot', { status: 418 });
    };
    const fetch = createBreakerFetch({
      fetch: fake,
      keyOf: (url) => url.host,
      isFailureResponse: (r) => r.status === 418,
      optionsFor: (key) => (key === 'tea.test' ? { failureThreshold: 1 } : undefined),
    });
    await fetch('http://tea.test/pot', { method: 'POST' });
    expect(seen[0]).toEqual({ url: 'http://tea.test/pot', signal: undefined, method: 'POST' });
    expect(fetch.registry.get('tea.test').state).toBe('open');
    const timed = createBreakerFetch({ fetch: fake, breaker: { timeout: 1000 } });
    await timed('http://tea.test/pot', { method: 'PUT' });
    expect(seen[1]?.signal).toBeInstanceOf(AbortSignal);
    expect(seen[1]?.method).toBe('PUT');
  });

  it('rejects (never throws) for a URL it cannot parse, and evicts beyond maxOrigins', async () => {
    const fetch = createBreakerFetch({ maxOrigins: 1, fetch: async () => new Response('ok') });
    await expect(fetch('not a url')).rejects.toThrow(TypeError);
    await fetch('http://a.test/');
    await fetch('http://b.test/');
    expect([...fetch.registry.keys()]).toEqual(['http://b.test']);
  });

  it('refuses bad options, naming them', () => {
    expect(() => createBreakerFetch({ breaker: { isResultFailure: () => true } })).toThrow(/"isResultFailure" itself \(in "breaker"\)/);
    expect(() => createBreakerFetch({ breaker: { retryAfterHint: () => 1 } })).toThrow(/"retryAfterHint" itself/);
    expect(() => createBreakerFetch({ breaker: 5 as never })).toThrow(/"breaker" must be an object/);
    expect(() => createBreakerFetch({ breaker: [] as never })).toThrow(TypeError);
    expect(() => createBreakerFetch({ maxRetryAfter: -1 })).toThrow(RangeError);
    expect(() => createBreakerFetch({ maxRetryAfter: Number.NaN })).toThrow(RangeError);
    expect(() => createBreakerFetch({ maxRetryAfter: '5' as never })).toThrow(TypeError);
    expect(() => createBreakerFetch({ keyOf: 'origin' as never })).toThrow(/"keyOf" must be a function/);
    expect(() => createBreakerFetch({ retries: 3 } as never)).toThrow(/unknown fetch option "retries"/);
    expect(() => createBreakerFetch(7 as never)).toThrow(TypeError);
    expect(() => createBreakerFetch({ maxOrigins: 0 })).toThrow(
      new RangeError('breakwater: option "maxOrigins" must be an integer ≥ 1; got 0'),
    );
    expect(() => createBreakerFetch({ maxOrigins: 1.5 })).toThrow(RangeError);
    expect(() => createBreakerFetch({ maxOrigins: '5' as never })).toThrow(/"maxOrigins"/);
    expect(() => createBreakerFetch({ breaker: { failureThreshold: 0 } })).toThrow(/failureThreshold/);
  });
});

describe('the wrapper keeps its rules and the caller keeps theirs', () => {
  it("measures an HTTP-date Retry-After against the breaker's clock", async () => {
    const clock = new ManualClock();
    const fetch = createBreakerFetch({ breaker: { failureThreshold: 1, recoveryTimeout: 1_000, clock } });
    expect((await fetch(`http://api.test/later?at=${clock.wallNow() + 30_000}`)).status).toBe(503);
    expect(fetch.registry.get('http://api.test').metrics().retryAfter).toBe(30_000);
  });

  it('per-origin options cannot switch off the failure rule or the Retry-After hint', async () => {
    const fetch = createBreakerFetch({
      breaker: { failureThreshold: 1 },
      optionsFor: (origin) => (origin === 'http://api.test' ? { timeout: 5_000, isResultFailure: undefined } : { retryAfterHint: () => 1 }),
    });
    expect((await fetch('http://api.test/boom')).status).toBe(500);
    expect(fetch.registry.get('http://api.test').state).toBe('open');
    await expect(fetch('http://other.test/ok')).rejects.toThrow(/"retryAfterHint" itself \(in the options for "http:\/\/other.test"\)/);
  });

  it('answers a caller who already aborted with their reason in every state, as a neutral call', async () => {
    const fetch = createBreakerFetch({ breaker: { failureThreshold: 1 } });
    await fetch('http://api.test/boom');
    const breaker = fetch.registry.get('http://api.test');
    expect(breaker.state).toBe('open');
    const controller = new AbortController();
    const reason = new Error('user left');
    controller.abort(reason);
    const before = hits;
    await expect(fetch('http://api.test/boom', { signal: controller.signal })).rejects.toBe(reason);
    expect(hits).toBe(before);
    expect(breaker.metrics()).toMatchObject({ rejected: 0, neutral: 1, state: 'open' });
  });
});

describe('parseRetryAfter and isFailureStatus', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    // The obsolete forms are read too, always as GMT.
    expect(parseRetryAfter('Tuesday, 01-Jan-30 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue Jan  1 00:00:30 2030', now)).toBe(30_000);
    expect(parseRetryAfter('tue, 01 jan 2030 00:01:00 gmt', now)).toBe(60_000);
    // Text that an engine's lenient date parser would read as some date is not an HTTP date.
    expect(parseRetryAfter('retry in 5', now)).toBeUndefined();
    expect(parseRetryAfter('Wait 10', now)).toBeUndefined();
    expect(parseRetryAfter('2030-01-01T00:00:30Z', now)).toBeUndefined();
    expect(parseRetryAfter('Tue, 32 Jan 2030 00:00:30 GMT', now)).toBeUndefined();
    expect(parseRetryAfter('Tue, 01 Jan 2030 24:00:30 GMT', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
  it('counts 5xx and 429 as failures', () => {
    expect(isFailureStatus(new Response(null, { status: 500 }))).toBe(true);
    expect(isFailureStatus(new Response(null, { status: 429 }))).toBe(true);
    expect(isFailureStatus(new Response(null, { status: 404 }))).toBe(false);
    expect(isFailureStatus(new Response(null, { status: 200 }))).toBe(false);
  });
});
