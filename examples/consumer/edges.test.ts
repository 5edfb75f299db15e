// The consumer at its edges: a probe in flight, credentials in BASE_URL, and the log line the docs show.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsumer } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import type { StateView } from './monitor.js';

const BASE = 'http://quotes.test';
const QUOTE = { quote: 'q', author: 'a', servedAt: '2026-05-04T12:00:00.000Z' };

const made: Array<ReturnType<typeof createConsumer>> = [];
afterEach(() => {
  for (const c of made.splice(0)) c.monitor.close();
});

/** A consumer whose upstream is a hand-driven fetch, with a hand-moved clock. */
function consumer(overrides: Partial<Config> = {}) {
  let now = 1_000;
  let respond: (signal: AbortSignal | null | undefined) => Promise<Response> = async () => Response.json(QUOTE);
  const lines: string[] = [];
  const config: Config = {
    host: '127.0.0.1',
    port: 0,
    baseUrl: BASE,
    failureThreshold: 1,
    recoveryTimeout: 10_000,
    requestTimeout: 2_000,
    maxConcurrent: 0,
    ...overrides,
  };
  const c = createConsumer(config, {
    write: (line) => lines.push(line),
    clock: { now: () => now },
    fetch: ((_input: unknown, init?: RequestInit) => respond(init?.signal)) as typeof fetch,
  });
  made.push(c);
  return {
    ...c,
    lines,
    get: (path = '/', init?: RequestInit) => c.app.request(path, init),
    advance: (ms: number) => (now += ms),
    upstream: (fn: typeof respond) => (respond = fn),
  };
}

describe('503 while a half-open probe is in flight', () => {
  it('Retry-After and retryAfterMs are bounded by the probe (REQUEST_TIMEOUT + 1 s), not by a minute', async () => {
    const c = consumer();
    c.upstream(async () => new Response('boom', { status: 500 }));
    expect((await c.get()).status).toBe(502); // opens (threshold 1)
    c.advance(10_000); // recovery over: half-open

    // The probe hangs until the test releases it (the breaker's timeout would abort it within 2 s).
    let release!: () => void;
    c.upstream(
      (signal) =>
        new Promise<Response>((resolve, reject) => {
          release = () => resolve(Response.json(QUOTE));
          signal?.addEventListener('abort', () => reject(signal.reason));
        }),
    );
    const probe = c.get();
    await new Promise((r) => setImmediate(r));
    expect(c.breaker.state).toBe('half-open');

    const res = await c.get(); // a second visitor while the probe is in flight
    expect(res.status).toBe(503);
    const view = (await (await c.get('/api/state')).json()) as StateView;
    release();
    expect((await probe).status).toBe(200);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(3);
    expect(view.state).toBe('half-open');
    expect(view.retryAfterMs).toBeLessThanOrEqual(3_000);
  });
});

describe('configuration', () => {
  it('refuses a BASE_URL with credentials without repeating them', () => {
    let refused: unknown;
    try {
      loadConfig({ BASE_URL: 'https://user:s3cret@api.example.com' });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/BASE_URL must be an http\(s\) URL without credentials/);
    expect((refused as Error).message).not.toContain('s3cret');
  });
});

describe('docs/examples.md', () => {
  it('shows the closed → open log line with the fields the consumer writes', async () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/examples.md', import.meta.url)), 'utf8');
    const docLine = doc.split('\n').find((l) => l.includes('"to":"open"') && l.includes('"event":"breaker.stateChange"')) as string;
    const c = consumer();
    c.upstream(async () => new Response('x', { status: 500 }));
    await c.get();
    const actual = c.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r.event === 'breaker.stateChange' && r.to === 'open');
    expect(Object.keys(actual ?? {})).toEqual(Object.keys(JSON.parse(docLine)));
  });
});

describe('the cap on calls in flight (MAX_CONCURRENT)', () => {
  it('a page load past the cap is a 503 with Retry-After: 1 and its own page, without a call; the circuit is untouched', async () => {
    const c = consumer({ maxConcurrent: 2, failureThreshold: 1 });
    const releases: Array<() => void> = [];
    let calls = 0;
    c.upstream((signal) => {
      calls++;
      return new Promise<Response>((resolve, reject) => {
        releases.push(() => resolve(Response.json(QUOTE)));
        signal?.addEventListener('abort', () => reject(signal.reason));
      });
    });
    const first = c.get();
    const second = c.get();
    const deadline = Date.now() + 5_000;
    while (calls < 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(calls).toBe(2);

    const res = await c.get();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const page = await res.text();
    expect(page).toContain('<title>Too many requests at once · breakwater demo</title>');
    expect(page).toContain('data-kind="limited"');
    expect(page).toContain('<b>2</b> calls to the quote API in flight');
    expect(page).toContain('id="count-limited">1<');
    expect(calls).toBe(2);
    const view = (await (await c.get('/api/state')).json()) as StateView;
    expect(view.state).toBe('closed');
    expect(view.counts).toMatchObject({ limited: 1, rejected: 0, failures: 0, timeouts: 0 });
    expect(view.calls[0]).toMatchObject({ outcome: 'limited', durationMs: null });
    const head = await c.get('/', { method: 'HEAD' });
    expect(head.status).toBe(503);
    expect(head.headers.get('retry-after')).toBe('1');
    expect(calls).toBe(2);
    const metrics = await (await c.get('/metrics')).text();
    expect(metrics).toContain('breakwater_calls_total{breaker="quote-api",outcome="limited"} 1');
    expect(metrics).toContain('breakwater_calls_in_flight{breaker="quote-api"} 2');

    for (const release of releases.splice(0)) release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    const third = c.get();
    while (calls < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    for (const release of releases.splice(0)) release();
    expect((await third).status).toBe(200);
  });

  it('MAX_CONCURRENT=0 passes no cap: many page loads wait on the API together', async () => {
    const c = consumer({ maxConcurrent: 0 });
    const releases: Array<() => void> = [];
    c.upstream(() => new Promise<Response>((resolve) => releases.push(() => resolve(Response.json(QUOTE)))));
    const pages = Array.from({ length: 20 }, () => c.get());
    const deadline = Date.now() + 5_000;
    while (releases.length < 20 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(releases).toHaveLength(20);
    for (const release of releases.splice(0)) release();
    expect((await Promise.all(pages)).map((r) => r.status)).toEqual(Array(20).fill(200));
  });
});
