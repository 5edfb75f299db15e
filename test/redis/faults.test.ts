// Redis killed, paused (SIGSTOP) and slowed (CLIENT PAUSE) mid-run: calls keep flowing on local
// state, callers never see a store error, nothing is left unhandled (the setup file fails the run
// on any unhandled rejection), and the fleet shares one breaker again once Redis answers.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { info() {}, warn() {}, error() {} };

describe.skipIf(!redisAvailable())('store faults on a real Redis', () => {
  let server: RedisServer;
  let io: Redis;
  let nr: ReturnType<typeof createClient>;
  let nrSub: ReturnType<typeof createClient>;
  let ioSub: Redis;
  let admin: Redis;
  let round = 0;

  beforeAll(async () => {
    server = await startRedis();
    io = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    ioSub = io.duplicate();
    admin = io.duplicate();
    for (const c of [io, ioSub, admin]) c.on('error', () => {});
    nr = createClient({ url: server.url, socket: { reconnectStrategy: () => 50 } });
    nr.on('error', () => {});
    await nr.connect();
    nrSub = nr.duplicate();
    nrSub.on('error', () => {});
    await nrSub.connect();
  });

  afterAll(async () => {
    io?.disconnect();
    ioSub?.disconnect();
    admin?.disconnect();
    nr?.destroy();
    nrSub?.destroy();
    server?.stop();
  });

  beforeEach(async () => {
    round++;
    // A test that failed half-way must not leave the next one without a server.
    try {
      server.pid();
    } catch {
      await server.start();
    }
  });

  /** Mostly successes, some upstream failures (never three in a row): the breakers must write to the store. */
  const mixed = () => {
    let n = 0;
    return () => (++n % 5 === 0 ? Promise.reject(new Error('upstream')) : 'ok');
  };
  const onlyUpstreamErrors = (errors: unknown[]) => errors.every((e) => (e as Error).message === 'upstream');

  /** Two instances of one breaker, one per client library. */
  function pair() {
    const name = `faulty-${round}`;
    const options = { name, failureThreshold: 3, recoveryTimeout: 300, syncInterval: 50, logger: quiet };
    const a = new CircuitBreaker({ ...options, store: new RedisStore({ client: io, subscriber: ioSub, timeout: 100 }) });
    const b = new CircuitBreaker({ ...options, store: new RedisStore({ client: nr, subscriber: nrSub, timeout: 100 }) });
    const events: { storeError: [number, number]; storeRecovered: [number, number] } = { storeError: [0, 0], storeRecovered: [0, 0] };
    for (const i of [0, 1] as const) {
      const breaker = i === 0 ? a : b;
      breaker.on('storeError', () => {
        events.storeError[i]++;
      });
      breaker.on('storeRecovered', () => {
        events.storeRecovered[i]++;
      });
    }
    return { a, b, events };
  }

  /** Calls both breakers every few ms for `ms`; returns what callers saw. */
  async function traffic(breakers: CircuitBreaker[], ms: number, fn: () => unknown = () => 'ok') {
    const seen = { values: 0, open: 0, other: [] as unknown[] };
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const results = await Promise.allSettled(breakers.map((b) => b.execute(fn)));
      for (const r of results) {
        if (r.status === 'fulfilled') seen.values++;
        else if (r.reason instanceof CircuitOpenError) seen.open++;
        else seen.other.push(r.reason);
      }
      await sleep(5);
    }
    return seen;
  }

  async function expectShared(a: CircuitBreaker, b: CircuitBreaker) {
    for (let i = 0; i < 3; i++) await a.execute(() => Promise.reject(new Error('upstream'))).catch(() => {});
    const end = Date.now() + 2_000;
    while (b.state !== 'open' && Date.now() < end) await sleep(5);
    expect(b.state).toBe('open');
    a.close();
    while (b.state !== 'closed' && Date.now() < end) await sleep(5);
    expect(b.state).toBe('closed');
  }

  async function recover(a: CircuitBreaker, b: CircuitBreaker, events: ReturnType<typeof pair>['events']) {
    const end = Date.now() + 5_000;
    while ((events.storeRecovered[0] === 0 || events.storeRecovered[1] === 0) && Date.now() < end) await traffic([a, b], 50);
    expect(events.storeRecovered).toEqual([1, 1]);
  }

  it('Redis killed: calls flow on local state, one fault event each, shared again after restart', async () => {
    const { a, b, events } = pair();
    await traffic([a, b], 100);
    server.kill();
    const during = await traffic([a, b], 1_200, mixed());
    expect(onlyUpstreamErrors(during.other)).toBe(true);
    expect(during.values).toBeGreaterThan(50);
    expect(events.storeError).toEqual([1, 1]);
    // Local state still works as a breaker while Redis is gone.
    for (let i = 0; i < 3; i++) await a.execute(() => Promise.reject(new Error('upstream'))).catch(() => {});
    expect(a.state).toBe('open');
    await server.start();
    await sleep(300); // the clients reconnect on their own schedule
    await recover(a, b, events);
    await expectShared(a, b);
  }, 20_000);

  it('Redis paused (SIGSTOP): calls flow, then resync after SIGCONT', async () => {
    const { a, b, events } = pair();
    await traffic([a, b], 100);
    process.kill(server.pid(), 'SIGSTOP');
    try {
      const during = await traffic([a, b], 800, mixed());
      expect(onlyUpstreamErrors(during.other)).toBe(true);
      expect(during.values).toBeGreaterThan(30);
      expect(events.storeError).toEqual([1, 1]);
    } finally {
      process.kill(server.pid(), 'SIGCONT');
    }
    await recover(a, b, events);
    await expectShared(a, b);
  }, 20_000);

  it('Redis slowed (CLIENT PAUSE): calls never wait for it, and the breakers resync', async () => {
    const { a, b, events } = pair();
    await traffic([a, b], 100);
    await admin.call('CLIENT', 'PAUSE', '700', 'ALL');
    const started = Date.now();
    const during = await traffic([a, b], 600, () => Promise.reject(new Error('upstream')));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(onlyUpstreamErrors(during.other)).toBe(true);
    expect(events.storeError).toEqual([1, 1]);
    expect(during.open).toBeGreaterThan(0); // local breakers opened on their own while the store was slow
    await sleep(200);
    await recover(a, b, events);
    await expectShared(a, b);
  }, 20_000);
});
