// A store made before its connections are up (no offline queue, no wait for 'ready'): the subscription is made once the
// subscriber is ready, so changes still arrive by message.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';

/** Resolves once `check()` holds; rejects if `ms` pass first. */
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
/** Breakers re-read the store on their own only after 5 s (with a subscriber): before that, a change came by message. */
const BY_MESSAGE = 4_000;
const CHANNEL = 'breakwater:changes';

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
    const subscribers = async () => ((await other.pubsub('NUMSUB', CHANNEL)) as [string, number])[1];
    const before = await subscribers();
    const store = new RedisStore({ client, subscriber });
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const breaker = new CircuitBreaker({ name, store, failureThreshold: 1, recoveryTimeout: 30_000, logger });
    await until(async () => (await subscribers()) > before, 10_000, 'the store subscribes');
    // Another instance opens the shared circuit; our breaker makes no call meanwhile.
    const otherLogger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const b = new CircuitBreaker({
      name,
      store: new RedisStore({ client: other }),
      failureThreshold: 1,
      recoveryTimeout: 30_000,
      logger: otherLogger,
    });
    await b.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    await b.flush();
    await until(() => breaker.state === 'open', BY_MESSAGE, 'the change arrives by message');
    expect(otherLogger.error).not.toHaveBeenCalled();
    return { breaker, logger };
  }

  it('made before the subscriber is ready: it subscribes when it is, and hears the change by message', async () => {
    const { breaker, logger } = await setUp('doc-b', false);
    expect(breaker.state).toBe('open');
    // Its first read, before the client was up, failed: reported to its logger as a store fault, and nothing else.
    const errors = logger.error.mock.calls.map(([record]) => (record as { event: string }).event);
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['breaker.storeError']));
  });

  it('made after both connections are ready (as docs/fleet.md does): no store fault, and the change by message', async () => {
    const { breaker, logger } = await setUp('doc-c', true);
    expect(logger.error).not.toHaveBeenCalled();
    expect(breaker.state).toBe('open');
  });
});
