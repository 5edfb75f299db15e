// One instance of the fleet test: its own breaker and Redis client, calling the shared upstream
// in a loop and reporting transitions to the parent test over IPC.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { CircuitBreaker, CircuitOpenError } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';

const env = process.env;
const port = Number(env.REDIS_PORT);
const upstream = env.UPSTREAM_URL as string;
const useIo = env.CLIENT === 'ioredis';
const withSubscriber = env.SUBSCRIBER === '1';
const send = (message: object) => process.send?.(message);

/**
 * When this process could not run (a busy machine leaves it unscheduled, or a collection pauses it): a timer due every
 * 20 ms that fires late by more than 5 ms records the gap, as `[start, end]` in wall-clock ms. The parent discounts
 * these gaps from how long the process took to see a change: it cannot see anything while it does not run.
 */
const stalls: Array<[number, number]> = [];
let tick = performance.now();
setInterval(() => {
  const now = performance.now();
  const late = now - tick - 20;
  tick = now;
  if (late <= 5) return;
  const end = Date.now();
  stalls.push([end - late, end]);
  if (stalls.length > 500) stalls.shift();
}, 20).unref();

let close: () => Promise<void>;
let store: RedisStore;
/** Answers once every command sent on the subscriber connection before it is in effect (its SUBSCRIBE too). */
let pingSubscriber: () => Promise<unknown> = async () => undefined;
if (useIo) {
  const client = new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const subscriber = withSubscriber ? client.duplicate() : undefined;
  client.on('error', () => {});
  subscriber?.on('error', () => {});
  await Promise.all([client, subscriber].map((c) => c && new Promise((resolve) => c.once('ready', resolve))));
  store = new RedisStore({ client, ...(subscriber ? { subscriber } : {}), prefix: env.PREFIX, timeout: Number(env.STORE_TIMEOUT ?? 250) });
  if (subscriber) pingSubscriber = () => subscriber.ping();
  close = async () => {
    client.disconnect();
    subscriber?.disconnect();
  };
} else {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, disableOfflineQueue: true });
  client.on('error', () => {});
  await client.connect();
  const subscriber = withSubscriber ? client.duplicate() : undefined;
  if (subscriber) {
    subscriber.on('error', () => {});
    await subscriber.connect();
  }
  store = new RedisStore({ client, ...(subscriber ? { subscriber } : {}), prefix: env.PREFIX, timeout: Number(env.STORE_TIMEOUT ?? 250) });
  if (subscriber) pingSubscriber = () => subscriber.ping();
  close = async () => {
    await client.quit().catch(() => {});
    await subscriber?.quit().catch(() => {});
  };
}

const breaker = new CircuitBreaker({
  name: 'upstream',
  store,
  failureThreshold: Number(env.THRESHOLD),
  recoveryTimeout: Number(env.RECOVERY),
  syncInterval: Number(env.SYNC),
  maxProbeWait: 2_000,
  timeout: 1_000,
  isResultFailure: (r) => (r as Response).status >= 500,
  logger: { info() {}, warn() {}, error() {} },
});
breaker.on('stateChange', (e) => send({ type: 'state', to: e.to, source: e.source, at: Date.now() }));
breaker.on('storeError', () => send({ type: 'storeError', at: Date.now() }));
breaker.on('storeRecovered', () => send({ type: 'storeRecovered', at: Date.now() }));

let running = false;
let looping: Promise<void> = Promise.resolve();
const stats = { calls: 0, ok: 0, failed: 0, rejected: 0, storeErrorsSeen: 0 };
process.on('unhandledRejection', (reason) => send({ type: 'unhandled', reason: String(reason) }));

async function loop(): Promise<void> {
  while (running) {
    stats.calls++;
    try {
      const res = await breaker.execute(async ({ signal }) => {
        const r = await fetch(upstream, { signal, headers: { 'x-sent-at': String(Date.now()) } });
        await r.arrayBuffer();
        return r;
      });
      if (res.status >= 500) stats.failed++;
      else stats.ok++;
    } catch (error) {
      if (error instanceof CircuitOpenError) stats.rejected++;
      else if (String((error as Error)?.name).startsWith('Store') || /redis|ECONNREFUSED|store/i.test(String(error))) {
        stats.storeErrorsSeen++;
      } else stats.failed++;
    }
    // A pace, not a state: each instance calls about every 20 ms.
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The parent is gone (or stopped us): never outlive it.
process.on('disconnect', () => process.exit(0));

process.on('message', async (m: { type: string }) => {
  if (m.type === 'go') {
    running = true;
    looping = loop();
  } else if (m.type === 'report') {
    send({ type: 'report', state: breaker.state, stats, stalls });
  } else if (m.type === 'stop') {
    running = false;
    setTimeout(() => process.exit(0), 500).unref(); // a deadline: stopped in 500 ms whatever follows
    await looping; // the call under way settles
    await close();
    process.disconnect?.();
    process.exit(0);
  }
});

// Ready once the first read of the shared state is in and the breaker's subscription is live on the server (its
// SUBSCRIBE went out when the breaker was built; a PING sent after it on that connection answers after it took effect).
await store.read('upstream');
await pingSubscriber();
send({ type: 'ready' });
