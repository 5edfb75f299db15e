// RedisStore on a real Redis: keys with an ioredis keyPrefix, records it did not write, and key expiry.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker, type StateChangeEvent } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { COMPARE_AND_SET } from '../../src/redis/scripts.js';
import { CountingStore } from '../helpers/counting-store.js';
import { quiet } from '../helpers/fleet-fixtures.js';
import { untilOrThrow as until } from '../helpers/real-time.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

const fail = () => Promise.reject(new Error('upstream down'));
/** The identity a write replaces: none (no record), or a version written by `writer`. */
const none = { version: '', writer: '' };
const by = (version: string, writer = 'me') => ({ version, writer });

const write = (ttl = 1_000) => ({
  circuit: '["closed",0,"initial",0,0,0,0,0,0]',
  tracker: '{"kind":"consecutive","failures":0}',
  settings: 'abcd1234',
  writer: 'me',
  at: 0,
  ttl,
});
const versionOf = (r: Awaited<ReturnType<RedisStore['compareAndSet']>>): string => {
  if (!r.ok) throw new Error(`write refused: the record is at version ${r.current.version}`);
  return r.version;
};

describe.skipIf(!redisAvailable())('RedisStore records on a real Redis', () => {
  let server: RedisServer;
  let io: Redis;
  let nr: ReturnType<typeof createClient>;
  let nrSub: ReturnType<typeof createClient>;
  /** ioredis connections with keyPrefix 'app:' (a client and its subscriber). */
  let prefixed: Redis;
  let prefixedSub: Redis;

  /** Resolves once `count` connections subscribe to `channel`. */
  const subscribers = (channel: string, count: number) =>
    until(async () => Number(((await io.pubsub('NUMSUB', channel)) as [string, number])[1]) >= count);

  beforeAll(async () => {
    server = await startRedis();
    io = new Redis({ port: server.port, host: '127.0.0.1' });
    prefixed = new Redis({ port: server.port, host: '127.0.0.1', keyPrefix: 'app:' });
    prefixedSub = prefixed.duplicate();
    nr = createClient({ url: server.url });
    await nr.connect();
    nrSub = nr.duplicate();
    await nrSub.connect();
  });

  afterAll(async () => {
    for (const c of [io, prefixed, prefixedSub]) c?.disconnect();
    await nr?.quit();
    await nrSub?.quit();
    server?.stop();
  });

  describe('an ioredis client with keyPrefix', () => {
    it('delivers changes: a failure on one instance opens another through a message', async () => {
      const options = { name: 'kp', failureThreshold: 1, recoveryTimeout: 60_000, logger: quiet() };
      const a = new CircuitBreaker({ ...options, store: new RedisStore({ client: prefixed, subscriber: prefixedSub }) });
      const store = new CountingStore({ client: prefixed, subscriber: prefixedSub });
      const b = new CircuitBreaker({ ...options, store });
      const seen: StateChangeEvent[] = [];
      b.on('stateChange', (e) => seen.push(e));
      await subscribers('breakwater:changes', 1);
      await until(() => store.reads === 1); // b's first read is done
      await a.execute(fail).catch(() => {});
      await until(() => a.state === 'open');
      // A opens on its own failure at once; its write lands a round trip later.
      await until(async () => (await io.exists('app:{breakwater:kp}')) === 1);
      // b makes no call and its next re-read is 5 s away: only the message can open it.
      await until(() => b.state === 'open', 1_000);
      expect(store.reads).toBe(1);
      expect(seen.map((e) => `${e.from}>${e.to}`)).toEqual(['closed>open']);
      await Promise.all([a.dispose(), b.dispose()]);
    });

    it('names the key as the server sees it, so stores with another key prefix never take the record', async () => {
      const withPrefix = new RedisStore({ client: prefixed, subscriber: prefixedSub, prefix: 'xt' });
      const without = new RedisStore({ client: nr, subscriber: nrSub, prefix: 'xt' });
      const heardWith: string[] = [];
      const heardWithout: string[] = [];
      withPrefix.subscribe?.('n', (r) => heardWith.push(r.version));
      without.subscribe?.('n', (r) => heardWithout.push(r.version));
      await subscribers('xt:changes', 2); // channels carry no key prefix: both listen on 'xt:changes'
      const first = versionOf(await withPrefix.compareAndSet('n', none, write()));
      const second = versionOf(await without.compareAndSet('n', none, write()));
      const third = versionOf(await withPrefix.compareAndSet('n', by(first), write()));
      // Messages reach a connection in the order they were published: by the time a store hears its own
      // last write, it has had every message before it, and heard only its own writes.
      await until(() => heardWith.length === 2 && heardWithout.length === 1);
      expect(heardWith).toEqual([first, third]);
      expect(heardWithout).toEqual([second]);
      expect(await io.exists('app:{xt:n}', '{xt:n}')).toBe(2);
    });
  });

  describe('a node-redis client with keyPrefix (node-redis sends raw commands without it: the store puts it in front)', () => {
    it('keys carry the prefix, a change reaches another instance by message, and an ioredis client with the same prefix shares the breaker', async () => {
      const nrPrefixed = createClient({ url: server.url, keyPrefix: 'app:' });
      await nrPrefixed.connect();
      const nrPrefixedSub = nrPrefixed.duplicate();
      await nrPrefixedSub.connect();
      try {
        const options = { name: 'nkp', failureThreshold: 1, recoveryTimeout: 60_000, clock: { now: () => 0 }, logger: quiet() };
        const onNr = new CountingStore({ client: nrPrefixed, subscriber: nrPrefixedSub });
        const onIo = new CountingStore({ client: prefixed, subscriber: prefixedSub });
        const a = new CircuitBreaker({ ...options, store: new RedisStore({ client: nrPrefixed, subscriber: nrPrefixedSub }) });
        const b = new CircuitBreaker({ ...options, store: onNr });
        const c = new CircuitBreaker({ ...options, store: onIo });
        await subscribers('breakwater:changes', 2);
        await until(() => onNr.reads === 1 && onIo.reads === 1);
        await a.execute(fail).catch(() => {});
        await a.flush();
        expect(await io.exists('app:{breakwater:nkp}', '{breakwater:nkp}')).toBe(1);
        expect(JSON.parse((await io.hget('app:{breakwater:nkp}', 'c')) ?? 'null')?.[0]).toBe('open');
        // Neither b nor c makes a call, and their clocks never reach a re-read: only the message can open them.
        await until(() => b.state === 'open' && c.state === 'open', 1_000);
        expect([onNr.reads, onIo.reads]).toEqual([1, 1]);
        await Promise.all([a.dispose(), b.dispose(), c.dispose()]);
      } finally {
        await Promise.all([nrPrefixed.quit(), nrPrefixedSub.quit()]);
      }
    });
  });

  describe('a record whose version is not one the store writes', () => {
    const bad = ['abc', '', '1.5', '-3', '007', '0', '1e5', ' 12', '99999999999999999999'];

    for (const [which, client] of [
      ['ioredis', () => io],
      ['node-redis', () => nr],
    ] as const) {
      it(`reads as absent and is replaced whole by the next write (${which})`, async () => {
        const store = new RedisStore({ client: client(), prefix: `hv-${which}` });
        for (const [i, v] of bad.entries()) {
          const key = store.key(`k${i}`);
          await io.hset(key, 'v', v, 'c', 'junk', 'x', 'other');
          expect(await store.read(`k${i}`)).toEqual(
            expect.objectContaining({ version: '', circuit: '', tracker: '', settings: '', at: 0, writer: '' }),
          );
          // A write expecting what was stored is refused (with the record as absent), never an error.
          expect(await store.compareAndSet(`k${i}`, by(v === '' ? 'abc' : v), write())).toEqual({
            ok: false,
            current: expect.objectContaining({ version: '', circuit: '' }),
          });
          const created = versionOf(await store.compareAndSet(`k${i}`, none, write()));
          expect(created).toMatch(/^\d{16}$/);
          expect(await io.hgetall(key)).toEqual({
            v: created,
            c: write().circuit,
            t: write().tracker,
            s: 'abcd1234',
            w: '0',
            i: 'me',
          });
          const next = versionOf(await store.compareAndSet(`k${i}`, by(created), write()));
          expect(BigInt(next)).toBe(BigInt(created) + 1n);
        }
        // A hash without a version, and one with a small version of the right form (kept, and counted on).
        await io.hset(store.key('none'), 'c', 'junk');
        expect((await store.read('none')).circuit).toBe('');
        expect(versionOf(await store.compareAndSet('none', none, write()))).toMatch(/^\d{16}$/);
        await io.hset(store.key('small'), 'v', '5', 'c', 'kept');
        expect(await store.read('small')).toEqual(expect.objectContaining({ version: '5', circuit: 'kept' }));
        expect(versionOf(await store.compareAndSet('small', by('5', ''), write()))).toBe('6');
      });
    }

    it('does not put a breaker in a store fault: its writes replace the record', async () => {
      await io.hset('{hv:api}', 'v', 'abc', 'c', 'junk');
      const logger = quiet();
      const errors: unknown[] = [];
      const b = new CircuitBreaker({ name: 'api', store: new RedisStore({ client: io, prefix: 'hv' }), failureThreshold: 2, logger });
      b.on('storeError', (e) => errors.push(e));
      await b.execute(fail).catch(() => {});
      await b.flush();
      await b.execute(fail).catch(() => {});
      await b.flush();
      expect(b.state).toBe('open');
      expect(await io.hget('{hv:api}', 'v')).toMatch(/^\d{16}$/);
      expect(await io.hget('{hv:api}', 'c')).toMatch(/^\["open",/);
      expect(errors).toEqual([]);
      expect(logger.error).not.toHaveBeenCalled();
      await b.dispose();
    });
  });

  describe('key expiry', () => {
    it('a write with ttl 0 keeps the key without expiry; a later write with a ttl sets one again', async () => {
      for (const client of [io, nr]) {
        const store = new RedisStore({ client, prefix: 'px', ttl: 5_000 });
        const name = client === io ? 'io' : 'nr';
        const key = store.key(name);
        const first = versionOf(await store.compareAndSet(name, none, write(1_000)));
        expect(Number(await io.pttl(key))).toBeGreaterThan(0);
        const kept = versionOf(await store.compareAndSet(name, by(first), write(0)));
        expect(Number(await io.pttl(key))).toBe(-1);
        const again = versionOf(await store.compareAndSet(name, by(kept), write(1_000)));
        const pttl = Number(await io.pttl(key));
        expect(pttl).toBeGreaterThan(4_000);
        expect(pttl).toBeLessThanOrEqual(5_000);
        expect(await store.read(name)).toEqual(expect.objectContaining({ version: again }));
        // A record created by a write with ttl 0 has no expiry either.
        versionOf(await store.compareAndSet(`${name}-new`, none, write(0)));
        expect(Number(await io.pttl(store.key(`${name}-new`)))).toBe(-1);
      }
    });

    it('a whole-number expiry is set for a write whose ttl has a fraction', async () => {
      const store = new RedisStore({ client: io, prefix: 'fr', ttl: 1 });
      versionOf(await store.compareAndSet('api', none, write(1_000.5)));
      const pttl = Number(await io.pttl(store.key('api')));
      expect(pttl).toBeGreaterThan(900);
      expect(pttl).toBeLessThanOrEqual(1_001);
    });

    it('the compare-and-set refuses a bad ttl before it writes anything', async () => {
      const key = '{raw:api}';
      const run = (expected: string, ttl: string) =>
        io.call('EVAL', COMPARE_AND_SET.lua, '1', key, expected, '0', 'c', 't', 's', ttl, 'raw:changes', 'w');
      for (const ttl of ['1.5', '', '-1', '007', 'soon', '1000000000000000000']) {
        await expect(run('', ttl)).rejects.toThrow(/ttl must be 0 or a whole number of ms/);
        expect(await io.exists(key)).toBe(0);
      }
      const [, , , version] = (await run('', '60000')) as string[];
      await expect(run(version as string, '1.5')).rejects.toThrow(/ttl/);
      expect(await io.hgetall(key)).toEqual({ v: version, c: 'c', t: 't', s: 's', w: '0', i: 'w' });
      expect(Number(await io.pttl(key))).toBeGreaterThan(59_000);
    });
  });
});
