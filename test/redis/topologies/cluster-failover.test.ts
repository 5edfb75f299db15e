// A fleet (half ioredis Cluster, half node-redis createCluster) sharing one breaker through a Redis Cluster of 3 masters
// and 3 replicas started here, through four events in turn: a manual failover of the key's master (CLUSTER FAILOVER on
// its replica), a migration of the key's slot to another master, the key's master SIGKILLed (its replica takes over),
// and the node that holds the most subscriber connections SIGKILLed. After each: no store error reaches a caller,
// every instance is on the store's record within the documented bound, and a change made by one instance reaches all.
// At the end, one breaker again: an upstream outage stops the fleet, one probe per window, one probe closes it.
import { once } from 'node:events';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../helpers/fleet.js';
import { sleep } from '../../helpers/real-time.js';
import { type RedisCluster, redisAvailable, startRedisCluster } from '../../helpers/redis-server.js';
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
const RESYNC = 5_000;
const RETRY = 1_000;
const PREFIX = 'cluster';
const KEY = `{${PREFIX}:${NAME}}`;

const bounded = <T>(p: Promise<T>, ms = 15_000): Promise<T> =>
  Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`not in ${ms} ms`)))]);

/** Instance i: ioredis when even, node-redis when odd; the last without a subscriber. */
async function connections(cluster: RedisCluster, i: number): Promise<Connections> {
  const withSubscriber = i < N - 1;
  if (i % 2 === 0) {
    const client = new Cluster([...cluster.nodes], { enableOfflineQueue: false });
    const subscriber = withSubscriber ? client.duplicate() : undefined;
    client.on('error', () => {});
    subscriber?.on('error', () => {});
    await bounded(Promise.all([once(client, 'ready'), subscriber && once(subscriber, 'ready')]));
    return { client, ...(subscriber ? { subscriber } : {}), close: async () => void [client, subscriber].map((c) => c?.disconnect()) };
  }
  const client = createCluster({ rootNodes: cluster.nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })) });
  client.on('error', () => {});
  await bounded(client.connect());
  const subscriber = withSubscriber ? client.duplicate() : undefined;
  subscriber?.on('error', () => {});
  if (subscriber) await bounded(subscriber.connect());
  return { client, ...(subscriber ? { subscriber } : {}), close: async () => void [client, subscriber].map((c) => c?.destroy()) };
}

type Slots = [number, number, [string, number, string], ...[string, number, string][]][];

