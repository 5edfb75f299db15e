import { type CompareAndSetResult, type RecordIdentity, type SharedRecord, SharedStore, type SharedWrite } from 'breakwater/fleet';
import { fail, num } from '../options/checks.js';
import {
  commandsOf,
  keyPrefixOf,
  type RedisClientLike,
  type RedisSubscriberLike,
  type Send,
  type Subscribe,
  type Subscription,
  subscriptionsOf,
} from './client.js';
import { COMPARE_AND_SET, READ, type Script } from './scripts.js';

/** Options of `RedisStore`. */
export interface RedisStoreOptions {
  /**
   * An ioredis or node-redis client the app already has (connected): one connection (`new Redis()`,
   * `createClient()`) or a Redis Cluster (`new Cluster()`, `createCluster()`). The client's `keyPrefix`
   * (either library) comes in front of every key (`keyPrefix{prefix:name}`), not of the channel.
   */
  readonly client: RedisClientLike;
  /**
   * A second, dedicated connection for change messages (ioredis: `client.duplicate()`;
   * node-redis: `client.duplicate()`, then its `connect()`; the same for a cluster). Without it, instances
   * re-read the shared state at most once per `syncInterval` while they have calls.
   */
  readonly subscriber?: RedisSubscriberLike;
  /** Prefix of the keys and the change channel (default `'breakwater'`). Keys are `{prefix:name}`. */
  readonly prefix?: string;
  /** Ms after which a Redis call counts as failed (default 250). */
  readonly timeout?: number;
  /**
   * Ms a breaker's key lives after its last write, a whole number ≥ 1: an abandoned breaker's key expires
   * (default one day). A write may ask for longer; a forced-open or disabled breaker's key does not expire.
   */
  readonly ttl?: number;
}

const DAY = 86_400_000;

/** The longest expiry written, in ms (about 285,000 years). */
const MAX_TTL = Number.MAX_SAFE_INTEGER;

const text = (x: unknown): string => (typeof x === 'string' ? x : x === null || x === undefined ? '' : String(x));

/** A record from the store's fields, in the order the scripts and messages give them: version, circuit, tracker, settings, at, writer. */
function recordOf(now: number, f: readonly unknown[]): SharedRecord {
  return {
    now,
    version: text(f[0]),
    circuit: text(f[1]),
    tracker: text(f[2]),
    settings: text(f[3]),
    at: Number(text(f[4])) || 0,
    writer: text(f[5]),
  };
}

/** Redis TIME (seconds, microseconds) in ms. */
const toMs = (seconds: unknown, micros: unknown): number => Number(text(seconds)) * 1000 + Number(text(micros)) / 1000;

/**
 * A `BreakerStore` on Redis (or Valkey, ElastiCache, Upstash over TCP): one hash per breaker,
 * keyed `{prefix:name}` (a single hash slot, so Redis Cluster-safe), written only through
 * compare-and-set scripts, with changes published on the channel `prefix:changes`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { CircuitBreaker } from 'breakwater';
 * import { RedisStore } from 'breakwater/redis';
 *
 * const client = new Redis(process.env.REDIS_URL);
 * const store = new RedisStore({ client, subscriber: client.duplicate() });
 * const breaker = new CircuitBreaker({ name: 'quotes-api', store, failureThreshold: 5, recoveryTimeout: 30_000 });
 * ```
 */
export class RedisStore extends SharedStore {
  readonly timeout: number;
  readonly #send: Send;
  readonly #subscribe: Subscribe | undefined;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #ttl: number;
  /** The client's own key prefix (its `keyPrefix`), which the server's keys and the messages carry. */
  readonly #keyPrefix: string;
  /** Listeners by key as the server sees it; the channel is subscribed once, on the first listener. */
  readonly #listeners = new Map<string, { readonly name: string; readonly set: Set<(record: SharedRecord) => void> }>();
  /** The channel subscription, while some breaker listens. */
  #subscription: Subscription | undefined;

