/** A breaker around real `fetch` against an HTTP API that answers 5xx, drops the connection, or is slow. */
import { delay, HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, TimeoutError } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.js';

let mode: 'ok' | '5xx' | 'drop' | 'slow' | '404' = 'ok';
let hits = 0;
const server = setupServer(
  http.get('http://api.test/quote', async () => {
    hits++;
    if (mode === '5xx') return HttpResponse.json({ error: 'unavailable' }, { status: 503 });
    if (mode === 'drop') return HttpResponse.error();
    if (mode === '404') return HttpResponse.json({ error: 'missing' }, { status: 404 });
    if (mode === 'slow') await delay(1000);
    return HttpResponse.json({ quote: 'Still waters run deep.' });
  }),
);

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  mode = 'ok';
  hits = 0;
});
afterAll(() => server.close());

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

function client(clock: ManualClock) {
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    recoveryTimeout: 5000,
    timeout: 50,
    clock,
    // 4xx is the caller's mistake, not an outage.
    isFailure: (e) => !(e instanceof HttpError && e.status < 500),
  });
  const getQuote = () =>
    breaker.execute(async ({ signal }) => {
      const res = await fetch('http://api.test/quote', { signal });
      if (!res.ok) throw new HttpError(res.status);
      return (await res.json()) as { quote: string };
    });
  return { breaker, getQuote };
}

describe('fetch through a breaker', () => {
  it.each(['5xx', 'drop', 'slow'] as const)('opens on %s, fails fast, then recovers', async (m) => {
    const clock = new ManualClock();
    const { breaker, getQuote } = client(clock);
    mode = m;
    for (let i = 0; i < 3; i++) {
      const error = await getQuote().catch((e: unknown) => e);
      if (m === 'slow') expect(error).toBeInstanceOf(TimeoutError);
      else if (m === '5xx') expect(error).toBeInstanceOf(HttpError);
      else expect(error).toBeInstanceOf(TypeError);
    }
    expect(breaker.state).toBe('open');
    expect(hits).toBe(3);
    await expect(getQuote()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(hits).toBe(3);
    mode = 'ok';
    clock.advance(5000);
    await expect(getQuote()).resolves.toEqual({ quote: 'Still waters run deep.' });
    expect(breaker.state).toBe('closed');
    expect(hits).toBe(4);
  });

  it('4xx is neutral: it never opens the circuit', async () => {
    const { breaker, getQuote } = client(new ManualClock());
    mode = '404';
    for (let i = 0; i < 5; i++) await expect(getQuote()).rejects.toBeInstanceOf(HttpError);
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics().neutral).toBe(5);
  });
});
