import { delay, HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, retryAfterSeconds } from './app.js';
import type { Config } from './config.js';
import type { StateView } from './monitor.js';

const BASE = 'http://quotes.test';
const QUOTE = { quote: 'Everything fails, all the time.', author: 'Werner Vogels', servedAt: '2026-05-04T12:00:00.000Z' };

const upstream = setupServer();
let hits = 0;
beforeAll(() => upstream.listen({ onUnhandledRequest: 'error' }));
afterAll(() => upstream.close());

/** Each test gets a fresh consumer with a hand-moved clock. */
const consumers: Array<ReturnType<typeof createConsumer>> = [];
afterEach(() => {
  upstream.resetHandlers();
  hits = 0;
  for (const c of consumers.splice(0)) c.monitor.close();
});

function answer(respond: () => Response | Promise<Response>) {
  upstream.use(
    http.get(`${BASE}/quote`, () => {
      hits++;
      return respond();
    }),
  );
}

function consumer(overrides: Partial<Config> = {}) {
  let now = 1_000;
  const lines: string[] = [];
  const config: Config = {
    host: '127.0.0.1',
    port: 0,
    baseUrl: BASE,
    failureThreshold: 3,
    recoveryTimeout: 60_000,
    requestTimeout: 1_000,
    maxConcurrent: 100,
    ...overrides,
  };
  const c = createConsumer(config, { write: (line) => lines.push(line), clock: { now: () => now } });
  consumers.push(c);
  const get = (path = '/', init?: RequestInit) => c.app.request(path, init);
  const state = async () => (await (await get('/api/state')).json()) as StateView;
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...c, get, state, logs, lines, advance: (ms: number) => (now += ms) };
}

describe('GET / when the quote API answers', () => {
  it('shows the quote with 200, security headers and the panel', async () => {
    answer(() => HttpResponse.json(QUOTE));
    const c = consumer();
    const res = await c.get();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const page = await res.text();
    expect(page).toContain('Everything fails, all the time.');
    expect(page).toContain('Werner Vogels');
    expect(page).toContain('id="panel"');
    expect(page).toContain('<body data-state="closed" data-probe="">');
    expect((await c.state()).counts.successes).toBe(1);
  });

  it('escapes everything that comes from the API', async () => {
    const hostile = { quote: '<img src=x onerror=alert(1)>', author: '"><script>alert(2)</script>', servedAt: '<b>now</b>' };
    answer(() => HttpResponse.json(hostile));
    const page = await (await consumer().get()).text();
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<b>now');
  });
});

describe('upstream failures', () => {
  it('a 500 is a counted failure: 502 page, then 503 with Retry-After once the breaker opens, without calling the API', async () => {
    answer(() => HttpResponse.json({ error: 'boom' }, { status: 500 }));
    const c = consumer();
    for (let i = 1; i <= 3; i++) {
      const res = await c.get();
      expect(res.status).toBe(502);
      const page = await res.text();
      expect(page).toContain('The quote API failed: HTTP 500');
      if (i < 3) expect(page).toContain(`<b>${i} of 3</b>`);
    }
    expect(hits).toBe(3);
    expect((await c.state()).state).toBe('open');

    c.advance(12_300); // 47.7 s of the 60 s left
    const res = await c.get();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('48');
    const page = await res.text();
    expect(page).toContain('The circuit breaker is open');
    expect(page).toContain('It will try again at');
    expect(hits).toBe(3);
    expect((await c.state()).counts).toMatchObject({ failures: 3, rejected: 1 });
  });

  it('after the recovery timeout the state reads half-open, and one successful probe closes it', async () => {
    answer(() => HttpResponse.json({}, { status: 503 }));
    const c = consumer({ failureThreshold: 1 });
    expect((await c.get()).status).toBe(502);
    const seen: string[] = [];
    c.monitor.subscribe((view) => seen.push(view.state));
    c.advance(60_000);
    const view = await c.state();
    expect(view.state).toBe('half-open');
    expect(view.transitions[0]).toMatchObject({ from: 'open', to: 'half-open', reason: 'recovery-timeout' });
    expect(seen).toContain('half-open');

    answer(() => HttpResponse.json(QUOTE));
    expect((await c.get()).status).toBe(200);
    expect(hits).toBe(2);
    const after = await c.state();
    expect(after.state).toBe('closed');
    expect(after.transitions.map((t) => `${t.from}→${t.to}`)).toEqual(['half-open→closed', 'open→half-open', 'closed→open']);
  });

  it('Retry-After is whole seconds, rounded up, at least 1', () => {
    expect([0, 1, 999, 1000, 1001, 1500, 60_000].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 2, 2, 60]);
  });

  it('a 404 is neutral: 502 page saying it is not counted, the circuit stays closed', async () => {
    answer(() => HttpResponse.json({ error: 'no such thing' }, { status: 404 }));
    const c = consumer();
    for (let i = 0; i < 5; i++) {
      const res = await c.get();
      expect(res.status).toBe(502);
      expect(await res.text()).toContain('does <b>not</b> count it');
    }
    const view = await c.state();
    expect(view.state).toBe('closed');
    expect(view.counts).toMatchObject({ neutral: 5, failures: 0 });
    expect(view.consecutiveFailures).toBe(0);
  });

  it('a 404 neither counts nor resets the run of failures', async () => {
    const c = consumer();
    answer(() => HttpResponse.json({}, { status: 500 }));
    await c.get();
    await c.get();
    answer(() => HttpResponse.json({}, { status: 404 }));
    await c.get();
    expect((await c.state()).consecutiveFailures).toBe(2);
    answer(() => HttpResponse.json({}, { status: 500 }));
    await c.get();
    expect((await c.state()).state).toBe('open');
  });

  it('a network error is a counted failure', async () => {
    answer(() => HttpResponse.error());
    const c = consumer();
    const res = await c.get();
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('The quote API failed: could not connect');
    expect((await c.state()).counts.failures).toBe(1);
  });

  it('a slow answer times out (TimeoutError) and counts', async () => {
    answer(async () => {
      await delay(2_000);
      return HttpResponse.json(QUOTE);
    });
    const c = consumer({ requestTimeout: 50 });
    const res = await c.get();
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('no answer within 50 ms');
    const view = await c.state();
    expect(view.counts).toMatchObject({ timeouts: 1, successes: 0 });
    expect(view.consecutiveFailures).toBe(1);
  });

  it('a 200 that is not a quote counts as a failure', async () => {
    answer(() => new HttpResponse('<html>maintenance</html>', { status: 200 }));
    const c = consumer();
    const res = await c.get();
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('malformed answer');
    answer(() => HttpResponse.json({ quote: 1 }));
    await c.get();
    expect((await c.state()).counts.failures).toBe(2);
  });
});

