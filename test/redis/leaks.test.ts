// Long-run resource growth on a real Redis: listeners on the connections, channel subscriptions and reads, after
// many stores and breakers were created and dropped, while connected and across an outage of the subscriber.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { quiet, tick } from '../helpers/fleet-fixtures.js';
import { until } from '../helpers/real-time.js';
import { answered, numsub } from '../helpers/redis-pubsub.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

const fail = () => Promise.reject(new Error('upstream down'));
const ok = () => Promise.resolve('ok');

/**
 * Resolves a turn after the next failed connection attempt of a node-redis client without an offline queue: it
 * refuses every command it had queued then (a SUBSCRIBE sent while it is down waits for that).
 */
const nextFailure = (client: { once(event: 'error', listener: () => void): unknown }) =>
  new Promise<void>((resolve) => client.once('error', () => resolve())).then(tick);

describe.skipIf(!redisAvailable())('resource growth on a real Redis', () => {
  let server: RedisServer;
  let admin: Redis;
  const cleanups: Array<() => unknown> = [];

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis({ port: server.port, host: '127.0.0.1' });
    admin.on('error', () => {});
  });
  afterAll(async () => {
    for (const c of cleanups) {
      try {
        await c();
      } catch {
        // already closed
      }
    }
    admin?.disconnect();
    server?.stop();
  });

  it('ioredis, connected: 200 stores × breakers created, called and disposed add no listener per store', async () => {
    const client = new Redis({ port: server.port, host: '127.0.0.1' });
    const sub = client.duplicate();
    for (const c of [client, sub]) c.on('error', () => {});
    cleanups.push(
      () => client.disconnect(),
      () => sub.disconnect(),
    );
    await until(() => client.status === 'ready' && sub.status === 'ready');
    const base = { message: sub.listenerCount('message'), ready: sub.listenerCount('ready'), clientReady: client.listenerCount('ready') };
    for (let i = 0; i < 200; i++) {
      const store = new RedisStore({ client, subscriber: sub, prefix: i % 2 ? 'lk-a' : 'lk-b' });
      const breakers = [0, 1, 2].map(
        (j) => new CircuitBreaker({ name: `n${j}`, store, failureThreshold: 2, recoveryTimeout: 50, logger: quiet() }),
      );
      for (const b of breakers) await b.execute(i % 3 ? ok : fail).catch(() => {});
      await Promise.all(breakers.map((b) => b.dispose()));
    }
    await answered(sub); // every SUBSCRIBE the stores sent is confirmed, and what its answer set off has run
    expect(sub.listenerCount('message') - base.message).toBeLessThanOrEqual(1);
    expect(sub.listenerCount('ready') - base.ready).toBeLessThanOrEqual(1);
    expect(client.listenerCount('ready') - base.clientReady).toBe(0);
  });

  it('node-redis, connected: stores and breakers created and disposed leave no subscription and no listener', async () => {
    const client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    const sub = client.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    // Closed at once: a later test restarts Redis, and quit() waits for ever on a client still reconnecting.
    cleanups.push(
      () => client.destroy(),
      () => sub.destroy(),
    );
    const base = { ready: sub.listenerCount('ready') };
    for (let i = 0; i < 100; i++) {
      const store = new RedisStore({ client, subscriber: sub, prefix: 'lk-nr' });
      const breakers = [0, 1, 2].map(
        (j) => new CircuitBreaker({ name: `n${j}`, store, failureThreshold: 2, recoveryTimeout: 50, logger: quiet() }),
      );
      for (const b of breakers) await b.execute(i % 3 ? ok : fail).catch(() => {});
      await Promise.all(breakers.map((b) => b.dispose()));
    }
    expect(await until(async () => (await numsub(admin, 'lk-nr:changes')) === 0)).toBe(true);
    expect(sub.listenerCount('ready') - base.ready).toBeLessThanOrEqual(1);
  });

  // A subscriber without an offline queue (as test/redis/early-store.test.ts and docs/fleet.md describe) during a
  // Redis outage: each breaker that joins a store whose last breaker left subscribes again; SUBSCRIBE is refused, and
  // a retry waits for 'ready'. A breaker disposed meanwhile must take that retry with it.
  describe('breakers created and dropped while the subscriber is down', () => {
    const CYCLES = 50;
    /**
     * After a reconnection: once what was sent at reconnection is answered, waits (up to 2 s) for nothing of the
     * channel to be held, as an answer may still set off an UNSUBSCRIBE. What stays held is what the test reports.
     */
    async function settledClean(sub: { ping(): Promise<unknown> }, channel: string, empty = () => true): Promise<void> {
      await answered(sub);
      await until(async () => empty() && (await numsub(admin, channel)) === 0, 2_000);
    }
    /**
     * Request-scoped keys: each breaker joins, makes a call and is dropped (a registry evicting it, say). `refused`
     * resolves once every SUBSCRIBE they sent was refused, and what the refusals set off has run.
     */
    async function dropBreakers(store: RedisStore, refused: () => Promise<void>): Promise<void> {
      for (let i = 0; i < CYCLES; i++) {
        const b = new CircuitBreaker({ name: `gone-${i}`, store, failureThreshold: 2, logger: quiet() });
        await b.execute(ok).catch(() => {});
        await b.dispose();
      }
      await refused();
    }

    it('ioredis: a dropped breaker takes its subscription retry with it (no "ready" listener piles up, no extra re-reads at reconnection)', async () => {
      const io = new Redis({ port: server.port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      // The command connection counts the READ scripts sent.
      let reads = 0;
      const counted = {
        options: io.options,
        call: (command: string, ...args: string[]) => {
          if (command === 'EVALSHA' || command === 'EVAL') {
            if (args[2] === '{lk-out-io:kept}' && args.length === 3) reads++;
          }
          return io.call(command, ...args);
        },
      };
      const sub = new Redis({ port: server.port, host: '127.0.0.1', enableOfflineQueue: false, retryStrategy: () => 50 });
      for (const c of [io, sub]) c.on('error', () => {});
      cleanups.push(
        () => io.disconnect(),
        () => sub.disconnect(),
      );
      await until(() => io.status === 'ready' && sub.status === 'ready');
      const store = new RedisStore({ client: counted, subscriber: sub, prefix: 'lk-out-io', timeout: 100 });
      const baseReady = sub.listenerCount('ready');
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on('warning', onWarning);
      cleanups.push(() => process.off('warning', onWarning));

      server.kill();
      expect(await until(() => sub.status !== 'ready')).toBe(true);
      // Without an offline queue, a SUBSCRIBE is refused at once.
      await dropBreakers(store, tick);
      const readyDuringOutage = sub.listenerCount('ready') - baseReady;
      // One breaker of the store lives on (on the store's fallback while Redis is down).
      const kept = new CircuitBreaker({ name: 'kept', store, failureThreshold: 2, logger: quiet() });
      const faults: unknown[] = [];
      kept.on('storeError', (e) => faults.push(e));
      expect(await until(() => faults.length > 0), 'the kept breaker meets the outage').toBe(true);

      const readsBefore = reads;
      await server.start();
      expect(await until(() => io.status === 'ready' && sub.status === 'ready')).toBe(true);
      // The store reads its one live record back at reconnection (and the breaker itself reads it as it recovers):
      // once the subscriber answered, every SUBSCRIBE sent at reconnection was, and the re-reads they set off are
      // sent; once the client answered, those were, and the breaker's own read is sent.
      await answered(sub);
      await answered(io);
      const readsAtReconnect = reads - readsBefore;
      await kept.dispose();

      // Before the fix (CYCLES = 50): 51 `ready` listeners, one MaxListenersExceededWarning, 51 reads (103 in one run).
      expect.soft(readyDuringOutage, "'ready' listeners on the subscriber during the outage").toBeLessThanOrEqual(2);
      expect.soft(warnings.filter((w) => w === 'MaxListenersExceededWarning').length, 'MaxListenersExceededWarning').toBe(0);
      expect.soft(readsAtReconnect, 'reads of the one live record at reconnection').toBeLessThanOrEqual(3);
    });

    it('node-redis, a store made before its subscriber is up: breakers dropped before it is up leave no listener and no subscription', async () => {
      server.kill();
      const client = createClient({ url: server.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } });
      const sub = createClient({ url: server.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } });
      for (const c of [client, sub]) c.on('error', () => {});
      let subFailures = 0;
      sub.on('error', () => subFailures++);
      const connecting = Promise.all([client.connect(), sub.connect()]).catch(() => {});
      cleanups.push(
        () => client.destroy(),
        () => sub.destroy(),
      );
      // A test-only view of the subscriber: which listeners node-redis holds (a SUBSCRIBE or UNSUBSCRIBE that resolved).
      const held = new Set<unknown>();
      const counted = {
        sendCommand: (args: string[]) => sub.sendCommand(args),
        get isReady() {
          return sub.isReady;
        },
        on: (event: string, listener: (...args: unknown[]) => void) => sub.on(event, listener),
        once: (event: string, listener: (...args: unknown[]) => void) => sub.once(event, listener),
        subscribe: (channel: string, listener: (message: string) => void) =>
          sub.subscribe(channel, listener).then((v) => {
            held.add(listener);
            return v;
          }),
        unsubscribe: (channel: string, listener: (message: string) => void) =>
          sub.unsubscribe(channel, listener).then((v) => {
            held.delete(listener);
            return v;
          }),
      };
      const store = new RedisStore({ client, subscriber: counted as never, prefix: 'lk-early-nr', timeout: 100 });
      expect(await until(() => subFailures > 0), 'the subscriber fails to connect').toBe(true);
      const baseReady = sub.listenerCount('ready');
      await dropBreakers(store, () => nextFailure(sub));
      const readyWhileDown = sub.listenerCount('ready') - baseReady;
      await server.start();
      await connecting;
      expect(await until(() => client.isReady && sub.isReady)).toBe(true);
      await settledClean(sub, 'lk-early-nr:changes', () => held.size === 0);
      const subscribedAfter = await numsub(admin, 'lk-early-nr:changes');
      // Before the fix (CYCLES = 50): 51 `ready` listeners while down; then 50 listeners held, NUMSUB 1.
      expect.soft(readyWhileDown, "'ready' listeners on the subscriber while it was down").toBeLessThanOrEqual(2);
      expect.soft(held.size, 'channel listeners node-redis holds with no breaker left').toBe(0);
      expect.soft(subscribedAfter, 'PUBSUB NUMSUB of the channel with no breaker left').toBe(0);
    });

    it('node-redis, a subscriber that was up and drops: breakers dropped meanwhile leave nothing subscribed (queued in order)', async () => {
      const client = createClient({ url: server.url, disableOfflineQueue: true });
      client.on('error', () => {});
      await client.connect();
      const sub = createClient({ url: server.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } });
      sub.on('error', () => {});
      await sub.connect();
      cleanups.push(
        () => client.destroy(),
        () => sub.destroy(),
      );
      const store = new RedisStore({ client, subscriber: sub, prefix: 'lk-out-nr', timeout: 100 });
      const baseReady = sub.listenerCount('ready');

      server.kill();
      expect(await until(() => !sub.isReady)).toBe(true);
      await dropBreakers(store, () => nextFailure(sub));
      const readyDuringOutage = sub.listenerCount('ready') - baseReady;

      await server.start();
      expect(await until(() => client.isReady && sub.isReady)).toBe(true);
      await settledClean(sub, 'lk-out-nr:changes');
      // No breaker of the store is left: the connection should hold nothing of it.
      const subscribedAfter = await numsub(admin, 'lk-out-nr:changes');
      expect({ readyDuringOutage: readyDuringOutage <= 2 ? 'bounded' : readyDuringOutage, subscribedAfter }).toEqual({
        readyDuringOutage: 'bounded',
        subscribedAfter: 0,
      });
    });
  });
});
