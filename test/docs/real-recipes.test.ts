// The docs' recipes run as written against real platform behaviour (node:http upstreams, Node's own fetch, real
// ioredis / node-redis clients, the package as its bundler builds it), where the stand-ins of the other
// docs-behaviour tests would hide a difference. Each test failed on an earlier version of the docs or code.

import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { freePort } from '../helpers/redis-server.js';

const doc = (file: string) => readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8');
const guide = doc('guide.md');
const fleet = doc('fleet.md');
const migrating = doc('migrating.md');

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function upstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('guide.md "Recipe: AWS Lambda", with Node fetch against a real upstream', () => {
  function makeHandler(clock?: { now(): number }) {
    const inventory = new CircuitBreaker({
      name: 'inventory',
      failureThreshold: 3,
      recoveryTimeout: 15_000,
      timeout: 2_000,
      isResultFailure: (answer) => (answer as { status: number }).status >= 500,
      ...(clock === undefined ? {} : { clock }),
    });
    // The handler as the guide writes it.
    const handler = async (event: { pathParameters?: { sku?: string } }) => {
      try {
        const stock = await inventory.execute(async ({ signal }) => {
          const res = await fetch(`${process.env.INVENTORY_URL}/${event.pathParameters?.sku}`, { signal });
          return { status: res.status, body: await res.text() };
        });
        return { statusCode: stock.status, body: stock.body };
      } catch (error) {
        if (error instanceof CircuitOpenError) {
          const headers: Record<string, string> = Number.isFinite(error.retryAfter)
            ? { 'retry-after': String(Math.ceil(error.retryAfter / 1000)) }
            : {};
          return { statusCode: 503, headers, body: 'inventory unavailable' };
        }
        throw error;
      }
    };
    return { inventory, handler };
  }

  it('is the code tested here', () => {
    expect(guide).toContain('return { status: res.status, body: await res.text() }; // the body too');
    expect(guide).toContain('return { statusCode: stock.status, body: stock.body };');
  });

  it("an upstream 503 is counted as a failure and answered to the Lambda's caller as 503; forced open sends no Retry-After", async () => {
    process.env.INVENTORY_URL = await upstream((_req, res) => {
      res.writeHead(503, { 'retry-after': '30' });
      res.end('inventory down');
    });
    const { inventory, handler } = makeHandler({ now: () => 0 });
    const answer = await handler({ pathParameters: { sku: 'a' } });
    expect(inventory.metrics().failures).toBe(1);
    expect(answer).toMatchObject({ statusCode: 503, body: 'inventory down' });
    inventory.forceOpen();
    expect(await handler({ pathParameters: { sku: 'a' } })).toEqual({ statusCode: 503, headers: {}, body: 'inventory unavailable' });
  });

  it("a body that stalls after the headers is cut off by the breaker's timeout, and counts as a failure", async () => {
    // The guide: "a hanging upstream is cut off by the breaker, not by Lambda". Here the upstream sends its headers,
    // then nothing.
    process.env.INVENTORY_URL = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"stock":');
    });
    const { inventory, handler } = makeHandler(); // timeout 2_000 ms, as in the guide
    const outcome = handler({ pathParameters: { sku: 'a' } }).then(
      () => 'settled',
      () => 'settled',
    );
    const after = await Promise.race([outcome, new Promise((r) => setTimeout(() => r('still running'), 3_000))]);
    const metrics = inventory.metrics();
    for (const s of servers) s.closeAllConnections(); // end the body read, so nothing is left pending
    await outcome;
    expect(after).toBe('settled');
    expect(metrics).toMatchObject({ successes: 0, timeouts: 1 });
  });
});

