// What fleet mode costs: Redis round trips per 1,000 calls (closed steady state, open, mixed),
// counted at the client. 1,000 calls over about one second, syncInterval 100 ms.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitBreakerOptions, countWindow } from '../../src/index.js';
import { CountingStore } from '../helpers/counting-store.js';
import { sleep, untilOrThrow } from '../helpers/real-time.js';
import { subscribers } from '../helpers/redis-pubsub.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

/** Which calls fail: a fixed pseudo-random pattern with the given rate (the same in every run). */
function failures(rate: number): (i: number) => boolean {
  const pattern: boolean[] = [];
  let x = 12345;
  for (let i = 0; i < 1_000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    pattern.push(x / 2147483648 < rate);
  }
  return (i) => pattern[i] === true;
}

describe.skipIf(!redisAvailable())('Redis round trips per 1,000 calls', () => {
  let server: RedisServer;
  let io: Redis;
  let sub: Redis;
  const figures: Record<string, number> = {};
  /**
   * How long the last measured breaker had been running when its run ended: a loaded machine stretches it past the
   * 5 s safety-net re-read. Counted from the breaker's creation, as its re-reads count from its last store answer.
   */
  let lastElapsed = 0;

  beforeAll(async () => {
    server = await startRedis();
    io = new Redis({ port: server.port, host: '127.0.0.1' });
    sub = io.duplicate();
  });

  afterAll(() => {
    console.log('round trips per 1,000 calls', JSON.stringify(figures));
    io?.disconnect();
    sub?.disconnect();
    server?.stop();
  });

  const ok = () => 'ok';

  /** A store whose client counts the commands it sends. */
  function counted(subscriber: boolean) {
    const counter = { commands: 0 };
    const client = {
      call: (command: string, ...args: string[]) => {
        counter.commands++;
        return io.call(command, ...args);
      },
    };
    const prefix = `cost-${Math.random()}`;
    // Generous: this test counts round trips; a busy machine's late answer is not the store fault it would be at 250 ms.
    const store = new CountingStore({ client, ...(subscriber ? { subscriber: sub } : {}), prefix, timeout: 10_000 });
    return { store, counter, channel: `${prefix}:changes` };
  }

  /** 1,000 calls in bursts of 10 every 10 ms; `fn(i)` decides each call. */
  async function thousand(breaker: CircuitBreaker, fn: (i: number) => unknown) {
    for (let i = 0; i < 1_000; i += 10) {
      await Promise.allSettled(Array.from({ length: 10 }, (_, k) => breaker.execute(() => fn(i + k))));
      // A pace, not a state: the bounds scale with how long the run really took.
      await sleep(10);
    }
    await breaker.flush();
  }

  async function measure(
    label: string,
    subscriber: boolean,
    options: Partial<CircuitBreakerOptions>,
    fn: (i: number) => unknown,
    setup?: (b: CircuitBreaker) => Promise<void>,
  ) {
    const { store, counter, channel } = counted(subscriber);
    const created = performance.now();
    const breaker = new CircuitBreaker({
      name: 'cost',
      store,
      failureThreshold: 5,
      recoveryTimeout: 60_000,
      syncInterval: 100,
      ...options,
    });
    const faults: unknown[] = [];
    breaker.on('storeError', (e) => faults.push(e.error));
    // Warm up first: the join's first read, loading the scripts and the subscription are one-off costs, not per-call ones.
    for (let i = 0; i < 10; i++) await breaker.execute(ok);
    await breaker.flush();
    await untilOrThrow(() => store.reads > 0); // the join's first read is in
    if (subscriber) await subscribers(io, channel);
    if (setup) await setup(breaker);
    const before = counter.commands;
    await thousand(breaker, fn);
    lastElapsed = performance.now() - created;
    figures[label] = counter.commands - before;
    expect(faults).toEqual([]);
    return figures[label] as number;
  }

  const down = () => Promise.reject(new Error('down'));
  const openIt = async (b: CircuitBreaker) => {
    for (let i = 0; i < 5; i++) await b.execute(down).catch(() => {});
    await b.flush();
    expect(b.state).toBe('open');
  };

  it('closed, consecutive mode, successes: none (but the 5 s safety-net re-read)', async () => {
    const n = await measure('closed (consecutive), subscriber', true, {}, ok);
    // One re-read (a script call, retried at most twice) per 5 s that the run lasted; none in a run under 5 s.
    expect(n).toBeLessThanOrEqual(3 * Math.floor(lastElapsed / 5_000));
  });

  it('closed without a subscriber: one re-read per syncInterval at most', async () => {
    const n = await measure('closed (consecutive), no subscriber', false, {}, ok);
    expect(n).toBeGreaterThan(0);
    // At most one re-read per syncInterval (100 ms) that the run lasted.
    expect(n).toBeLessThanOrEqual(Math.ceil(lastElapsed / 100) + 2);
  });

  it('closed, rate mode: one write per flush', async () => {
    const n = await measure(
      'closed (rate window), subscriber',
      true,
      { failureThreshold: undefined, failureRateThreshold: 0.5, window: countWindow(100) },
      ok,
    );
    // One write per flush (every syncInterval), plus a first write.
    expect(n).toBeLessThanOrEqual(3 * (Math.ceil(lastElapsed / 100) + 1));
  });

  it('open: rejections use the cached open-until', async () => {
    const n = await measure('open, subscriber', true, {}, ok, openIt);
    expect(n).toBeLessThanOrEqual(3 * Math.floor(lastElapsed / 5_000));
    const m = await measure('open, no subscriber', false, {}, ok, openIt);
    expect(m).toBeLessThanOrEqual(Math.ceil(lastElapsed / 100) + 2);
  });

  it('mixed: 2 % failures in consecutive mode', async () => {
    const fails = failures(0.02);
    const n = await measure('mixed 2 % failures, subscriber', true, {}, (i) => (fails(i) ? down() : 'ok'));
    // Failures are written at once; successes after one wait for the next flush (every 100 ms).
    expect(n).toBeLessThanOrEqual(40 + 3 * Math.ceil(lastElapsed / 100));
  });

  it('mixed: 10 % failures in rate mode', async () => {
    const fails = failures(0.1);
    const n = await measure(
      'mixed 10 % failures (rate window), subscriber',
      true,
      { failureThreshold: undefined, failureRateThreshold: 0.5, window: countWindow(100) },
      (i) => (fails(i) ? down() : 'ok'),
    );
    expect(n).toBeLessThanOrEqual(130 + 3 * Math.ceil(lastElapsed / 100));
  });
});
