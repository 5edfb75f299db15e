import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SharedRecord } from '../../src/fleet/index.js';
import { CircuitBreaker, type StateChangeEvent } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { COMPARE_AND_SET, READ } from '../../src/redis/scripts.js';
import { CountingStore } from '../helpers/counting-store.js';
import { sleep, untilOrThrow as until } from '../helpers/real-time.js';
import { answered } from '../helpers/redis-pubsub.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

const available = redisAvailable();

/** The identity a write replaces: none (no record), or a version written by `writer`. */
const none = { version: '', writer: '' };
const by = (version: string, writer = 'me') => ({ version, writer });

const write = (circuit = '["closed",0,"initial",0,0,0,0,0,0]') => ({
  circuit,
  tracker: '{"kind":"consecutive","failures":0}',
  settings: 'abcd1234',
  writer: 'me',
  at: 0,
  ttl: 1_000,
});

describe('RedisStore scripts', () => {
  it('carry the SHA-1 of their text (EVALSHA finds them)', () => {
    for (const script of [READ, COMPARE_AND_SET]) expect(createHash('sha1').update(script.lua).digest('hex')).toBe(script.sha);
  });
});

describe('RedisStore options', () => {
  const fakeIo = { call: async () => null, subscribe: async () => 1, on: () => {} };
  it('refuses a missing or unknown client', () => {
    expect(() => new RedisStore(undefined as never)).toThrow(TypeError);
    expect(() => new RedisStore({} as never)).toThrow(/option "client" must be an ioredis or node-redis client; got undefined/);
    expect(() => new RedisStore({ client: null as never })).toThrow(/got null/);
    expect(() => new RedisStore({ client: fakeIo, subscriber: {} as never })).toThrow(/option "subscriber"/);
    expect(() => new RedisStore({ client: fakeIo, subscriber: null as never })).toThrow(/got null/);
  });
  it('refuses a bad prefix, timeout or ttl', () => {
    expect(() => new RedisStore({ client: fakeIo, prefix: '' })).toThrow(/"prefix"/);
    expect(() => new RedisStore({ client: fakeIo, prefix: 'a{b' })).toThrow(/"prefix"/);
    expect(() => new RedisStore({ client: fakeIo, timeout: 0 })).toThrow(RangeError);
    expect(() => new RedisStore({ client: fakeIo, ttl: Number.POSITIVE_INFINITY })).toThrow(/"ttl"/);
    expect(() => new RedisStore({ client: fakeIo, timeout: '5' as never })).toThrow(/"timeout"/);
  });
  it('refuses a ttl that is not a whole number of ms ≥ 1, naming the option and the value', () => {
    for (const ttl of [1.5, 5_400_000.5, 0, -1, Number.NaN, 2 ** 53]) {
      expect(() => new RedisStore({ client: fakeIo, ttl })).toThrow(RangeError);
      expect(() => new RedisStore({ client: fakeIo, ttl })).toThrow(
        `breakwater: option "ttl" must be an integer ≥ 1 and ≤ ${Number.MAX_SAFE_INTEGER}; got ${String(ttl)}`,
      );
    }
    expect(() => new RedisStore({ client: fakeIo, ttl: '5' as never })).toThrow(TypeError);
    expect(() => new RedisStore({ client: fakeIo, ttl: '5' as never })).toThrow(/option "ttl" .*; got "5"/);
    expect(new RedisStore({ client: fakeIo, ttl: 1 })).toBeInstanceOf(RedisStore);
  });
  it('hash-tags the whole key, so a breaker maps to one cluster slot', () => {
    expect(new RedisStore({ client: fakeIo }).key('quotes-api')).toBe('{breakwater:quotes-api}');
    expect(new RedisStore({ client: fakeIo, prefix: 'app' }).key('x')).toBe('{app:x}');
  });
  it('has no subscribe without a subscriber, a short default timeout', () => {
    const store = new RedisStore({ client: fakeIo });
    expect(store.subscribe).toBeUndefined();
    expect(store.timeout).toBe(250);
  });
  it('passes on errors other than NOSCRIPT', async () => {
    const client = { call: vi.fn(async () => Promise.reject(new Error('ERR wrong'))) };
    await expect(new RedisStore({ client } as never).read('x')).rejects.toThrow('ERR wrong');
    expect(client.call).toHaveBeenCalledTimes(1);
    const nullish = { call: async () => Promise.reject(null) };
    await expect(new RedisStore({ client: nullish } as never).read('x')).rejects.toBeNull();
  });
  it('tries a failed subscription again with the next breaker', async () => {
    let attempts = 0;
    const subscriber = {
      call: async () => null,
      on: () => {},
      subscribe: async () => {
        attempts++;
        if (attempts === 1) throw new Error('not now');
        return 1;
      },
    };
    const store = new RedisStore({ client: fakeIo, subscriber });
    const off = store.subscribe?.('a', () => {});
    await until(() => attempts === 1);
    await new Promise((resolve) => setImmediate(resolve)); // the refusal is handled: the store let the subscription go
    store.subscribe?.('b', () => {});
    await until(() => attempts === 2);
    off?.();
  });
});