describe('logs', () => {
  it('one JSON line per upstream error and per transition, on the writer', async () => {
    answer(() => HttpResponse.json({}, { status: 500 }));
    const c = consumer();
    for (let i = 0; i < 3; i++) await c.get();
    const records = c.logs();
    const errors = records.filter((r) => r.event === 'upstream.error');
    const transitions = records.filter((r) => r.event === 'breaker.stateChange');
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatchObject({ level: 'error', breaker: 'quote-api', status: 500, counted: true, url: `${BASE}/quote` });
    expect(errors[0]?.error).toMatchObject({ name: 'UpstreamHttpError', status: 500 });
    expect(transitions).toEqual([expect.objectContaining({ level: 'warn', from: 'closed', to: 'open', reason: 'failure-threshold' })]);
    expect(records.every((r) => typeof r.time === 'string' && typeof r.msg === 'string')).toBe(true);
  });

  it('a neutral 4xx logs at warn with counted false', async () => {
    answer(() => HttpResponse.json({}, { status: 429 }));
    const c = consumer();
    await c.get();
    expect(c.logs()).toEqual([expect.objectContaining({ event: 'upstream.error', level: 'warn', counted: false, status: 429 })]);
  });
});

describe('GET /metrics', () => {
  it('is valid Prometheus text exposition of state, calls by outcome, transitions and durations', async () => {
    const c = consumer({ failureThreshold: 2 });
    answer(() => HttpResponse.json(QUOTE));
    await c.get();
    answer(() => HttpResponse.json({}, { status: 500 }));
    await c.get();
    await c.get();
    await c.get(); // rejected
    const res = await c.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);

    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9.e+-]+|\+Inf)$/;
    const declared = new Map<string, string>();
    for (const line of text.trimEnd().split('\n')) {
      const type = /^# TYPE (\S+) (gauge|counter|histogram)$/.exec(line);
      if (type) declared.set(type[1] as string, type[2] as string);
      if (line.startsWith('#')) continue;
      const m = sample.exec(line);
      expect(m, line).not.toBeNull();
      const name = m?.[1] ?? '';
      const family = name.replace(/_(bucket|sum|count)$/, '');
      expect(declared.has(family) || declared.has(name), line).toBe(true);
    }
    expect(text).toContain('breakwater_state{breaker="quote-api",state="open"} 1');
    expect(text).toContain('breakwater_state{breaker="quote-api",state="closed"} 0');
    expect(text).toContain('breakwater_calls_total{breaker="quote-api",outcome="success"} 1');
    expect(text).toContain('breakwater_calls_total{breaker="quote-api",outcome="failure"} 2');
    expect(text).toContain('breakwater_calls_total{breaker="quote-api",outcome="rejected"} 1');
    expect(text).toContain('breakwater_calls_total{breaker="quote-api",outcome="limited"} 0');
    expect(text).toContain('breakwater_calls_in_flight{breaker="quote-api"} 0');
    expect(text).toContain('breakwater_transitions_total{breaker="quote-api",from="closed",to="open"} 1');
    expect(text).toContain('breakwater_call_duration_seconds_count{breaker="quote-api",outcome="failure"} 2');
    expect(text).toContain('breakwater_call_duration_seconds_bucket{breaker="quote-api",outcome="failure",le="+Inf"} 2');
    expect(declared.get('breakwater_call_duration_seconds')).toBe('histogram');
  });
});

