// One instance of the chaos test: its own breaker and Redis client(s); calls the parent's upstream in a loop.
// On 'stop' it disposes the breaker, closes its connections and must then exit on its own.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { CircuitBreaker } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';

const env = process.env;
const port = Number(env.REDIS_PORT);
const send = (message: object) => {
  if (process.connected) process.send?.(message);
};
process.on('unhandledRejection', (reason) => send({ type: 'unhandled', reason: String((reason as Error)?.stack ?? reason) }));
process.on('uncaughtException', (error) => send({ type: 'unhandled', reason: String(error?.stack ?? error) }));

let close: () => Promise<void>;
let store: RedisStore;
const withSubscriber = env.SUBSCRIBER === '1';
if (env.CLIENT === 'ioredis') {
  const client = new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  const subscriber = withSubscriber ? client.duplicate() : undefined;
  client.on('error', () => {});
  subscriber?.on('error', () => {});
  await Promise.all([client, subscriber].map((c) => c && new Promise((resolve) => c.once('ready', resolve))));
  store = new RedisStore({ client, ...(subscriber ? { subscriber } : {}), prefix: 'chaos', timeout: 100 });
  close = async () => {
    await client.quit().catch(() => client.disconnect());
    await subscriber?.quit().catch(() => subscriber.disconnect());
  };
} else {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  await client.connect();
  const subscriber = withSubscriber ? client.duplicate() : undefined;
  if (subscriber) {
    subscriber.on('error', () => {});
    await subscriber.connect();
  }
  store = new RedisStore({ client, ...(subscriber ? { subscriber } : {}), prefix: 'chaos', timeout: 100 });
  close = async () => {
    await client.quit().catch(() => client.disconnect().catch(() => {}));
    await subscriber?.quit().catch(() => subscriber.disconnect().catch(() => {}));
  };
}

const breaker = new CircuitBreaker({
  name: 'upstream',
  store,
  failureThreshold: 3,
  recoveryTimeout: Number(env.RECOVERY),
  maxProbeWait: Number(env.PROBE_WAIT),
  syncInterval: 50,
  timeout: 800,
  halfOpenProbes: 1,
  isResultFailure: (r) => (r as Response).status >= 500,
  logger: { info() {}, warn() {}, error() {} },
});
breaker.on('stateChange', (e) => send({ type: 'state', to: e.to, from: e.from, reason: e.reason, source: e.source, at: Date.now() }));
breaker.on('storeError', () => send({ type: 'storeError', at: Date.now() }));
breaker.on('storeRecovered', () => send({ type: 'storeRecovered', at: Date.now() }));

let running = false;
let looping: Promise<void> = Promise.resolve();
async function loop(): Promise<void> {
  while (running) {
    await breaker
      .execute(async ({ signal }) => {
        const r = await fetch(env.UPSTREAM_URL as string, { signal, headers: { 'x-worker': env.INDEX as string } });
        await r.arrayBuffer();
        return r;
      })
      .catch(() => {});
    // A pace, not a state: each instance calls about every 20 ms.
    await new Promise((r) => setTimeout(r, 20));
  }
}

process.on('message', async (m: { type: string }) => {
  if (m.type === 'go') {
    running = true;
    looping = loop();
  } else if (m.type === 'report') {
    send({ type: 'report', state: breaker.state, at: Date.now() });
  } else if (m.type === 'stop') {
    running = false;
    await looping; // the last call settles
    await breaker.dispose();
    await close();
    send({ type: 'closed', at: Date.now() });
    process.disconnect();
    // No process.exit: the worker must end on its own (no timer or connection left behind).
  }
});

await store.read('upstream');
send({ type: 'ready' });
