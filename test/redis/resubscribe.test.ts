// Subscriptions on a real Redis: a store whose last breaker left and a new one joins; stores sharing a subscriber.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SharedRecord } from '../../src/fleet/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { until } from '../helpers/real-time.js';
import { answered } from '../helpers/redis-pubsub.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

const available = redisAvailable();
/** The identity a write replaces: none (no record), or a version written by `writer`. */
const none = { version: '', writer: '' };

const write = (writer: string) => ({
  circuit: '["closed",0,"initial",0,0,0,0,0,0]',
  tracker: '{"kind":"consecutive","failures":0}',
  settings: 'abcd1234',
  writer,
  at: 0,
  ttl: 10_000,
});

describe.skipIf(!available)('subscriptions on a real Redis', () => {
  let server: RedisServer;
  let io: Redis;
  let ioSub: Redis;
  let nr: ReturnType<typeof createClient>;
  let nrSub: ReturnType<typeof createClient>;

  beforeAll(async () => {
    server = await startRedis();
    io = new Redis({ port: server.port, host: '127.0.0.1' });
    ioSub = io.duplicate();
    nr = createClient({ url: server.url });
    await nr.connect();
    nrSub = nr.duplicate();
    await nrSub.connect();
  });
  afterAll(async () => {
    io?.disconnect();
    ioSub?.disconnect();
    await nr?.quit();
    await nrSub?.quit();
    server?.stop();
  });

  for (const which of ['ioredis', 'node-redis'] as const) {
    it(`${which}: leave and join in the same tick, before the first SUBSCRIBE was confirmed`, async () => {
      const [client, subscriber] = which === 'ioredis' ? [io, ioSub] : [nr, nrSub];
      const store = new RedisStore({ client, subscriber, prefix: `fast-${which}` });
      const off = store.subscribe?.('n', () => {});
      off?.();
      const heard: SharedRecord[] = [];
      const off2 = store.subscribe?.('n', (r) => heard.push(r));
      // Subscribed, left and subscribed again: once the subscriber answers, the last of these is in effect.
      await answered(subscriber);
      await store.compareAndSet('n', none, write('x'));
      expect(await until(() => heard.length === 1)).toBe(true);
      off2?.();
    });

    it(`${which}: after the last listener left, a new one at once hears the next write`, async () => {
      const [client, subscriber] = which === 'ioredis' ? [io, ioSub] : [nr, nrSub];
      const store = new RedisStore({ client, subscriber, prefix: `re-${which}` });
      const first: string[] = [];
      const off = store.subscribe?.('n', (r) => first.push(r.version));
      await answered(subscriber);
      off?.();
      await Promise.resolve();
      const heard: SharedRecord[] = [];
      const off2 = store.subscribe?.('n', (r) => heard.push(r));
      await answered(subscriber);
      const r = await store.compareAndSet('n', none, write('x'));
      expect(r.ok).toBe(true);
      expect(await until(() => heard.length === 1)).toBe(true);
      off2?.();
    });

    it(`${which}: two stores with different prefixes on one subscriber; one leaves, the other still hears`, async () => {
      const [client, subscriber] = which === 'ioredis' ? [io, ioSub] : [nr, nrSub];
      const s1 = new RedisStore({ client, subscriber, prefix: `p1-${which}` });
      const s2 = new RedisStore({ client, subscriber, prefix: `p2-${which}` });
      const h1: string[] = [];
      const h2: string[] = [];
      const off1 = s1.subscribe?.('n', (r) => h1.push(r.version));
      const off2 = s2.subscribe?.('n', (r) => h2.push(r.version));
      await answered(subscriber);
      off1?.();
      await answered(subscriber); // s1's leave is in effect on the server
      await s2.compareAndSet('n', none, write('y'));
      await s1.compareAndSet('n', none, write('y'));
      expect(await until(() => h2.length === 1)).toBe(true);
      await answered(subscriber); // s1's message, if sent to this connection at all, has arrived
      expect(h1).toEqual([]);
      off2?.();
    });

    it(`${which}: two stores with the same prefix on one subscriber; one leaves, the other still hears`, async () => {
      const [client, subscriber] = which === 'ioredis' ? [io, ioSub] : [nr, nrSub];
      const s1 = new RedisStore({ client, subscriber, prefix: `same-${which}` });
      const s2 = new RedisStore({ client, subscriber, prefix: `same-${which}` });
      const h2: string[] = [];
      const off1 = s1.subscribe?.('a', () => {});
      const off2 = s2.subscribe?.('b', (r) => h2.push(r.version));
      await answered(subscriber);
      off1?.();
      await answered(subscriber); // s1's leave is in effect on the server
      await s2.compareAndSet('b', none, write('y'));
      expect(await until(() => h2.length === 1)).toBe(true);
      off2?.();
    });
  }
});
