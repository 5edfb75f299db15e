// Fleet mode on a real 3-master Redis Cluster, through ioredis's Cluster and node-redis's createCluster: change messages
// between instances, breakers whose keys live on different masters, an empty script cache, a client key prefix, and one
// probe fleet-wide.

import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, type StateChangeEvent } from '../../src/index.js';
import { RedisStore, type RedisStoreOptions } from '../../src/redis/index.js';
import { COMPARE_AND_SET, READ } from '../../src/redis/scripts.js';
import { CountingStore } from '../helpers/counting-store.js';
import { quiet } from '../helpers/fleet-fixtures.js';
import { until } from '../helpers/real-time.js';
import { type RedisCluster, redisAvailable, startRedisCluster } from '../helpers/redis-server.js';

const fail = () => Promise.reject(new Error('upstream down'));
const transitions = (events: StateChangeEvent[]) => events.map((e) => `${e.from}>${e.to}`);

type Kind = 'ioredis' | 'node-redis';
/** One instance's connections to the cluster: commands and a dedicated subscriber, as docs/fleet.md sets them up. */
interface Connections {
  readonly client: RedisStoreOptions['client'];
  readonly subscriber: NonNullable<RedisStoreOptions['subscriber']>;
  close(): Promise<void>;
}

describe.skipIf(!redisAvailable())('fleet mode on a real Redis Cluster (3 masters)', () => {
  let cluster: RedisCluster;
  /** A plain connection to each master (by port), for what a test checks behind the clients' backs. */
  const admins = new Map<number, Redis>();
  const opened: Connections[] = [];
  let n = 0;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    for (const port of cluster.ports) admins.set(port, new Redis({ port, host: '127.0.0.1' }));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    for (const admin of admins.values()) admin.disconnect();
    await cluster?.stop();
  });

  const anyAdmin = () => admins.values().next().value as Redis;

  async function connect(kind: Kind, keyPrefix?: string, via: 'options' | 'redisOptions' = 'options'): Promise<Connections> {
    let connections: Connections;
    if (kind === 'ioredis') {
      const prefixed = keyPrefix === undefined ? {} : via === 'options' ? { keyPrefix } : { redisOptions: { keyPrefix } };
      const client = new Cluster([...cluster.nodes], { enableOfflineQueue: false, ...prefixed });
      const subscriber = client.duplicate();
      client.on('error', () => {});
      subscriber.on('error', () => {});
      await Promise.all([once(client, 'ready'), once(subscriber, 'ready')]);
      connections = { client, subscriber, close: async () => void (await Promise.all([client.quit(), subscriber.quit()])) };
    } else {
      const client = createCluster({
        rootNodes: cluster.nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
        ...(keyPrefix === undefined ? {} : { keyPrefix }),
      });
      client.on('error', () => {});
      await client.connect();
      const subscriber = client.duplicate();
      subscriber.on('error', () => {});
      await subscriber.connect();
      connections = { client, subscriber, close: async () => void (await Promise.all([client.close(), subscriber.close()])) };
    }
    opened.push(connections);
    return connections;
  }

  /** The port of the master that serves `key`'s slot, as the cluster itself says. */
  async function masterOf(key: string): Promise<number> {
    const slot = Number(await anyAdmin().call('CLUSTER', 'KEYSLOT', key));
    const ranges = (await anyAdmin().call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (range === undefined) throw new Error(`no master serves slot ${slot}`);
    return range[2][1];
  }

  /** The connection to the master that serves `key`. */
  const nodeOf = async (key: string) => admins.get(await masterOf(key)) as Redis;

  /** Breaker names whose keys (`{prefix:name}`) land on different masters, one per master. */
  async function namesOnEveryMaster(prefix: string): Promise<string[]> {
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < admins.size && i < 200; i++) {
      const master = await masterOf(`{${prefix}:api-${i}}`);
      if (!byMaster.has(master)) byMaster.set(master, `api-${i}`);
    }
    return [...byMaster.values()];
  }

  /** Resolves once `count` connections, on whichever nodes, subscribe to `channel`. */
  const subscribed = (channel: string, count: number) =>
    until(async () => {
      let total = 0;
      for (const admin of admins.values()) total += Number(((await admin.pubsub('NUMSUB', channel)) as [string, number])[1]);
      return total >= count;
    });

  /** The shared circuit stored at `key`, read on the master serving it. */
  const storedCircuit = async (key: string) => JSON.parse((await (await nodeOf(key)).hget(key, 'c')) ?? 'null') as [string] | null;

  it('starts 3 masters, each serving part of the slots', async () => {
    const ranges = (await anyAdmin().call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    expect(new Set(ranges.map((r) => r[2][1]))).toEqual(new Set(cluster.ports));
    expect(ranges.reduce((sum, [from, to]) => sum + to - from + 1, 0)).toBe(16_384);
  });

  for (const kind of ['ioredis', 'node-redis'] as const) {
    describe(kind, () => {
      let A: Connections;
      let B: Connections;
      beforeAll(async () => {
        A = await connect(kind);
        B = await connect(kind);
      }, 15_000);

      /** Instances A and B of breaker `name`, each on its own cluster connections; B's store counts its reads. */
      function pair(name: string, prefix: string, options: { recoveryTimeout?: number; frozenClock?: boolean } = {}) {
        const common = {
          name,
          failureThreshold: 1,
          recoveryTimeout: options.recoveryTimeout ?? 60_000,
          logger: quiet(),
          // A clock that does not move: B's periodic re-read never comes, so only a message can tell it anything.
          ...(options.frozenClock === false ? {} : { clock: { now: () => 0 } }),
        };
        const storeB = new CountingStore({ client: B.client, subscriber: B.subscriber, prefix });
        const a = new CircuitBreaker({ ...common, store: new RedisStore({ client: A.client, subscriber: A.subscriber, prefix }) });
        const b = new CircuitBreaker({ ...common, store: storeB });
        const seenByB: StateChangeEvent[] = [];
        b.on('stateChange', (e) => seenByB.push(e));
        return { a, b, storeB, seenByB };
      }

      it('a breaker opens on one instance; the other, on its own cluster connections, hears it by message', async () => {
        const prefix = `${kind}-msg-${++n}`;
        const { a, b, storeB, seenByB } = pair('api', prefix);
        expect(await subscribed(`${prefix}:changes`, 2)).toBe(true);
        expect(await until(() => storeB.reads === 1)).toBe(true);
        await a.execute(fail).catch(() => {});
        await a.flush();
        expect(a.state).toBe('open');
        expect((await storedCircuit(`{${prefix}:api}`))?.[0]).toBe('open');
        expect(await until(() => b.state === 'open')).toBe(true);
        expect(storeB.reads).toBe(1);
        expect(transitions(seenByB)).toEqual(['closed>open']);
        await Promise.all([a.dispose(), b.dispose()]);
      });

      it('breakers whose keys hash to different masters each open and close across the instances', async () => {
        const prefix = `${kind}-spread-${++n}`;
        const names = await namesOnEveryMaster(prefix);
        const masters = await Promise.all(names.map((name) => masterOf(`{${prefix}:${name}}`)));
        expect(new Set(masters).size).toBe(3);
        const pairs = names.map((name) => pair(name, prefix));
        expect(await subscribed(`${prefix}:changes`, 2)).toBe(true);
        expect(await until(() => pairs.every((p) => p.storeB.reads === 1))).toBe(true);
        for (const { a } of pairs) await a.execute(fail).catch(() => {});
        await Promise.all(pairs.map(({ a }) => a.flush()));
        for (const [i, name] of names.entries()) {
          const key = `{${prefix}:${name}}`;
          // The record is on the master serving the key's slot (any other node would answer MOVED).
          expect(await admins.get(masters[i] as number)?.exists(key)).toBe(1);
          expect((await storedCircuit(key))?.[0]).toBe('open');
        }
        expect(await until(() => pairs.every(({ b }) => b.state === 'open'))).toBe(true);
        for (const { b } of pairs) b.close();
        expect(await until(() => pairs.every(({ a }) => a.state === 'closed'))).toBe(true);
        for (const { storeB, seenByB } of pairs) {
          expect(storeB.reads).toBe(1);
          expect(transitions(seenByB)).toEqual(['closed>open', 'open>closed']);
        }
        await Promise.all(pairs.flatMap(({ a, b }) => [a.dispose(), b.dispose()]));
      });

      it('an empty script cache on every node (SCRIPT FLUSH) is loaded again: the next writes and reads work', async () => {
        const prefix = `${kind}-flush-${++n}`;
        const names = await namesOnEveryMaster(prefix);
        const pairs = names.map((name) => pair(name, prefix));
        const errors: unknown[] = [];
        for (const { a, b } of pairs) for (const breaker of [a, b]) breaker.on('storeError', (e) => errors.push(e));
        expect(await subscribed(`${prefix}:changes`, 2)).toBe(true);
        expect(await until(() => pairs.every((p) => p.storeB.reads === 1))).toBe(true);
        for (const { a } of pairs) await a.execute(fail).catch(() => {});
        await Promise.all(pairs.map(({ a }) => a.flush()));
        expect(await until(() => pairs.every(({ b }) => b.state === 'open'))).toBe(true);
        // Every master ran both scripts; then each forgets them, as after a restart or a failover to a new node.
        for (const admin of admins.values()) expect(await admin.script('EXISTS', READ.sha, COMPARE_AND_SET.sha)).toEqual([1, 1]);
        for (const admin of admins.values()) await admin.script('FLUSH');
        for (const admin of admins.values()) expect(await admin.script('EXISTS', READ.sha, COMPARE_AND_SET.sha)).toEqual([0, 0]);
        // close() writes fleet-wide, with scripts every node has just forgotten.
        for (const { b } of pairs) b.close();
        const stored = () => Promise.all(names.map((name) => storedCircuit(`{${prefix}:${name}}`)));
        expect(await until(async () => (await stored()).every((c) => c?.[0] === 'closed'))).toBe(true);
        expect(await until(() => pairs.every(({ a }) => a.state === 'closed'))).toBe(true);
        for (const [i, { storeB }] of pairs.entries())
          expect(JSON.parse((await storeB.read(names[i] as string)).circuit)[0]).toBe('closed');
        expect(errors).toEqual([]);
        for (const admin of admins.values()) expect(await admin.script('EXISTS', READ.sha, COMPARE_AND_SET.sha)).toEqual([1, 1]);
        await Promise.all(pairs.flatMap(({ a, b }) => [a.dispose(), b.dispose()]));
      });

      it('a store made before its subscriber is connected subscribes once it is, and hears changes by message', async () => {
        const prefix = `${kind}-early-${++n}`;
        let subscriber: Connections['subscriber'];
        let connectSubscriber: () => Promise<unknown>;
        if (kind === 'ioredis') {
          // Without an offline queue, a SUBSCRIBE before the cluster is ready is refused.
          const early = new Cluster([...cluster.nodes], { enableOfflineQueue: false });
          expect(early.status).not.toBe('ready');
          subscriber = early;
          connectSubscriber = () => until(() => early.status === 'ready');
          opened.push({ client: early, subscriber: early, close: async () => early.disconnect() });
        } else {
          const early = (B.client as ReturnType<typeof createCluster>).duplicate();
          subscriber = early;
          connectSubscriber = () => early.connect();
          opened.push({ client: early, subscriber: early, close: async () => void (await early.close()) });
        }
        const options = { name: 'api', failureThreshold: 1, recoveryTimeout: 60_000, clock: { now: () => 0 }, logger: quiet() };
        const b = new CircuitBreaker({ ...options, store: new RedisStore({ client: B.client, subscriber, prefix }) });
        const a = new CircuitBreaker({ ...options, store: new RedisStore({ client: A.client, subscriber: A.subscriber, prefix }) });
        expect(await subscribed(`${prefix}:changes`, 1)).toBe(true); // A's
        await connectSubscriber();
        expect(await subscribed(`${prefix}:changes`, 2)).toBe(true);
        await a.execute(fail).catch(() => {});
        await a.flush();
        expect(await until(() => b.state === 'open')).toBe(true);
        await Promise.all([a.dispose(), b.dispose()]);
      });

      it('one probe in the whole fleet while half-open: the other instance is refused until it settles', async () => {
        const prefix = `${kind}-probe-${++n}`;
        // Real clocks: the recovery time runs on the cluster's clock.
        const { a, b } = pair('api', prefix, { recoveryTimeout: 200, frozenClock: false });
        expect(await subscribed(`${prefix}:changes`, 2)).toBe(true);
        await a.execute(fail).catch(() => {});
        expect(await until(() => a.state === 'open' && b.state === 'open')).toBe(true);
        expect(await until(() => a.state === 'half-open' && b.state === 'half-open')).toBe(true);
        let started = 0;
        let release: ((value: string) => void) | undefined;
        const held = () => {
          started++;
          return new Promise<string>((resolve) => (release = resolve));
        };
        const outcomes: PromiseSettledResult<string>[] = [];
        const calls = [a.execute(held), b.execute(held)].map((p) =>
          p.then(
            (value) => void outcomes.push({ status: 'fulfilled', value }),
            (reason: unknown) => void outcomes.push({ status: 'rejected', reason }),
          ),
        );
        expect(await until(() => started === 1 && outcomes.length === 1)).toBe(true);
        expect(outcomes[0]).toEqual({ status: 'rejected', reason: expect.any(CircuitOpenError) });
        expect(started).toBe(1);
        release?.('ok');
        await Promise.all(calls);
        expect(outcomes[1]).toEqual({ status: 'fulfilled', value: 'ok' });
        expect(started).toBe(1);
        expect(await until(() => a.state === 'closed' && b.state === 'closed')).toBe(true);
        await Promise.all([a.dispose(), b.dispose()]);
      });
    });
  }

  describe('a client key prefix (keyPrefix)', () => {
    const setUps = [
      ['ioredis, new Cluster(nodes, { keyPrefix })', 'ioredis', 'options'],
      ['ioredis, new Cluster(nodes, { redisOptions: { keyPrefix } })', 'ioredis', 'redisOptions'],
      ['node-redis, createCluster({ rootNodes, keyPrefix })', 'node-redis', 'options'],
    ] as const;
    for (const [title, kind, via] of setUps) {
      it(`${title}: keys carry the prefix, and a change reaches another instance by message`, async () => {
        const A = await connect(kind, 'app:', via);
        const B = await connect(kind, 'app:', via);
        const prefix = `kp-${++n}`;
        const options = { name: 'api', failureThreshold: 1, recoveryTimeout: 60_000, clock: { now: () => 0 }, logger: quiet() };
        const storeB = new CountingStore({ client: B.client, subscriber: B.subscriber, prefix });
        const a = new CircuitBreaker({ ...options, store: new RedisStore({ client: A.client, subscriber: A.subscriber, prefix }) });
        const b = new CircuitBreaker({ ...options, store: storeB });
        expect(await subscribed(`${prefix}:changes`, 2)).toBe(true); // channels carry no key prefix
        expect(await until(() => storeB.reads === 1)).toBe(true);
        await a.execute(fail).catch(() => {});
        await a.flush();
        const key = `app:{${prefix}:api}`;
        expect((await storedCircuit(key))?.[0]).toBe('open');
        expect(await (await nodeOf(`{${prefix}:api}`)).exists(`{${prefix}:api}`)).toBe(0);
        expect(await until(() => b.state === 'open')).toBe(true);
        expect(storeB.reads).toBe(1);
        await Promise.all([a.dispose(), b.dispose()]);
      });
    }

    it('an ioredis Cluster and a node-redis cluster with the same keyPrefix share one breaker', async () => {
      const io = await connect('ioredis', 'app:');
      const nr = await connect('node-redis', 'app:');
      const prefix = `kp-mixed-${++n}`;
      const options = { name: 'api', failureThreshold: 1, recoveryTimeout: 60_000, clock: { now: () => 0 }, logger: quiet() };
      const storeIo = new CountingStore({ client: io.client, subscriber: io.subscriber, prefix });
      const storeNr = new CountingStore({ client: nr.client, subscriber: nr.subscriber, prefix });
      const onIo = new CircuitBreaker({ ...options, store: storeIo });
      const onNr = new CircuitBreaker({ ...options, store: storeNr });
      expect(await subscribed(`${prefix}:changes`, 2)).toBe(true);
      expect(await until(() => storeIo.reads === 1 && storeNr.reads === 1)).toBe(true);
      await onNr.execute(fail).catch(() => {});
      await onNr.flush();
      expect(await until(() => onIo.state === 'open')).toBe(true);
      onIo.close();
      expect(await until(() => onNr.state === 'closed')).toBe(true);
      expect([storeIo.reads, storeNr.reads]).toEqual([1, 1]);
      expect((await storedCircuit(`app:{${prefix}:api}`))?.[0]).toBe('closed');
      await Promise.all([onIo.dispose(), onNr.dispose()]);
    });
  });

  describe('the test cluster itself', () => {
    it('stop() ends every node process and removes every file', async () => {
      const other = await startRedisCluster();
      const pids = other.pids();
      expect(pids).toHaveLength(3);
      expect(existsSync(other.dir)).toBe(true);
      await other.stop();
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
      expect(existsSync(other.dir)).toBe(false);
    }, 30_000);
  });
});
