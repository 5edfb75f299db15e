// A fleet sharing one breaker through a Sentinel group (a primary, one replica, three Sentinels, all started here):
// the primary is SIGKILLed under traffic. No store error reaches a caller, calls keep flowing while Sentinel promotes
// the replica, every instance is back on the store's record within the documented bound, and afterwards the fleet
// stops, probes and closes as one.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { createSentinel } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../helpers/fleet.js';
import { sleep } from '../../helpers/real-time.js';
import { MASTER_NAME, type SentinelGroup, startSentinelGroup } from '../../helpers/redis-sentinel.js';
import { redisAvailable } from '../../helpers/redis-server.js';
import {
  type Connections,
  controlled,
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
/** With a subscriber, an instance re-reads at least this often while it has calls (docs/fleet.md). */
const RESYNC = 5_000;
/** During a fault, calls try the store again at most this often. */
const RETRY = 1_000;
const PREFIX = 'sentinel';
const KEY = `{${PREFIX}:${NAME}}`;

/** Bounds a wait for a connection: a client that never connects fails the test, it does not hang it. */
const ready = (c: Redis) => Promise.race([once(c, 'ready'), sleep(15_000).then(() => Promise.reject(new Error('no connection')))]);

const bounded = <T>(p: Promise<T>): Promise<T> => Promise.race([p, sleep(15_000).then(() => Promise.reject(new Error('no connection')))]);

/** One instance's connections through the Sentinels, as docs/fleet.md shows them: ioredis, or node-redis. */
async function sentinelConnections(group: SentinelGroup, withSubscriber: boolean, kind: 'ioredis' | 'node-redis'): Promise<Connections> {
  if (kind === 'node-redis') {
    const client = createSentinel({ name: MASTER_NAME, sentinelRootNodes: group.sentinels.map(({ host, port }) => ({ host, port })) });
    client.on('error', () => {});
    await bounded(client.connect());
    const subscriber = withSubscriber ? client.duplicate() : undefined;
    subscriber?.on('error', () => {});
    if (subscriber) await bounded(subscriber.connect());
    return { client, ...(subscriber ? { subscriber } : {}), close: async () => void [client, subscriber].map((c) => c?.destroy()) };
  }
  const client = new Redis({ sentinels: [...group.sentinels], name: MASTER_NAME, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const subscriber = withSubscriber ? client.duplicate() : undefined;
  client.on('error', () => {});
  subscriber?.on('error', () => {});
  await Promise.all([ready(client), subscriber && ready(subscriber)]);
  return { client, ...(subscriber ? { subscriber } : {}), close: async () => void [client, subscriber].map((c) => c?.disconnect()) };
}

describe.skipIf(!redisAvailable())('a fleet through Redis Sentinel: the primary is SIGKILLed', () => {
  let group: SentinelGroup | undefined;
  let upstream: Upstream | undefined;
  let fleet: LocalFleet | undefined;
  let admin: Redis | undefined;

  beforeAll(async () => {
    group = await startSentinelGroup();
    upstream = await startUpstream();
    upstream.mode = 'ok';
  }, 60_000);

  afterAll(async () => {
    await fleet?.close();
    admin?.disconnect();
    await upstream?.close();
    await group?.stop();
  }, 30_000);

  it('keeps every call flowing, converges every instance and stays one breaker', async () => {
    const g = group as SentinelGroup;
    const up = upstream as Upstream;
    // ioredis when even, node-redis when odd; the last two have no subscriber: they re-read once per syncInterval.
    fleet = await startLocalFleet(N, (i) => sentinelConnections(g, i < N - 2, i % 2 === 0 ? 'ioredis' : 'node-redis'), {
      upstream: up,
      threshold: THRESHOLD,
      recovery: RECOVERY,
      sync: SYNC,
      storeTimeout: 1_000,
      prefix: PREFIX,
    });
    const all = fleet.instances;
    admin = new Redis({ sentinels: [...g.sentinels], name: MASTER_NAME, maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
    const stored = async () => storedState(await admin?.hget(KEY, 'c').catch(() => undefined));
    fleet.go();
    // A record on the primary (and on its replica) before the failover: a control, undone.
    await controlled(all[0] as Instance, 'forceOpen', all, 'forced-open');
    await controlled(all[0] as Instance, 'close', all, 'closed');

    const killed = Date.now();
    g.kill(g.primary);
    await g.failedOver(g.primary);
    const promoted = Date.now();
    // Converged: no instance still in a fault, and each shows the state the store holds.
    const faults = (i: (typeof all)[number]) =>
      i.logs.filter((l) => l.event === 'breaker.storeError').length - i.logs.filter((l) => l.event === 'breaker.storeRecovered').length;
    const converged = await when(
      async () => {
        const state = await stored();
        return all.every((i) => faults(i) === 0 && i.breaker.state === state);
      },
      RESYNC + RETRY + 10_000,
    );
    const callsDuring = up.hits.filter((t) => t >= killed && t < converged).length;
    const startedDuring = all.map((i) => i.callTimes.filter((t) => t >= killed && t < promoted).length);
    const withFault = all.filter((i) => i.logs.some((l) => l.event === 'breaker.storeError' && l.at >= killed)).length;

    // Afterwards, one breaker again: an upstream outage stops the fleet, one probe per window, one probe closes it.
    const round = await outageRound(all, up, RECOVERY);

    const figures = {
      failoverMs: promoted - killed,
      convergedMs: converged - killed,
      convergedAfterPromotionMs: converged - promoted,
      upstreamCallsDuringEvent: callsDuring,
      instancesWithStoreFault: withFault,
      ...round,
    };
    if (process.env.TOPOLOGY_FIGURES === '1') process.stdout.write(`sentinel figures ${JSON.stringify(figures)}\n`);

    for (const i of all) {
      expect(i.unexpected).toEqual([]);
      expect(i.logs.filter((l) => l.level === 'error' && l.event !== 'breaker.storeError')).toEqual([]);
      // Calls kept flowing on every instance while the primary was gone.
      expect(startedDuring[i.index]).toBeGreaterThan(0);
    }
    // The documented bound: within the safety-net re-read period (plus a retry delay) of the new primary answering.
    expect(converged - promoted).toBeLessThanOrEqual(RESYNC + RETRY + 2_000);
    expect(round.callsBeforeStop).toBeGreaterThanOrEqual(THRESHOLD);
    expect(round.callsBeforeStop, `failed calls per instance ${round.failedBy}, open after ms ${round.openedAfter}`).toBeLessThanOrEqual(
      THRESHOLD + 2 * N,
    );
    for (const gap of round.probeGaps) expect(gap).toBeGreaterThanOrEqual(RECOVERY * 0.9);
    for (const gap of round.probeGaps) expect(gap).toBeLessThan(RECOVERY * 2.5);
    expect(round.probesToClose).toBe(1);
  }, 90_000);
});