describe.skipIf(!available)('RedisStore on a real Redis', () => {
  let server: RedisServer;
  let io: Redis;
  let ioSub: Redis;
  let nr: ReturnType<typeof createClient>;
  let nrSub: ReturnType<typeof createClient>;

  beforeAll(async () => {
    server = await startRedis();
    io = new Redis({ port: server.port, host: '127.0.0.1' });
    ioSub = io.duplicate();
    nr = createClient({ url: server.url });
    await nr.connect();
    nrSub = nr.duplicate();
    await nrSub.connect();
  });

  afterAll(async () => {
    io?.disconnect();
    ioSub?.disconnect();
    await nr?.quit();
    await nrSub?.quit();
    server?.stop();
  });

  const clients = () =>
    [
      ['ioredis', io, ioSub],
      ['node-redis', nr, nrSub],
    ] as const;

  for (const which of ['ioredis', 'node-redis'] as const) {
    describe(which, () => {
      const subscriberOf = () => (clients().find(([n]) => n === which) as ReturnType<typeof clients>[number])[2];
      const make = (options: { prefix?: string; subscribe?: boolean } = {}) => {
        const [, client, subscriber] = clients().find(([n]) => n === which) as ReturnType<typeof clients>[number];
        return new RedisStore({
          client,
          prefix: options.prefix ?? `t-${which}`,
          ...(options.subscribe ? { subscriber } : {}),
        });
      };

      it('reads a missing record with the server clock', async () => {
        const r = await make().read('missing');
        expect(r).toEqual(expect.objectContaining({ version: '', circuit: '', tracker: '', settings: '', at: 0, writer: '' }));
        expect(Math.abs(r.now - Date.now())).toBeLessThan(1_000);
      });

      it('creates, then compare-and-sets, one version at a time', async () => {
        const store = make();
        const created = await store.compareAndSet('cas', none, write());
        if (!created.ok) throw new Error('create failed');
        expect(created.version).toMatch(/^\d{16}$/);
        const read = await store.read('cas');
        expect(read).toEqual(expect.objectContaining({ version: created.version, settings: 'abcd1234', writer: 'me' }));
        const next = await store.compareAndSet('cas', by(created.version), write('["open",1,"failure-threshold",2,1,0,0,0,1]'));
        if (!next.ok) throw new Error('cas failed');
        expect(BigInt(next.version)).toBe(BigInt(created.version) + 1n);
        const stale = await store.compareAndSet('cas', by(created.version), write());
        expect(stale).toEqual({
          ok: false,
          current: expect.objectContaining({ version: next.version, circuit: '["open",1,"failure-threshold",2,1,0,0,0,1]' }),
        });
      });

      it('refuses a write that expects the right version by another writer (a lost write whose number was reused)', async () => {
        const store = make();
        const created = await store.compareAndSet('ident', none, write());
        if (!created.ok) throw new Error('create failed');
        const other = await store.compareAndSet(
          'ident',
          by(created.version, 'lost.1'),
          write('["open",1,"failure-threshold",2,1,0,0,0,1]'),
        );
        expect(other).toEqual({ ok: false, current: expect.objectContaining({ version: created.version, writer: 'me' }) });
        expect((await store.read('ident')).circuit).toBe(write().circuit);
      });

      it('refuses a write computed at a time the server has not reached', async () => {
        const store = make();
        const r = await store.compareAndSet('future', none, { ...write(), at: Date.now() + 60_000 });
        expect(r.ok).toBe(false);
      });

      it('sets the expiry of an abandoned key (at least the write asks for)', async () => {
        const store = new RedisStore({ client: clients().find(([n]) => n === which)?.[1] as Redis, prefix: `ttl-${which}`, ttl: 5_000 });
        await store.compareAndSet('e', none, { ...write(), ttl: 20_000 });
        const pttl = Number(await io.pttl(store.key('e')));
        expect(pttl).toBeGreaterThan(15_000);
        expect(pttl).toBeLessThanOrEqual(20_000);
        const other = await store.compareAndSet('f', none, write());
        expect(other.ok).toBe(true);
        expect(Number(await io.pttl(store.key('f')))).toBeLessThanOrEqual(5_000);
      });

      it('loads its scripts again after SCRIPT FLUSH (NOSCRIPT → EVAL)', async () => {
        const store = make();
        await store.read('x');
        await io.script('FLUSH');
        await expect(store.read('x')).resolves.toEqual(expect.objectContaining({ version: '' }));
      });

      it('publishes every write to subscribers of that breaker, names with any characters included', async () => {
        const store = make({ subscribe: true });
        const name = 'odd\nname {x}';
        const seen: SharedRecord[] = [];
        const off = store.subscribe?.(name, (r) => seen.push(r));
        store.subscribe?.('other', () => seen.push({} as SharedRecord));
        await answered(subscriberOf()); // the SUBSCRIBE is confirmed
        const r = await store.compareAndSet(name, none, write());
        await until(() => seen.length === 1);
        expect(seen[0]).toEqual(expect.objectContaining({ version: r.ok ? r.version : '?', writer: 'me', settings: 'abcd1234' }));
        off?.();
        off?.();
        await store.compareAndSet(name, by(r.ok ? r.version : ''), write());
        await answered(subscriberOf()); // the write's message has arrived
        expect(seen).toHaveLength(1);
      });

      it('ignores malformed messages on its channel', async () => {
        const store = make({ subscribe: true, prefix: `junk-${which}` });
        const seen: SharedRecord[] = [];
        store.subscribe?.('j', (r) => seen.push(r));
        await answered(subscriberOf()); // the SUBSCRIBE is confirmed
        await io.publish(`junk-${which}:changes`, 'garbage');
        await io.publish(`junk-${which}:changes`, '1\n2\n3\n4\n5\n6\n7\n8\n{junk-x:nobody}');
        await answered(subscriberOf()); // both messages have arrived
        expect(seen).toEqual([]);
      });
    });
  }

  it('one breaker shared by an ioredis instance and a node-redis instance', async () => {
    const sa = new CountingStore({ client: io, subscriber: ioSub, prefix: 'mix' });
    const sb = new CountingStore({ client: nr, subscriber: nrSub, prefix: 'mix' });
    const a = new CircuitBreaker({ name: 'mixed', store: sa, failureThreshold: 2, recoveryTimeout: 200 });
    const b = new CircuitBreaker({ name: 'mixed', store: sb, failureThreshold: 2, recoveryTimeout: 200 });
    const seen: StateChangeEvent[] = [];
    b.on('stateChange', (e) => seen.push(e));
    // Both have joined: each read the shared record once, each SUBSCRIBE is confirmed.
    await until(() => sa.reads > 0 && sb.reads > 0);
    await answered(ioSub, nrSub);
    await a.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    await b.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    await until(() => a.state === 'open' && b.state === 'open');
    await until(() => a.state === 'half-open', 1_000);
    // Probes that take a while: the second call meets the first's lease, not a closed circuit. A probe ends once a
    // call was refused (or after 2 s, if none is: both were let through), however slow the store is to refuse.
    let refuse = () => {};
    const refused = new Promise<void>((resolve) => {
      refuse = resolve;
    });
    const slow = (v: string) => () => Promise.race([refused, sleep(2_000)]).then(() => v);
    const calls = [a.execute(slow('a')), b.execute(slow('b'))];
    for (const call of calls) call.catch(refuse);
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    await until(() => a.state === 'closed' && b.state === 'closed');
    expect(seen.map((e) => `${e.from}>${e.to}`)).toEqual(['closed>open', 'open>half-open', 'half-open>closed']);
  });
});

