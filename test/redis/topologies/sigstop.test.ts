// Redis is SIGSTOPped under a fleet (half ioredis, half node-redis) while the upstream fails, then SIGCONTed: calls
// keep flowing on each instance's local circuit (no store error reaches a caller, each instance stops the upstream on
// its own after failureThreshold failures, without waiting for the store's timeout), and once Redis answers every instance
// is back on the store's record.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../helpers/fleet.js';
import { sleep } from '../../helpers/real-time.js';
import { type RedisServer, redisAvailable, startRedis } from '../../helpers/redis-server.js';
import {
  type Connections,
  controlled,
  firstTo,
  type Instance,
  type LocalFleet,
  NAME,
  outageRound,
  startLocalFleet,
  storedState,
  when,
} from '../../helpers/topology-fleet.js';

const N = 6;
const THRESHOLD = 3;
const RECOVERY = 1_000;
const SYNC = 100;
const RESYNC = 5_000;
const RETRY = 1_000;
const PREFIX = 'sigstop';
const STORE_TIMEOUT = 300;
const KEY = `{${PREFIX}:${NAME}}`;

const ready = (c: Redis) => Promise.race([once(c, 'ready'), sleep(15_000).then(() => Promise.reject(new Error('no connection')))]);

/** Instance i: ioredis when even, node-redis when odd; the last two without a subscriber. */
async function connections(port: number, i: number): Promise<Connections> {
  const withSubscriber = i < N - 2;
  if (i % 2 === 0) {
    const client = new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const subscriber = withSubscriber ? client.duplicate() : undefined;
    client.on('error', () => {});
    subscriber?.on('error', () => {});
    await Promise.all([ready(client), subscriber && ready(subscriber)]);
    return { client, ...(subscriber ? { subscriber } : {}), close: async () => void [client, subscriber].map((c) => c?.disconnect()) };
  }
  const client = createClient({ url: `redis://127.0.0.1:${port}`, disableOfflineQueue: true });
  client.on('error', () => {});
  await client.connect();
  const subscriber = withSubscriber ? client.duplicate() : undefined;
  subscriber?.on('error', () => {});
  await subscriber?.connect();
  return { client, ...(subscriber ? { subscriber } : {}), close: async () => void [client, subscriber].map((c) => c?.destroy()) };
}

describe.skipIf(!redisAvailable())('a fleet while Redis is SIGSTOPped', () => {
  let server: RedisServer | undefined;
  let upstream: Upstream | undefined;
  let fleet: LocalFleet | undefined;
  let admin: Redis | undefined;
  const resume = () => {
    try {
      if (server) process.kill(server.pid(), 'SIGCONT');
    } catch {
      // not running
    }
  };

  beforeAll(async () => {
    server = await startRedis();
    upstream = await startUpstream();
    upstream.mode = 'ok';
  }, 30_000);

  afterAll(async () => {
    resume();
    await fleet?.close();
    admin?.disconnect();
    await upstream?.close();
    server?.stop();
  }, 30_000);

  it('runs every instance on its local circuit meanwhile, and converges once Redis answers', async () => {
    const s = server as RedisServer;
    const up = upstream as Upstream;
    fleet = await startLocalFleet(N, (i) => connections(s.port, i), {
      upstream: up,
      threshold: THRESHOLD,
      recovery: RECOVERY,
      sync: SYNC,
      storeTimeout: STORE_TIMEOUT,
      prefix: PREFIX,
    });
    const all = fleet.instances;
    admin = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
    fleet.go();
    await controlled(all[0] as Instance, 'forceOpen', all, 'forced-open');
    await controlled(all[0] as Instance, 'close', all, 'closed');

    // Redis stops answering, and the upstream fails: each instance falls back and opens on its own.
    const stopped = Date.now();
    process.kill(s.pid(), 'SIGSTOP');
    up.mode = 'fail';
    const fellBack = (i: (typeof all)[number]) => i.logs.some((l) => l.event === 'breaker.storeError' && l.at >= stopped);
    const allLocal = await when(() => all.every((i) => fellBack(i) && firstTo(i, 'open', stopped) !== undefined), 15_000);
    // Held 3 s, and at least a little past a recovery window on local circuits, so that each instance probes alone.
    await when(() => Date.now() - stopped >= 3_000 && Date.now() - allLocal >= RECOVERY + 300, 5_000);
    const callsWhileStopped = up.hits.filter((t) => t >= stopped).length;
    const startedWhileStopped = all.map((i) => i.callTimes.filter((t) => t >= stopped).length);
    up.mode = 'ok';
    const continued = Date.now();
    resume();

    const faults = (i: (typeof all)[number]) =>
      i.logs.filter((l) => l.event === 'breaker.storeError').length - i.logs.filter((l) => l.event === 'breaker.storeRecovered').length;
    const converged = await when(
      async () => {
        const state = storedState(await admin?.hget(KEY, 'c').catch(() => undefined));
        return state === 'closed' && all.every((i) => faults(i) === 0 && i.breaker.state === 'closed');
      },
      RETRY + RECOVERY + RESYNC + 10_000,
    );

    const round = await outageRound(all, up, RECOVERY);
    const figures = {
      stoppedMs: continued - stopped,
      allOnLocalCircuitMs: allLocal - stopped,
      upstreamCallsWhileStopped: callsWhileStopped,
      callsBeforeLocalOpen: all.map((i) => i.callTimes.filter((t) => t >= stopped && t < (firstTo(i, 'open', stopped)?.at ?? 0)).length),
      convergedAfterContMs: converged - continued,
      ...round,
    };
    if (process.env.TOPOLOGY_FIGURES === '1') process.stdout.write(`sigstop figures ${JSON.stringify(figures)}\n`);

    for (const i of all) {
      expect(i.unexpected).toEqual([]);
      expect(i.logs.filter((l) => l.level === 'error' && l.event !== 'breaker.storeError')).toEqual([]);
      // Calls kept flowing: a call every 20 ms or so, never stuck behind Redis.
      expect(startedWhileStopped[i.index]).toBeGreaterThan(10);
    }
    // Each instance alone: failureThreshold failures (those waiting behind its unanswered write open it by the
    // rules, without waiting for the store's timeout; a call already started may land just after), then one probe
    // per window.
    const windows = Math.ceil((continued - stopped) / RECOVERY) + 1;
    for (const n of figures.callsBeforeLocalOpen) expect(n).toBeLessThanOrEqual(THRESHOLD + 1);
    expect(callsWhileStopped).toBeLessThanOrEqual(N * (THRESHOLD + 1 + windows));
    expect(converged - continued).toBeLessThanOrEqual(RETRY + RECOVERY + RESYNC + 2_000);
    expect(round.callsBeforeStop).toBeGreaterThanOrEqual(THRESHOLD);
    expect(round.callsBeforeStop, `failed calls per instance ${round.failedBy}, open after ms ${round.openedAfter}`).toBeLessThanOrEqual(
      THRESHOLD + 2 * N,
    );
    for (const gap of round.probeGaps) expect(gap).toBeGreaterThanOrEqual(RECOVERY * 0.9);
    for (const gap of round.probeGaps) expect(gap).toBeLessThan(RECOVERY * 2.5);
    expect(round.probesToClose).toBe(1);
  }, 90_000);
});
