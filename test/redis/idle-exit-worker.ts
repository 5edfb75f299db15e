// A process with fleet breakers on a real Redis: calls (successes, failures that open the circuit, a probe), then
// idle, then it closes its Redis connections and returns. It must then exit on its own. Reports on stdout.
import { createHook } from 'node:async_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { BreakerRegistry, CircuitBreaker } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';

/**
 * The library's own source folder, as a stack frame may name it: a path, or a file URL (percent-encoded or not).
 * Only frames under it are the library's; a checkout that itself sits under a folder named `src`, or whose path
 * holds spaces or non-ASCII characters, must not make the worker's own frames look like the library's.
 */
const srcURL = new URL('../../src/', import.meta.url);
const srcForms = [fileURLToPath(srcURL), srcURL.href, decodeURI(srcURL.href)];
/** The file of each frame of a stack (`at f (file:line:col)` or `at file:line:col`). */
const framesOf = (stack: string) =>
  stack
    .split('\n')
    .slice(1)
    .map((line) => /^\s*at (?:.*? \()?(.+?):\d+:\d+\)?$/.exec(line)?.[1])
    .filter((file): file is string => file !== undefined);
const isLibraryFrame = (file: string) => srcForms.some((src) => file.startsWith(src));

const live = new Map<number, string>();
let created = 0;
createHook({
  init(id, type) {
    // Only the library's own timers (the Redis clients keep theirs, AbortSignal.timeout ones included).
    if (type !== 'Timeout') return;
    const stack = new Error().stack ?? '';
    if (!framesOf(stack).some(isLibraryFrame)) return;
    created++;
    live.set(id, stack.split('\n').slice(5, 9).join(' | '));
  },
  destroy(id) {
    live.delete(id);
  },
}).enable();

const port = Number(process.env.REDIS_PORT);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves once `check()` holds, polling; false if `ms` pass first. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}
const report = (what: string, data: unknown) => process.stdout.write(`${JSON.stringify({ what, data })}\n`);
/** What the breakers log, kept for the report (nothing is printed). */
const logged: string[] = [];
const logger = {
  info() {},
  warn() {},
  error: (record: { event: string }) => logged.push(record.event),
};

// On a busy machine Redis may answer later than the default store timeout (250 ms): the fault handling that
// starts then holds timers of its own (retries), which is not what this worker looks at.
const STORE_TIMEOUT = 10_000;
let store: RedisStore;
let close: () => Promise<unknown>;
/** Whether both connections are closed, as the clients see it. */
let closed: () => boolean;
if (process.env.CLIENT === 'ioredis') {
  const client = new Redis({ port, host: '127.0.0.1' });
  const sub = client.duplicate();
  await Promise.all([client, sub].map((c) => new Promise((r) => c.once('ready', r))));
  store = new RedisStore({ client, subscriber: sub, prefix: `idle-${process.pid}`, timeout: STORE_TIMEOUT });
  close = () => Promise.all([client.quit(), sub.quit()]);
  closed = () => client.status === 'end' && sub.status === 'end';
} else {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  await client.connect();
  const sub = client.duplicate();
  await sub.connect();
  store = new RedisStore({ client, subscriber: sub, prefix: `idle-${process.pid}`, timeout: STORE_TIMEOUT });
  close = () => Promise.all([client.quit(), sub.quit()]);
  closed = () => !client.isOpen && !sub.isOpen;
}

const options = { store, failureThreshold: 2, recoveryTimeout: 100, logger };
const breaker = new CircuitBreaker({ name: 'api', ...options });
const registry = new BreakerRegistry({ defaults: options, maxSize: 3 });
const fail = () => Promise.reject(new Error('down'));
const ok = () => Promise.resolve('ok');
for (let i = 0; i < 50; i++) {
  await breaker.execute(i % 10 < 3 ? fail : ok).catch(() => {});
  await registry
    .get(`k${i % 7}`)
    .execute(i % 4 === 0 ? fail : ok)
    .catch(() => {});
}
await until(() => breaker.state !== 'open', 10_000); // the recovery time is over
await breaker.execute(ok).catch(() => {}); // the probe
await Promise.all([breaker, ...registry.values()].map((b) => b.flush()));
// Idle: what the calls started (writes, reads back on change messages, evicted breakers leaving) settles. A timer
// the library kept while idle, or re-armed whenever it fired, never lets the count reach 0.
const idleFrom = Date.now();
const settled = await until(() => live.size === 0, 10_000);
report('idle', {
  settled,
  settledIn: Date.now() - idleFrom,
  errors: logged.splice(0),
  state: breaker.state,
  created,
  timers: live.size,
  resources: process.getActiveResourcesInfo(),
  where: process.env.DEBUG_TIMERS ? [...live.values()] : undefined,
});
if (process.env.DISPOSE === '1') {
  registry.clear();
  await breaker.dispose();
}
await close();
// A timer the library would start on seeing its connections close starts by then: once the clients see them closed,
// and a turn later (the 'end' events come on a later tick).
await until(closed, 10_000);
await new Promise((resolve) => setImmediate(resolve));
report('closed', { errors: logged.splice(0), timers: live.size, resources: process.getActiveResourcesInfo() });
