// docs/guide.md recipes run as written (fetch, axios with a stand-in, Lambda handler locally, Hono, Prometheus, OTel).
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { createBreakerFetch, parseRetryAfter } from '../../src/fetch/index.js';
import { BreakerRegistry, CircuitBreaker, CircuitOpenError } from '../../src/index.js';

describe('guide: Recipe fetch (guide.md:236-280)', () => {
  function make(respond: (req: Request) => Response | Promise<Response>, clock = { now: () => 0, wallNow: () => Date.UTC(2025, 0, 1) }) {
    const net = vi.fn(async (input: RequestInfo | URL) => respond(input as Request));
    const fetch = createBreakerFetch({
      breaker: { failureThreshold: 5, recoveryTimeout: 30_000, timeout: 3_000, clock },
      optionsFor: (origin) => (origin === 'https://slow.example' ? { timeout: 10_000 } : undefined),
      maxOrigins: 1000,
      maxRetryAfter: 600_000,
      fetch: net as unknown as typeof globalThis.fetch,
    });
    return { fetch, net };
  }
  it('runs as written; 5xx count, responses returned unchanged; open rejects without network', async () => {
    const { fetch, net } = make(() => new Response('x', { status: 502 }));
    const request = { signal: new AbortController().signal };
    for (let i = 0; i < 5; i++) {
      const res = await fetch('https://api.example/users/7', { signal: request.signal });
      expect(res.status).toBe(502);
    }
    await expect(fetch('https://api.example/users/8')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(net).toHaveBeenCalledTimes(5);
    expect(fetch.registry.get('https://api.example').state).toBe('open');
    // other origins unaffected
    expect((await fetch('https://other.example/')).status).toBe(502);
  });
  it('404 is neutral, 429 counts', async () => {
    let status = 404;
    const { fetch } = make(() => new Response('x', { status }));
    for (let i = 0; i < 6; i++) await fetch('https://api.example/');
    expect(fetch.registry.get('https://api.example').state).toBe('closed');
    status = 429;
    for (let i = 0; i < 5; i++) await fetch('https://api.example/');
    expect(fetch.registry.get('https://api.example').state).toBe('open');
  });
  it('Retry-After seconds on a 503 that opens sets the open time; capped by maxRetryAfter', async () => {
    let ra = '120';
    const { fetch } = make(() => new Response('x', { status: 503, headers: { 'retry-after': ra } }));
    for (let i = 0; i < 5; i++) await fetch('https://a.example/');
    expect(fetch.registry.get('https://a.example').metrics().retryAfter).toBe(120_000);
    ra = '100000';
    for (let i = 0; i < 5; i++) await fetch('https://b.example/');
    expect(fetch.registry.get('https://b.example').metrics().retryAfter).toBe(600_000);
  });
  it('Retry-After as an HTTP date, measured against the breaker clock', async () => {
    const wall = Date.UTC(2025, 0, 1);
    const date = new Date(wall + 90_000).toUTCString();
    const { fetch } = make(() => new Response('x', { status: 503, headers: { 'retry-after': date } }), {
      now: () => 0,
      wallNow: () => wall,
    });
    for (let i = 0; i < 5; i++) await fetch('https://a.example/');
    expect(fetch.registry.get('https://a.example').metrics().retryAfter).toBe(90_000);
  });
  it('a GET with a body rejects with TypeError and counts nothing', async () => {
    const { fetch, net } = make(() => new Response('x'));
    await expect(fetch('https://a.example/', { method: 'GET', body: 'x' })).rejects.toBeInstanceOf(TypeError);
    expect(net).not.toHaveBeenCalled();
  });
  it('an already-aborted signal rejects with its reason, even while open', async () => {
    const { fetch } = make(() => new Response('x', { status: 500 }));
    for (let i = 0; i < 5; i++) await fetch('https://a.example/');
    const reason = new Error('bye');
    await expect(fetch('https://a.example/', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
  it('isResultFailure in breaker is refused', () => {
    expect(() => createBreakerFetch({ breaker: { isResultFailure: () => true } })).toThrow(TypeError);
  });
});

describe('guide: Recipe axios (guide.md:284-302), with a stand-in for axios', () => {
  it('runs as written: 4xx neutral, 5xx/429 count, Retry-After read', async () => {
    interface AxiosError {
      isAxiosError: true;
      response?: { status: number; headers: Record<string, string | undefined> };
    }
    const isAxiosError = (e: unknown): e is AxiosError => typeof e === 'object' && e !== null && 'isAxiosError' in e;
    let next: AxiosError | undefined;
    const axios = { get: async (_u: string, _c?: { signal?: AbortSignal }) => (next ? Promise.reject(next) : { data: 'inv' }) };
    const breaker = new CircuitBreaker({
      name: 'billing',
      timeout: 5_000,
      failureThreshold: 1,
      clock: { now: () => 0 },
      isFailure: (error) => !isAxiosError(error) || !error.response || error.response.status >= 500 || error.response.status === 429,
      retryAfterHint: (error) => (isAxiosError(error) ? parseRetryAfter(error.response?.headers['retry-after'], Date.now()) : undefined),
    });
    const id = 1;
    next = { isAxiosError: true, response: { status: 404, headers: {} } };
    await breaker.execute(({ signal }) => axios.get(`/invoices/${id}`, { signal }).then((r) => r.data)).catch(() => {});
    expect(breaker.state).toBe('closed');
    next = { isAxiosError: true, response: { status: 429, headers: { 'retry-after': '7' } } };
    await breaker.execute(({ signal }) => axios.get(`/invoices/${id}`, { signal }).then((r) => r.data)).catch(() => {});
    expect(breaker.state).toBe('open');
    expect(breaker.metrics().retryAfter).toBe(7_000);
  });
});

describe('guide: Recipe AWS Lambda (guide.md:305-326), invoked locally', () => {
  it('503 with retry-after in whole seconds while open', async () => {
    let t = 0;
    process.env.INVENTORY_URL = 'https://inv.example';
    const fetch = vi.fn(async (_u: string, _i: { signal?: AbortSignal }) => new Response('boom', { status: 500 }));
    const inventory = new CircuitBreaker({
      name: 'inventory',
      failureThreshold: 3,
      recoveryTimeout: 15_000,
      timeout: 2_000,
      isResultFailure: (res) => (res as Response).status >= 500,
      clock: { now: () => t },
    });
    const handler = async (event: { pathParameters?: { sku?: string } }) => {
      try {
        const stock = await inventory.execute(({ signal }) =>
          fetch(`${process.env.INVENTORY_URL}/${event.pathParameters?.sku}`, { signal }),
        );
        return { statusCode: 200, body: await stock.text() };
      } catch (error) {
        if (error instanceof CircuitOpenError) {
          return { statusCode: 503, headers: { 'retry-after': String(Math.ceil(error.retryAfter / 1000)) }, body: 'inventory unavailable' };
        }
        throw error;
      }
    };
    for (let i = 0; i < 3; i++) expect((await handler({ pathParameters: { sku: 'a' } })).statusCode).toBe(200);
    t += 500;
    expect(await handler({ pathParameters: { sku: 'a' } })).toEqual({
      statusCode: 503,
      headers: { 'retry-after': '15' },
      body: 'inventory unavailable',
    });
    expect(fetch).toHaveBeenCalledTimes(3);
  });
});

// Express hands its routes Node's own request and response objects, so the recipe's abort wiring is tested on
// node:http itself (real sockets, real time: the subject is the connection).
describe('guide: Recipe Express, the abort wiring, on node:http', () => {
  const guide = readFileSync(new URL('../../docs/guide.md', import.meta.url), 'utf8');
  // The guide's line, applied to the request and response as a route gets them.
  const wire = (_req: IncomingMessage, res: ServerResponse, controller: AbortController) => {
    res.on('close', () => {
      if (!res.writableEnded) controller.abort();
    });
  };

  async function serve(breaker: CircuitBreaker, upstream: (signal: AbortSignal) => Promise<string>) {
    const seen: { started?: boolean; aborted?: boolean | undefined } = {};
    const server = createServer((req, res) => {
      // express.json() reads the whole body before the route runs.
      req.resume();
      req.on('end', async () => {
        const controller = new AbortController();
        wire(req, res, controller);
        try {
          res.end(
            await breaker.execute(
              // A caller's signal is given, so fn gets a signal of its own.
              ({ signal }) => {
                seen.started = true;
                return upstream(signal as AbortSignal).finally(() => {
                  seen.aborted = signal?.aborted;
                });
              },
              { signal: controller.signal },
            ),
          );
        } catch (error) {
          res.statusCode = 500;
          res.end(String(error));
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
  }
  const slow = (ms: number) => (signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => resolve('ok'), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });

  it('the guide listens on the response, not the request', () => {
    expect(guide).toContain("res.on('close', () => {");
    expect(guide).not.toContain("req.on('close'");
  });
  it('a POST whose body was read is not cancelled: the request closes once read, the response only when the client goes', async () => {
    const breaker = new CircuitBreaker({ name: 'users' });
    const { server, seen, url } = await serve(breaker, slow(100));
    try {
      const res = await fetch(url, { method: 'POST', body: JSON.stringify({ name: 'x'.repeat(1000) }) });
      expect(await res.text()).toBe('ok');
      expect(seen.aborted).toBe(false);
      expect(breaker.metrics()).toMatchObject({ successes: 1, neutral: 0 });
    } finally {
      server.close();
    }
  });
  it('a client that goes away cancels the upstream call, neutral for the breaker', async () => {
    const breaker = new CircuitBreaker({ name: 'users' });
    const { server, seen, url } = await serve(breaker, slow(10_000));
    try {
      const client = new AbortController();
      const answer = fetch(url, { method: 'POST', body: 'x', signal: client.signal });
      await vi.waitFor(() => expect(seen.started).toBe(true), { timeout: 2_000 });
      client.abort();
      await expect(answer).rejects.toThrow();
      await vi.waitFor(() => expect(seen.aborted).toBe(true), { timeout: 2_000 });
      expect(breaker.metrics()).toMatchObject({ successes: 0, failures: 0, neutral: 1 });
    } finally {
      server.close();
    }
  });
});

describe('guide: Recipe Hono (guide.md:357-366) with the installed hono', () => {
  it('turns CircuitOpenError into 503 + Retry-After; forced open gives retryAfter Infinity', async () => {
    const { Hono } = await import('hono');
    const users = new CircuitBreaker({ name: 'users', failureThreshold: 1, recoveryTimeout: 10_000, clock: { now: () => 0 } });
    const loadUser = async (id: string, _signal?: AbortSignal) => {
      throw new Error(`down ${id}`);
    };
    const app = new Hono();
    app.get('/users/:id', async (c) =>
      c.json(await users.execute(({ signal }) => loadUser(c.req.param('id'), signal), { signal: c.req.raw.signal })),
    );
    app.onError((error, c) => {
      if (error instanceof CircuitOpenError) {
        c.header('retry-after', String(Math.ceil(error.retryAfter / 1000)));
        return c.json({ error: error.message }, 503);
      }
      return c.json({ error: 'internal error' }, 500);
    });
    expect((await app.request('/users/1')).status).toBe(500);
    const r = await app.request('/users/1');
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('10');
    users.forceOpen();
    const e = await users.execute(() => 1).catch((x) => x);
    expect(e.retryAfter).toBe(Infinity);
  });
});

describe('guide: Recipe Prometheus (guide.md:379-410)', () => {
  it('runs as written; calls_total starts at 0 for five outcomes; evicted breakers dropped', async () => {
    const { instrumentPrometheus } = await import('../../src/exporters/prometheus.js');
    const { register } = await import('prom-client');
    register.clear();
    const breakers = new BreakerRegistry({ maxSize: 1, defaults: { clock: { now: () => 0 } } });
    instrumentPrometheus(breakers);
    await breakers.get('a').execute(() => 1);
    let text = await register.metrics();
    for (const o of ['success', 'failure', 'neutral', 'timeout', 'rejected'])
      expect(text).toContain(`breakwater_calls_total{breaker="a",outcome="${o}"}`);
    expect(text).toContain('breakwater_state{breaker="a",state="closed"} 1');
    expect(text).toMatch(/breakwater_transitions_total\{breaker="a",from="closed",to="open"\} 0/);
    breakers.get('b');
    text = await register.metrics();
    expect(text).not.toContain('breaker="a"');
    register.clear();
  });
});