describe('fleet.md set-up with Redis unreachable at start-up', () => {
  /** A breaker on a store whose Redis is down serves its calls all the same (on `onStoreError`), and logs the fault. */
  async function expectServed(store: RedisStore): Promise<void> {
    const logged: string[] = [];
    const logger = { info() {}, warn() {}, error: (record: { event: string }) => logged.push(record.event) };
    const breaker = new CircuitBreaker({ name: 'quotes-api', store, failureThreshold: 5, logger });
    expect(await breaker.execute(() => 'served')).toBe('served');
    const end = Date.now() + 10_000;
    while (logged.length === 0 && Date.now() < end) await sleep(10);
    await breaker.dispose();
    expect(logged.length).toBeGreaterThan(0);
    expect(new Set(logged)).toEqual(new Set(['breaker.storeError']));
  }

  it('is the code tested here', () => {
    expect(fleet).toContain(
      "await Promise.race([Promise.all([once(client, 'ready'), once(subscriber, 'ready')]), sleep(1_000)]).catch(() => {});",
    );
    expect(fleet).toContain('const connected = Promise.all([client.connect(), subscriber.connect()]).catch(() => {});');
    expect(fleet).toContain('await Promise.race([connected, sleep(1_000)]);');
  });

  it('ioredis: start-up goes on within the bound (the wait rejects at once: ECONNREFUSED), and the store serves calls', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`; // nothing listens there: Redis is down as the app starts
    const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    const subscriber = client.duplicate();
    client.on('error', () => {});
    subscriber.on('error', () => {});
    try {
      const started = Date.now();
      await Promise.race([Promise.all([once(client, 'ready'), once(subscriber, 'ready')]), sleep(1_000)]).catch(() => {});
      expect(Date.now() - started).toBeLessThan(1_500);
      await expectServed(new RedisStore({ client, subscriber }));
    } finally {
      client.disconnect();
      subscriber.disconnect();
    }
  });

  it('node-redis: start-up goes on after the bound (connect() would wait for Redis for good), and the store serves calls', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const client = createClient({ url, disableOfflineQueue: true });
    const subscriber = client.duplicate();
    client.on('error', () => {});
    subscriber.on('error', () => {});
    try {
      const started = Date.now();
      const connected = Promise.all([client.connect(), subscriber.connect()]).catch(() => {});
      await Promise.race([connected, sleep(1_000)]);
      expect(Date.now() - started).toBeLessThan(1_500);
      await expectServed(new RedisStore({ client, subscriber }));
    } finally {
      client.destroy();
      subscriber.destroy();
    }
  });
});

describe('the package as its bundler builds it: error class names', () => {
  it("CircuitOpenError and TimeoutError keep their names (pino and Fastify log err.constructor.name as the error's type)", async () => {
    // As tsup.config.ts builds it (esbuild, one bundle, target es2022): a class whose body names its own class is
    // renamed, `_CircuitOpenError`.
    const dir = new URL('../../.tmp/bundle-names/', import.meta.url);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const outfile = fileURLToPath(new URL('index.mjs', dir)); // a path, decoded: the checkout's may hold spaces
    await build({ entryPoints: ['src/index.ts'], bundle: true, format: 'esm', target: 'es2022', outfile, logLevel: 'silent' });
    const dist = (await import(pathToFileURL(outfile).href)) as typeof import('../../src/index.js');
    const breaker = new dist.CircuitBreaker({ name: 'users', failureThreshold: 1, timeout: 1, clock: { now: () => 0 } });
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    const open = await breaker.execute(() => 1).catch((e: unknown) => e as Error);
    // pino's err serializer: `type: err.constructor.name`; Fastify logs errors with it.
    expect({ open: open.constructor.name, timeoutClass: dist.TimeoutError.name, openClass: dist.CircuitOpenError.name }).toEqual({
      open: 'CircuitOpenError',
      timeoutClass: 'TimeoutError',
      openClass: 'CircuitOpenError',
    });
  });
});

describe('migrating.md "From cockatiel", the breakwater side, with Node fetch', () => {
  it('is the code tested here', () => {
    expect(migrating).toContain('isFailure: (e) => e instanceof TypeError || (e instanceof HttpError && e.status >= 500),');
  });

  it('an upstream answering 503, then refusing connections, opens the circuit', async () => {
    let mode: 'down' | 'gone' = 'down';
    const url = await upstream((req, res) => {
      if (mode === 'gone') req.socket.destroy();
      else {
        res.writeHead(503);
        res.end('down');
      }
    });
    class HttpError extends Error {
      constructor(readonly status: number) {
        super(`HTTP ${status}`);
      }
    }
    const make = () =>
      new CircuitBreaker({
        recoveryTimeout: 10_000,
        failureThreshold: 5,
        isFailure: (e) => e instanceof TypeError || (e instanceof HttpError && e.status >= 500),
      });
    const call = (breaker: CircuitBreaker) =>
      breaker.execute(async ({ signal }) => {
        const res = await fetch(url, { signal });
        if (!res.ok) throw new HttpError(res.status);
        return res.json();
      });
    const answering503 = make();
    for (let i = 0; i < 5; i++) await call(answering503).catch(() => {});
    expect(answering503.state).toBe('open');
    mode = 'gone';
    const refused = make(); // fetch rejects with `TypeError: fetch failed`
    for (let i = 0; i < 5; i++) await call(refused).catch(() => {});
    expect(refused.state).toBe('open');
  });
});

describe('guide.md alert on a circuit that has not closed, against an upstream that is down for 30 minutes', () => {
  it('is the rule tested here', () => {
    expect(guide).toContain('expr: max by (breaker) (breakwater_state{state=~"open|half-open|forced-open"}) == 1');
  });

  it('each recovery window passes through half-open: counting half-open, the rule holds for the whole outage', async () => {
    // The quick start's breaker (failureThreshold 5, recoveryTimeout 30 s); the upstream is down and every call
    // fails after 5 s (the quick start's timeout, or a gateway's); one call a second; the rule is evaluated every
    // 30 s. Time is the breaker's clock, moved by hand.
    let t = 0;
    const breaker = new CircuitBreaker({ name: 'quotes-api', failureThreshold: 5, recoveryTimeout: 30_000, clock: { now: () => t } });
    const pending: { at: number; reject: (e: Error) => void }[] = [];
    const flush = async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    const evaluations: string[] = [];
    for (; t <= 30 * 60_000; t += 500) {
      for (const p of pending.filter((p) => p.at <= t)) {
        pending.splice(pending.indexOf(p), 1);
        p.reject(new Error('upstream down'));
      }
      await flush();
      if (t % 1_000 === 0) breaker.execute(() => new Promise((_, reject) => pending.push({ at: t + 5_000, reject }))).catch(() => {});
      await flush();
      if (t % 30_000 === 0) evaluations.push(breaker.state);
    }
    let run = 0;
    let longest = 0;
    for (const state of evaluations) {
      run = state === 'open' || state === 'half-open' || state === 'forced-open' ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    expect(evaluations.slice(1)).not.toContain('closed'); // down the whole time: never closed after the first evaluation
    // `for: 5m` at a 30 s evaluation interval needs 11 evaluations in a row (on `open` alone the longest run was 6).
    expect(longest).toBeGreaterThanOrEqual(11);
  });
});