describe('RedisStore replies and listeners', () => {
  /** A client that records the ttl argument of each compare-and-set and accepts it. */
  const recording = () => {
    const ttls: string[] = [];
    const client = {
      sendCommand: async (args: string[]) => {
        ttls.push(args[9] as string);
        return ['1', '1700000000', '0', '1700000000000001'];
      },
    };
    return { client, ttls };
  };

  it('asks for no expiry when the write asks for ttl 0, else for at least its own ttl in whole ms', async () => {
    const { client, ttls } = recording();
    const store = new RedisStore({ client, ttl: 1_000 });
    for (const ttl of [0, -0, 1, 999.5, 1_000.2, 86_400_000, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await store.compareAndSet('x', none, { ...write(), ttl });
    }
    expect(ttls).toEqual(['0', '0', '1000', '1000', '1001', '86400000', '1000', '1000', String(Number.MAX_SAFE_INTEGER)]);
  });

  it('matches change messages to listeners by the key the server sees: an ioredis keyPrefix in front', async () => {
    let onMessage: ((channel: string, message: string) => void) | undefined;
    let subscribed = false;
    const subscriber = {
      call: async () => null,
      on: (event: 'message', listener: (channel: string, message: string) => void) => {
        if (event === 'message') onMessage = listener;
      },
      subscribe: async () => {
        subscribed = true;
        return 1;
      },
    };
    const client = { call: async () => null, options: { keyPrefix: 'app:' } };
    const store = new RedisStore({ client, subscriber });
    const seen: string[] = [];
    store.subscribe?.('n', (r) => seen.push(r.version));
    await until(() => subscribed);
    onMessage?.('breakwater:changes', `5\n1\n0\n0\ns\nc\nt\nw\n${store.key('n')}`); // another client's key, without the prefix
    onMessage?.('breakwater:changes', `6\n1\n0\n0\ns\nc\nt\nw\napp:${store.key('n')}`);
    expect(seen).toEqual(['6']);
  });

  it('node-redis cluster shape: each command is routed by the breaker key, to the master (not read-only)', async () => {
    const sent: unknown[][] = [];
    const client = {
      nodeClient: async () => null,
      sendCommand: async (firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]) => {
        sent.push([firstKey, isReadonly, ...args.slice(0, 4)]);
        return args[0] === 'EVALSHA' ? Promise.reject(new Error('NOSCRIPT No matching script')) : [1700000000, 0, '', '', '', '', '', ''];
      },
    };
    const store = new RedisStore({ client, prefix: 'c' });
    await store.read('api');
    expect(sent).toEqual([
      ['{c:api}', false, 'EVALSHA', READ.sha, '1', '{c:api}'],
      ['{c:api}', false, 'EVAL', READ.lua, '1', '{c:api}'],
    ]);
  });

  it('reads numbers and nulls in replies as text', async () => {
    const client = { sendCommand: async () => [1700000000, 5, null, undefined, 'c', 't', 's', 7] };
    const r = await new RedisStore({ client }).read('x');
    expect(r).toEqual({ now: 1700000000000.005, version: '', circuit: '', tracker: 'c', settings: 't', at: 0, writer: '7' });
  });

  it('keeps the other listeners of a breaker when one unsubscribes', async () => {
    const handlers: ((message: string, channel: string) => void)[] = [];
    const subscriber = {
      sendCommand: async () => null,
      subscribe: async (_channel: string, listener: (message: string, channel: string) => void) => {
        handlers.push(listener);
      },
    };
    const store = new RedisStore({ client: { sendCommand: async () => null }, subscriber });
    const seen: string[] = [];
    const offA = store.subscribe?.('n', () => seen.push('a'));
    store.subscribe?.('n', () => seen.push('b'));
    await new Promise((resolve) => setImmediate(resolve));
    offA?.();
    handlers[0]?.(`5\n1\n0\n0\ns\nc\nt\nw\n${store.key('n')}`, 'breakwater:changes');
    expect(seen).toEqual(['b']);
  });

  it('node-redis shape: re-reads on a reconnection (not the first connection), and lets go of the connection when the last breaker leaves', async () => {
    const ready = new Set<() => void>();
    const unsubscribed: string[] = [];
    let reads = 0;
    const subscriber = {
      isReady: false,
      sendCommand: async () => null,
      subscribe: async () => 1,
      unsubscribe: async (channel: string) => {
        unsubscribed.push(channel);
        throw new Error('connection closed'); // tidying up a closed connection fails quietly
      },
      on: (event: string, listener: () => void) => {
        if (event === 'ready') ready.add(listener);
      },
      removeListener: (event: string, listener: () => void) => {
        if (event === 'ready') ready.delete(listener);
      },
    };
    const client = {
      sendCommand: async () => {
        reads++;
        return [1700000000, 0, 7, 'c', 't', 's', 0, 'w'];
      },
    };
    const store = new RedisStore({ client, subscriber });
    const heard: string[] = [];
    const off = store.subscribe?.('n', (r) => heard.push(r.version));
    const fire = () => {
      for (const listener of [...ready]) listener();
    };
    fire(); // the first connection: nothing was missed
    await until(() => true);
    expect(reads).toBe(0);
    fire(); // a reconnection: the record is read again and handed to the breaker
    await until(() => heard.length === 1);
    expect(heard).toEqual(['7']);
    off?.();
    expect(unsubscribed).toEqual(['breakwater:changes']);
    // One `ready` listener per connection stays; the store no longer hears of reconnections.
    expect(ready.size).toBe(1);
    fire();
    await new Promise((resolve) => setImmediate(resolve)); // a re-read, had one started, would have answered by now
    expect(heard).toEqual(['7']);
  });

  it("ioredis shape: a resubscription that fails after a reconnection is left to the breakers' own re-reads", async () => {
    const listeners = new Map<string, (...args: never[]) => void>();
    let subscribes = 0;
    const subscriber = {
      status: 'ready',
      call: async () => null,
      on: (event: string, listener: (...args: never[]) => void) => {
        listeners.set(event, listener);
      },
      subscribe: async () => {
        subscribes++;
        if (subscribes > 1) throw new Error('connection lost again');
        return 1;
      },
    };
    const store = new RedisStore({ client: { call: async () => null }, subscriber });
    store.subscribe?.('n', () => {});
    (listeners.get('ready') as () => void)();
    await until(() => subscribes === 2);
    expect(subscribes).toBe(2);
  });
});

