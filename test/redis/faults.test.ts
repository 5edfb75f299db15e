// Fleet mode on a real Redis under faults: probe slots across dispose and timeouts, a lost subscriber connection, a lost key, listeners per connection.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { CountingStore } from '../helpers/counting-store.js';
import { quiet } from '../helpers/fleet-fixtures.js';
import { sleep, until, untilOrThrow } from '../helpers/real-time.js';
import { answered } from '../helpers/redis-pubsub.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

const fail = () => Promise.reject(new Error('upstream down'));
const ok = () => Promise.resolve('ok');

describe.skipIf(!redisAvailable())('fleet mode on a real Redis, under faults', () => {
  let server: RedisServer;
  let io: Redis;
  let io2: Redis;
  let sub: Redis;
  let sub2: Redis;
  let admin: Redis;
  let n = 0;

  beforeAll(async () => {
    server = await startRedis();
    const opts = { port: server.port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    io = new Redis(opts);
    io2 = new Redis(opts);
    sub = new Redis({ port: server.port, host: '127.0.0.1', connectionName: 'sub-a' });
    sub2 = new Redis({ port: server.port, host: '127.0.0.1', connectionName: 'sub-b' });
    admin = new Redis({ port: server.port, host: '127.0.0.1' });
    for (const c of [io, io2, sub, sub2, admin]) c.on('error', () => {});
    await until(() => [io, io2, sub, sub2, admin].every((c) => c.status === 'ready'));
  });

  afterAll(() => {
    for (const c of [io, io2, sub, sub2, admin]) c?.disconnect();
    server?.stop();
  });

  const circuitOf = async (name: string) => JSON.parse((await admin.hget(`{breakwater:${name}}`, 'c')) ?? 'null');

  /**
   * Once recoveryTimeout (100 ms) is over for `a`, which opened the circuit, its write answered. Time, not a state: the
   * store admits a probe by `a`'s estimate of its clock, which lags it by the delay of `a`'s last answer, so 150 ms
   * counted from that answer put the estimate past the end however late the answer came. `a`'s own view may turn
   * half-open a little before (it may adopt the record from its own message, before the answer) or after (converted
   * by an older answer's offset): that is a state, waited for.
   */
  async function recovered(a: CircuitBreaker): Promise<void> {
    await sleep(150);
    expect(await until(() => a.state === 'half-open')).toBe(true);
  }

  /** Once the breakers on these stores have joined: each store answered a first read, each SUBSCRIBE is confirmed. */
  async function joined(stores: readonly CountingStore[], subscribers: ReadonlyArray<{ ping(): Promise<unknown> }>) {
    await untilOrThrow(() => stores.every((s) => s.reads > 0));
    await answered(...subscribers);
  }

  it('dispose() while a fleet-wide probe is in flight: the probe outcome still releases the shared slot', async () => {
    const name = `dispose-probe-${++n}`;
    const options = { name, failureThreshold: 1, recoveryTimeout: 100, maxProbeWait: 10_000, logger: quiet() };
    const sa = new CountingStore({ client: io, subscriber: sub });
    const sb = new CountingStore({ client: io2, subscriber: sub2 });
    const a = new CircuitBreaker({ ...options, store: sa });
    const b = new CircuitBreaker({ ...options, store: sb });
    await joined([sa, sb], [sub, sub2]);
    await a.execute(fail).catch(() => {});
    await a.flush();
    // B hears of it (open, or half-open already: the open state lasts 100 ms, which a busy machine may not poll in).
    expect(await until(() => b.state !== 'closed')).toBe(true);
    await recovered(a);
    let settle: ((v: string) => void) | undefined;
    const probe = a.execute(() => new Promise<string>((r) => (settle = r)));
    expect(await until(() => settle !== undefined)).toBe(true); // A runs the fleet's probe
    expect((await circuitOf(name))?.[5]).toBe(1); // the shared slot is taken
    await a.dispose(); // e.g. a registry drops the breaker
    settle?.('ok');
    await expect(probe).resolves.toBe('ok'); // the upstream is healthy again
    // The fleet should close (or at least let B probe); the slot is held until maxProbeWait (10 s) instead.
    await until(async () => (await circuitOf(name))?.[0] === 'closed');
    const shared = await circuitOf(name);
    expect(shared[0]).toBe('closed');
    await expect(b.execute(ok)).resolves.toBe('ok');
    await b.dispose();
  }, 15_000);

  it('a probe-slot request that timed out but reached Redis anyway is released when the store answers again', async () => {
    const name = `late-probe-${++n}`;
    const options = { name, failureThreshold: 1, recoveryTimeout: 100, maxProbeWait: 10_000, logger: quiet() };
    // A timeout a busy machine does not reach before the pause below: only the probe-slot request times out.
    const sa = new CountingStore({ client: io, subscriber: sub, timeout: 1_000 });
    const sb = new CountingStore({ client: io2, subscriber: sub2, timeout: 1_000 });
    const a = new CircuitBreaker({ ...options, store: sa });
    const b = new CircuitBreaker({ ...options, store: sb });
    await joined([sa, sb], [sub, sub2]);
    await a.execute(fail).catch(() => {});
    await a.flush();
    // B hears of it (open, or half-open already: the open state lasts 100 ms, which a busy machine may not poll in).
    expect(await until(() => b.state !== 'closed')).toBe(true);
    await recovered(a);
    await admin.call('CLIENT', 'PAUSE', '2500', 'ALL'); // Redis slow for 2.5 s
    // A asks for the probe slot; the store times out (the command is on the wire, so it still lands, offline
    // queue or not); A probes on its local circuit and the upstream answers.
    await expect(a.execute(ok)).resolves.toBe('ok');
    expect(a.state).toBe('closed');
    // Once the store answers, A writes its probe's outcome to the slot its request took: the fleet closes,
    // instead of waiting maxProbeWait (10 s) for a slot nobody holds.
    expect(await until(async () => (await circuitOf(name))?.[0] === 'closed', 8_000)).toBe(true);
    expect(await until(() => b.state === 'closed')).toBe(true);
    await a.dispose();
    await b.dispose();
  }, 20_000);

  it('pub/sub connection dropped and re-established: a change published meanwhile reaches the instance', async () => {
    const name = `pubsub-${++n}`;
    const options = { name, failureThreshold: 1, recoveryTimeout: 60_000, logger: quiet() };
    const sa = new CountingStore({ client: io, subscriber: sub });
    const sb = new CountingStore({ client: io2, subscriber: sub2 });
    const a = new CircuitBreaker({ ...options, store: sa });
    const b = new CircuitBreaker({ ...options, store: sb });
    await joined([sa, sb], [sub, sub2]);
    await a.execute(ok);
    // A's subscriber connection is lost (network blip, proxy idle timeout); its command connection stays up.
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes');
    await b.execute(fail).catch(() => {}); // B opens the fleet's circuit while A's subscriber reconnects
    await b.flush();
    expect(b.state).toBe('open');
    await until(() => sub.status === 'ready' && sub2.status === 'ready');
    // Successes in consecutive mode write nothing, and the safety-net re-read runs at most every 5 s: only the
    // store's re-read after the reconnection can tell A, which must then call the dead upstream no more.
    expect(await until(() => a.state === 'open')).toBe(true);
    let calls = 0;
    for (let i = 0; i < 20; i++) {
      await a
        .execute(() => {
          calls++;
          return 'ok';
        })
        .catch(() => {});
      // Calls spread over time as traffic comes: a pace, not a state (recoveryTimeout, 60 s, keeps A open).
      await sleep(10);
    }
    expect(a.state).toBe('open');
    expect(calls).toBe(0);
    await a.dispose();
    await b.dispose();
  }, 15_000);

  it('node-redis: a subscriber connection that reconnects re-reads what it missed', async () => {
    const name = `pubsub-nr-${++n}`;
    const nr = createClient({ url: server.url });
    nr.on('error', () => {});
    await nr.connect();
    const nrSub = nr.duplicate({ name: 'sub-nr' });
    nrSub.on('error', () => {});
    await nrSub.connect();
    const options = { name, failureThreshold: 1, recoveryTimeout: 60_000, logger: quiet() };
    const sa = new CountingStore({ client: nr, subscriber: nrSub });
    const sb = new CountingStore({ client: io2, subscriber: sub2 });
    const a = new CircuitBreaker({ ...options, store: sa });
    const b = new CircuitBreaker({ ...options, store: sb });
    await joined([sa, sb], [nrSub, sub2]);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes');
    await b.execute(fail).catch(() => {});
    await b.flush();
    expect(await until(() => a.state === 'open', 3_000)).toBe(true);
    await a.dispose();
    await b.dispose();
    await nrSub.quit();
    await nr.quit();
  }, 15_000);

  it.each(['FLUSHALL', 'key expiry'])(
    'after the key is lost (%s), failureThreshold failures in total still open the circuit',
    async (how) => {
      const name = `lost-key-${++n}`;
      const options = { name, failureThreshold: 2, recoveryTimeout: 100, maxProbeWait: 100, logger: quiet() };
      const store = new CountingStore({ client: io, subscriber: sub, ttl: 1 });
      const a = new CircuitBreaker({ ...options, store });
      await joined([store], [sub]);
      // One full cycle: open, half-open, closed by a probe (the shared generation is now 3).
      for (let i = 0; i < 2; i++) await a.execute(fail).catch(() => {});
      await a.flush();
      expect(a.state).toBe('open');
      await recovered(a);
      await expect(a.execute(ok)).resolves.toBe('ok');
      await a.flush();
      expect(a.state).toBe('closed');
      if (how === 'FLUSHALL') await admin.flushall();
      else expect(await until(async () => (await admin.exists(`{breakwater:${name}}`)) === 0)).toBe(true); // 2 × maxProbeWait
      // The upstream dies again: two failures in a row, as in a lone breaker, should open the circuit.
      for (let i = 0; i < 2; i++) {
        await a.execute(fail).catch(() => {});
        await a.flush();
      }
      expect(a.state).toBe('open'); // the first failure counts, though admitted under the lost record's generation
      await a.dispose();
    },
    10_000,
  );

  it('instances whose clocks disagree by hours open, probe and close at the same moments', async () => {
    const name = `skew-${++n}`;
    const options = { name, failureThreshold: 1, recoveryTimeout: 300, logger: quiet() };
    const sa = new CountingStore({ client: io, subscriber: sub });
    const sb = new CountingStore({ client: io2, subscriber: sub2 });
    const a = new CircuitBreaker({ ...options, clock: { now: () => performance.now() + 7_200_000 }, store: sa });
    const b = new CircuitBreaker({ ...options, clock: { now: () => performance.now() - 3_600_000 }, store: sb });
    await joined([sa, sb], [sub, sub2]);
    await a.execute(fail).catch(() => {});
    await a.flush();
    expect(await until(() => b.state === 'open')).toBe(true);
    const ra = a.metrics().retryAfter;
    const rb = b.metrics().retryAfter;
    expect(Math.abs(ra - rb)).toBeLessThan(50);
    expect(rb).toBeGreaterThan(200);
    // recoveryTimeout on the store's clock: both reach half-open within 2 s, though their own clocks are hours apart.
    await until(() => a.state === 'half-open' && b.state === 'half-open', 2_000);
    expect([a.state, b.state]).toEqual(['half-open', 'half-open']);
    await expect(b.execute(ok)).resolves.toBe('ok');
    expect(await until(() => a.state === 'closed')).toBe(true);
    await a.dispose();
    await b.dispose();
  });

  it('RedisStores made on one subscriber connection do not pile up message listeners on it', async () => {
    const shared = new Redis({ port: server.port, host: '127.0.0.1' });
    shared.on('error', () => {});
    const before = shared.listenerCount('message');
    // e.g. a store per breaker (registry optionsFor), each disposed after use
    for (let i = 0; i < 20; i++) {
      const b = new CircuitBreaker({ name: `per-key-${i}`, store: new RedisStore({ client: io, subscriber: shared }), logger: quiet() });
      await b.dispose();
    }
    expect(shared.listenerCount('message') - before).toBeLessThanOrEqual(1); // one per connection, not one per store
    shared.disconnect();
  });

  it.each([1, 3])(
    'many instances race for the half-open trial: exactly halfOpenProbes=%i probes fleet-wide',
    async (probes) => {
      const name = `race-${probes}-${++n}`;
      const options = { name, failureThreshold: 1, recoveryTimeout: 600, maxProbeWait: 10_000, halfOpenProbes: probes, logger: quiet() };
      const stores = Array.from({ length: 12 }, (_, i) => new CountingStore({ client: i % 2 ? io : io2, subscriber: i % 2 ? sub : sub2 }));
      const breakers = stores.map((store) => new CircuitBreaker({ ...options, store }));
      await joined(stores, [sub, sub2]);
      await breakers[0]?.execute(fail).catch(() => {});
      expect(await until(() => breakers.every((b) => b.state === 'open'))).toBe(true);
      expect(await until(() => breakers.every((b) => b.state === 'half-open'))).toBe(true);
      let started = 0;
      const never = () => {
        started++;
        return new Promise(() => {});
      };
      const results = await Promise.allSettled(
        breakers.flatMap((b) => [b.execute(never), b.execute(never)]).map((p) => Promise.race([p, sleep(500)])),
      );
      expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof CircuitOpenError).length).toBe(24 - probes);
      expect(started).toBe(probes);
      await Promise.all(breakers.map((b) => b.dispose()));
    },
    15_000,
  );
});