describe.skipIf(!redisAvailable())('a fleet through a Redis Cluster of 3 masters and 3 replicas', () => {
  let cluster: RedisCluster | undefined;
  let upstream: Upstream | undefined;
  let fleet: LocalFleet | undefined;
  let admin: Cluster | undefined;
  const direct = new Map<number, Redis>();
  const dead = new Set<number>();

  beforeAll(async () => {
    cluster = await startRedisCluster(3, { replicas: 1, nodeTimeout: 1_000 });
    upstream = await startUpstream();
    upstream.mode = 'ok';
  }, 60_000);

  afterAll(async () => {
    await fleet?.close();
    admin?.disconnect();
    for (const d of direct.values()) d.disconnect();
    await upstream?.close();
    await cluster?.stop();
  }, 30_000);

  /** A plain connection to one node, behind the clients' backs (a command is sent again if the connection drops). */
  const node = (port: number): Redis => {
    let c = direct.get(port);
    if (c === undefined) {
      c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 20, retryStrategy: () => 100 });
      c.on('error', () => {});
      direct.set(port, c);
    }
    return c;
  };
  /** A command to one node; a failure names the command and the node. */
  const ask = (port: number, ...args: string[]): Promise<unknown> =>
    node(port)
      .call(args[0] as string, ...args.slice(1))
      .catch((error: unknown) => {
        throw new Error(`${args.join(' ')} on ${port}: ${String(error)}`);
      });
  const live = () => (cluster as RedisCluster).all.filter((p) => !dead.has(p));
  /** The slot map as the live nodes agree on it: master and replicas of the key's slot. */
  async function owners(): Promise<{ master: number; replicas: number[] }[]> {
    const slot = Number(
      await node(live()[0] as number)
        .call('CLUSTER', 'KEYSLOT', KEY)
        .catch(() => -1),
    );
    if (slot < 0) return [];
    const seen = await Promise.all(
      live().map(async (p) => {
        const ranges = (await node(p)
          .call('CLUSTER', 'SLOTS')
          .catch(() => [])) as Slots;
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        return range === undefined
          ? { master: 0, replicas: [] }
          : { master: range[2][1], replicas: range.slice(3).map((r) => (r as [string, number, string])[1]) };
      }),
    );
    return seen;
  }
  /** The master of the key's slot, once every live node agrees on it (and it answers as a master); 0 meanwhile. */
  async function keyMaster(): Promise<number> {
    const seen = await owners();
    const master = seen[0]?.master ?? 0;
    if (master === 0 || !seen.every((s) => s.master === master)) return 0;
    const role = (await node(master)
      .call('ROLE')
      .catch(() => [])) as unknown[];
    return role[0] === 'master' ? master : 0;
  }
  const idOf = async (port: number) => String(await ask(port, 'CLUSTER', 'MYID'));

  it('stays one breaker through a manual failover, a slot migration, a killed master and a killed subscriber node', async () => {
    const c = cluster as RedisCluster;
    const up = upstream as Upstream;
    fleet = await startLocalFleet(N, (i) => connections(c, i), {
      upstream: up,
      threshold: THRESHOLD,
      recovery: RECOVERY,
      sync: SYNC,
      storeTimeout: 1_000,
      prefix: PREFIX,
    });
    const all = fleet.instances;
    admin = new Cluster([...c.nodes], { maxRedirections: 32 });
    admin.on('error', () => {});
    const stored = async () => storedState(await admin?.hget(KEY, 'c').catch(() => 'unreadable'));
    const faults = (i: Instance) =>
      i.logs.filter((l) => l.event === 'breaker.storeError').length - i.logs.filter((l) => l.event === 'breaker.storeRecovered').length;
    fleet.go();

    const figures: Record<string, unknown> = {};
    /** After an event that started at `start` and was over at `over`: converged, then a change reaches everyone. */
    const settle = async (label: string, start: number, over: number, writer: Instance) => {
      const converged = await when(
        async () => {
          const state = await stored();
          return all.every((i) => faults(i) === 0 && i.breaker.state === state);
        },
        RESYNC + RETRY + 15_000,
      );
      const wrote = Date.now();
      const seen = await controlled(writer, 'forceOpen', all, 'forced-open');
      await controlled(writer, 'close', all, 'closed');
      figures[label] = {
        eventMs: over - start,
        convergedMs: converged - start,
        convergedAfterEventMs: converged - over,
        changeSeenByAllMs: seen - wrote,
        upstreamCallsDuringEvent: up.hits.filter((t) => t >= start && t < converged).length,
        instancesWithStoreFault: all.filter((i) => i.logs.some((l) => l.event === 'breaker.storeError' && l.at >= start)).length,
      };
      expect(converged - over).toBeLessThanOrEqual(RESYNC + RETRY + 2_000);
      expect(seen - wrote).toBeLessThanOrEqual(RESYNC + 2_000);
    };

    // A record on the key's master (and its replica) first.
    await settle('start', Date.now(), Date.now(), all[0] as Instance);
    const first = await when(async () => (await keyMaster()) > 0, 10_000).then(keyMaster);

    // 1. CLUSTER FAILOVER on the replica of the key's master.
    // Its replica, once every live node lists one (a node on a busy machine may briefly flag a replica as failing).
    let promoted = 0;
    await when(async () => {
      const seen = await owners();
      const replica = seen[0]?.replicas[0] ?? 0;
      promoted = seen.length > 0 && seen.every((o) => o.master === first && o.replicas.includes(replica)) ? replica : 0;
      return promoted > 0;
    }, 20_000);
    let start = Date.now();
    await ask(promoted, 'CLUSTER', 'FAILOVER');
    let over = await when(async () => (await keyMaster()) === promoted, 20_000);
    await settle('manualFailover', start, over, all[1] as Instance);

    // 2. The key's slot moves to another master.
    const from = await keyMaster();
    const to = c.ports.find((p) => p !== from && p !== first) ?? (c.ports.find((p) => p !== from) as number);
    const slot = Number(await ask(from, 'CLUSTER', 'KEYSLOT', KEY));
    const [fromId, toId] = [await idOf(from), await idOf(to)];
    start = Date.now();
    await ask(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    await ask(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    const keys = (await ask(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as string[];
    if (keys.length > 0) await ask(from, 'MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys);
    for (const p of [to, from, ...live().filter((q) => q !== to && q !== from)]) {
      await node(p)
        .call('CLUSTER', 'SETSLOT', String(slot), 'NODE', toId)
        .catch(() => {}); // a replica refuses; the masters are what counts
    }
    over = await when(async () => (await keyMaster()) === to, 20_000);
    await settle('slotMigration', start, over, all[2] as Instance);

    // 3. The key's master is SIGKILLed: its replica takes over.
    const killedMaster = await keyMaster();
    start = Date.now();
    c.kill(killedMaster);
    dead.add(killedMaster);
    over = await when(async () => {
      const m = await keyMaster();
      return m > 0 && m !== killedMaster;
    }, 20_000);
    await settle('killedMaster', start, over, all[3] as Instance);

    // 4. The node holding the most subscriber connections (not the key's master) is SIGKILLed.
    const keyNow = await keyMaster();
    const counts = await Promise.all(
      live()
        .filter((p) => p !== keyNow)
        .map(async (p) => {
          const list = String(await ask(p, 'CLIENT', 'LIST', 'TYPE', 'pubsub'));
          return { port: p, subscribers: list.split('\n').filter((l) => l.trim() !== '').length };
        }),
    );
    const busiest = counts.sort((x, y) => y.subscribers - x.subscribers)[0] as { port: number; subscribers: number };
    start = Date.now();
    c.kill(busiest.port);
    dead.add(busiest.port);
    await settle('killedSubscriberNode', start, start, all[4] as Instance);
    figures.subscribersOnKilledNode = busiest.subscribers;

    const round = await outageRound(all, up, RECOVERY);
    figures.round = round;
    if (process.env.TOPOLOGY_FIGURES === '1') process.stdout.write(`cluster figures ${JSON.stringify(figures)}\n`);

    for (const i of all) {
      expect(i.unexpected).toEqual([]);
      expect(i.logs.filter((l) => l.level === 'error' && l.event !== 'breaker.storeError')).toEqual([]);
    }
    expect(round.callsBeforeStop).toBeGreaterThanOrEqual(THRESHOLD);
    expect(round.callsBeforeStop, `failed calls per instance ${round.failedBy}, open after ms ${round.openedAfter}`).toBeLessThanOrEqual(
      THRESHOLD + 2 * N,
    );
    for (const gap of round.probeGaps) expect(gap).toBeGreaterThanOrEqual(RECOVERY * 0.9);
    for (const gap of round.probeGaps) expect(gap).toBeLessThan(RECOVERY * 2.5);
    expect(round.probesToClose).toBe(1);
  }, 120_000);
});