describe('RedisStore re-reads when its subscriber reconnects (fake clients, no timing)', () => {
  /** An ioredis-shaped subscriber that is up, and says so again on `ready`. */
  function subscriber() {
    const events = new EventEmitter();
    return Object.assign(events, { status: 'ready', call: async () => null, subscribe: async () => 1 });
  }

  it('hands each listener the record read back, and swallows a read that fails (the breakers report store faults)', async () => {
    const read = [1_700_000_000, 0, '5', '["closed",0,"initial",0,0,0,0,0,3]', '', 'digest', '0', 'w.1'];
    let fails = false;
    let calls = 0;
    const client = {
      call: async () => {
        calls++;
        return fails ? Promise.reject(new Error('down')) : read;
      },
    };
    const sub = subscriber();
    const store = new RedisStore({ client, subscriber: sub });
    const heard: SharedRecord[] = [];
    const stop = store.subscribe?.('api', (record) => heard.push(record)) as () => void;
    await Promise.resolve();
    sub.emit('ready');
    await vi.waitFor(() => expect(heard.map((r) => r.version)).toEqual(['5']));
    fails = true;
    const before = calls;
    sub.emit('ready');
    // The failed re-read reaches nobody and rejects nothing (an unhandled rejection would fail the run).
    await vi.waitFor(() => expect(calls).toBe(before + 1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toHaveLength(1);
    fails = false;
    sub.emit('ready');
    await vi.waitFor(() => expect(heard.length).toBeGreaterThanOrEqual(2));
    expect(heard.every((r) => r.version === '5')).toBe(true);
    stop();
  });

  it('drops a subscription the server refused when no reconnection can retry it, and subscribes again for the next breaker', async () => {
    let attempts = 0;
    const sub = {
      call: async () => null,
      on: () => sub,
      subscribe: async () => {
        attempts++;
        throw new Error('refused');
      },
    };
    const store = new RedisStore({ client: { call: async () => null }, subscriber: sub });
    const stop = store.subscribe?.('a', () => {}) as () => void;
    await vi.waitFor(() => expect(attempts).toBe(1));
    await new Promise((resolve) => setImmediate(resolve));
    const stopB = store.subscribe?.('b', () => {}) as () => void;
    await vi.waitFor(() => expect(attempts).toBe(2));
    stop();
    stopB();
  });
});