  /** @throws {TypeError | RangeError} for a missing or unknown client or an invalid option. */
  constructor(options: RedisStoreOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('breakwater/redis: RedisStore needs an options object: new RedisStore({ client })');
    }
    this.#send = commandsOf(options.client, 'client');
    this.#keyPrefix = keyPrefixOf(options.client);
    this.#subscribe = options.subscriber === undefined ? undefined : subscriptionsOf(options.subscriber, 'subscriber');
    const prefix = options.prefix ?? 'breakwater';
    if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix)) {
      fail(TypeError, 'prefix', prefix, 'a non-empty string without braces');
    }
    this.#prefix = prefix;
    this.#channel = `${prefix}:changes`;
    this.timeout = num(options.timeout, 'timeout', 0, undefined, 'above') ?? 250;
    this.#ttl = num(options.ttl, 'ttl', 1, MAX_TTL, 'integer') ?? DAY;
    // Without a subscriber connection there is nothing to subscribe with: breakers then re-read instead.
    if (this.#subscribe === undefined) (this as { subscribe?: unknown }).subscribe = undefined;
  }

  /**
   * The Redis key of breaker `name`: the whole key is the hash tag, so it maps to one slot. A client's
   * key prefix (its `keyPrefix`) comes in front of it on the server.
   */
  key(name: string): string {
    return `{${this.#prefix}:${name}}`;
  }

  async read(name: string): Promise<SharedRecord> {
    const r = (await this.#eval(READ, this.key(name), [])) as unknown[];
    return recordOf(toMs(r[0], r[1]), r.slice(2));
  }

  async compareAndSet(name: string, expected: RecordIdentity, next: SharedWrite): Promise<CompareAndSetResult> {
    const args = [
      expected.version,
      String(next.at),
      next.circuit,
      next.tracker,
      next.settings,
      this.#expiry(next.ttl),
      // Always published: other instances may hold subscribers even if this one does not.
      this.#channel,
      next.writer,
      expected.writer,
    ];
    const r = (await this.#eval(COMPARE_AND_SET, this.key(name), args)) as unknown[];
    const now = toMs(r[1], r[2]);
    if (text(r[0]) === '1') return { ok: true, version: text(r[3]), now };
    return { ok: false, current: recordOf(now, r.slice(3)) };
  }

  /**
   * The key's expiry for a write that asks for `ttl` ms: `'0'` (no expiry) when it asks for 0, as a
   * forced-open or disabled breaker does; otherwise at least the store's `ttl`, in whole ms.
   */
  #expiry(ttl: number): string {
    if (ttl === 0) return '0';
    const asked = Math.ceil(ttl);
    return String(asked > this.#ttl ? Math.min(asked, MAX_TTL) : this.#ttl);
  }

  /**
   * Calls `listener` with every record written for `name` by any instance (through the `subscriber`
   * connection). Returns the unsubscribe function. Absent when the store has no `subscriber`.
   */
  subscribe(name: string, listener: (record: SharedRecord) => void): () => void {
    const key = this.#keyPrefix + this.key(name);
    let entry = this.#listeners.get(key);
    if (entry === undefined) {
      entry = { name, set: new Set() };
      this.#listeners.set(key, entry);
    }
    const set = entry.set;
    set.add(listener);
    this.#listen();
    return () => {
      set.delete(listener);
      if (set.size > 0 || this.#listeners.get(key)?.set !== set) return;
      this.#listeners.delete(key);
      // The last breaker left: the connection stops holding this store (and its listener).
      if (this.#listeners.size === 0 && this.#subscription !== undefined) {
        this.#subscription.stop();
        this.#subscription = undefined;
      }
    };
  }

  /** Subscribes the channel once; a failed subscription is tried again by the next breaker that subscribes. */
  #listen(): void {
    if (this.#subscription !== undefined) return;
    let subscription: Subscription;
    try {
      subscription = (this.#subscribe as Subscribe)(
        this.#channel,
        (message) => this.#onMessage(message),
        () => this.#reread(),
      );
    } catch {
      return;
    }
    this.#subscription = subscription;
    Promise.resolve(subscription.ready).then(undefined, () => {
      subscription.stop();
      if (this.#subscription === subscription) this.#subscription = undefined;
    });
  }

  /** The subscriber connection is back: changes written meanwhile were never sent to it, so read each record. */
  #reread(): void {
    for (const { name, set } of this.#listeners.values()) {
      this.read(name).then(
        (record) => {
          for (const listener of set) listener(record);
        },
        () => {
          // The breakers' own re-reads and writes report a store that does not answer.
        },
      );
    }
  }

  /** `version, seconds, micros, at, settings, circuit, tracker, writer, key`: the key last, as it may hold anything. */
  #onMessage(message: string): void {
    const parts: string[] = [];
    let from = 0;
    for (let i = 0; i < 8; i++) {
      const end = message.indexOf('\n', from);
      if (end < 0) return;
      parts.push(message.slice(from, end));
      from = end + 1;
    }
    const listeners = this.#listeners.get(message.slice(from))?.set;
    if (listeners === undefined) return;
    // The message's order: version, seconds, micros, at, settings, circuit, tracker, writer.
    const [version, seconds, micros, at, settings, circuit, tracker, writer] = parts;
    const record = recordOf(toMs(seconds, micros), [version, circuit, tracker, settings, at, writer]);
    for (const listener of listeners) listener(record);
  }

  /** EVALSHA, and EVAL when the server does not know the script yet (a restart, SCRIPT FLUSH, a new node). */
  async #eval(script: Script, key: string, args: string[]): Promise<unknown> {
    try {
      return await this.#send('EVALSHA', script.sha, key, args);
    } catch (error) {
      if (!String((error as { message?: unknown } | null)?.message).includes('NOSCRIPT')) throw error;
      return this.#send('EVAL', script.lua, key, args);
    }
  }
}
