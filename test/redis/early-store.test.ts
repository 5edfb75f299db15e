// A store made before its connections are up (no offline queue, no wait for 'ready'): the subscription is made once the
// subscriber is ready, so changes still arrive by message.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const silent = { info() {}, warn() {}, error() {} };

describe('a RedisStore made before its connections are up', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  let other: Redis;
  beforeAll(async () => {
    server = await startRedis();
    other = new Redis(server.url);
    other.on('error', () => {});
    clients.push(other);
    await new Promise((r) => other.once('ready', r));
  });
  afterAll(() => {
    for (const c of clients) c.disconnect();
    server?.stop();
  });

  async function setUp(name: string, waitForReady: boolean) {
    const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    const subscriber = client.duplicate();
    client.on('error', () => {});
    subscriber.on('error', () => {});
    clients.push(client, subscriber);
    if (waitForReady) await Promise.all([client, subscriber].map((c) => new Promise((r) => c.once('ready', r))));
    const store = new RedisStore({ client, subscriber });
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const breaker = new CircuitBreaker({ name, store, failureThreshold: 1, recoveryTimeout: 30_000, logger });
    await sleep(200);
    // Another instance opens the shared circuit; our breaker makes no call meanwhile.
    const b = new CircuitBreaker({
      name,
      store: new RedisStore({ client: other }),
      failureThreshold: 1,
      recoveryTimeout: 30_000,
      logger: silent,
    });
    await sleep(50);
    await b.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    await sleep(200);
    return { breaker, logger };
  }

  it('made before the subscriber is ready: it subscribes when it is, and hears the change by message', async () => {
    const { breaker } = await setUp('doc-b', false);
    expect(breaker.state).toBe('open');
  });

  it('made after both connections are ready (as docs/fleet.md does): no store fault, and the change by message', async () => {
    const { breaker, logger } = await setUp('doc-c', true);
    expect(logger.error).not.toHaveBeenCalled();
    expect(breaker.state).toBe('open');
  });
});