describe('other routes', () => {
  it('GET /healthz is 200 even while the circuit is open', async () => {
    answer(() => HttpResponse.error());
    const c = consumer({ failureThreshold: 1 });
    await c.get();
    const res = await c.get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', breaker: 'open' });
  });

  it('GET /api/state is JSON with settings, counts and recent calls', async () => {
    answer(() => HttpResponse.json(QUOTE));
    const c = consumer();
    await c.get();
    const view = await c.state();
    expect(view).toMatchObject({
      name: 'quote-api',
      state: 'closed',
      retryAfterMs: 0,
      nextProbeAt: null,
      settings: { failureThreshold: 3, recoveryTimeout: 60_000, requestTimeout: 1_000, baseUrl: BASE },
      counts: { successes: 1, failures: 0, timeouts: 0, neutral: 0, rejected: 0 },
      transitions: [],
    });
    expect(view.calls[0]).toMatchObject({ outcome: 'success' });
  });

  it('GET /api/events streams the state as server-sent events', async () => {
    const c = consumer();
    const res = await c.get('/api/events');
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    const chunk = new TextDecoder().decode(value);
    expect(chunk).toMatch(/^event: state\n/);
    const data = JSON.parse(/data: (.*)\n/.exec(chunk)?.[1] as string) as StateView;
    expect(data.state).toBe('closed');
    await reader.cancel();
  });

  it('serves the page assets and answers unknown routes with a JSON 404', async () => {
    const c = consumer();
    expect((await c.get('/assets/app.js')).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await c.get('/assets/app.css')).headers.get('content-type')).toMatch(/^text\/css/);
    expect((await c.get('/assets/icon.svg')).headers.get('content-type')).toBe('image/svg+xml');
    const res = await c.get('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'No route for GET /nope' });
  });
});

describe('methods and unknown routes', () => {
  const PATHS = [
    '/',
    '/api/state',
    '/api/events',
    '/healthz',
    '/metrics',
    '/assets/app.css',
    '/assets/app.js',
    '/assets/icon.svg',
    '/favicon.ico',
  ];

  it.each(PATHS)('%s answers other methods with 405, Allow: GET, HEAD and a JSON error, without calling the API', async (path) => {
    answer(() => HttpResponse.json(QUOTE));
    const c = consumer();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await c.get(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect(await res.json()).toEqual({ error: `Method ${method} not allowed on ${path}; use GET, HEAD` });
    }
    expect(hits).toBe(0);
  });

  it('HEAD / answers 200 with the page headers and does not call the API', async () => {
    answer(() => HttpResponse.json(QUOTE));
    const c = consumer();
    const res = await c.get('/', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toBe('');
    expect(hits).toBe(0);
    expect((await c.state()).calls).toEqual([]);
    // A GET after it is the one call to the API.
    expect((await c.get()).status).toBe(200);
    expect(hits).toBe(1);
  });

  it('HEAD / while the circuit is open is 503 with Retry-After, still without a call', async () => {
    answer(() => HttpResponse.json({}, { status: 500 }));
    const c = consumer({ failureThreshold: 1 });
    await c.get();
    expect(hits).toBe(1);
    c.advance(30_000);
    const res = await c.get('/', { method: 'HEAD' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(hits).toBe(1);
    expect((await c.state()).counts.rejected).toBe(0);
  });

  it('HEAD /api/events answers the stream headers without starting a stream (one would never be read nor end)', async () => {
    const c = consumer();
    const res = await c.get('/api/events', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await res.text()).toBe('');
  });

  it('a 404 body repeats at most 100 characters of the path, whatever its length', async () => {
    const c = consumer();
    const path = `/${'a'.repeat(15_000)}`;
    const res = await c.get(path);
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text.length).toBeLessThan(200);
    expect(JSON.parse(text)).toEqual({ error: `No route for GET ${path.slice(0, 100)}…` });
  });
});
