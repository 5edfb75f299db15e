/**
 * One small surface over the two Redis clients we support, told apart by shape:
 * ioredis, its `Redis` (also in Sentinel mode) or its `Cluster` (`call(command, ...args)`, `subscribe(channel)` +
 * `'message'` events), and node-redis (`subscribe(channel, listener)`): a client (`sendCommand(args)`), a cluster
 * (`sendCommand(firstKey, isReadonly, args)`, which routes the command by `firstKey`) or a Sentinel client
 * (`sendCommand(isReadonly, args)`, sent to the primary the Sentinels name).
 */

/** The shape of an ioredis client (`Redis` or `Cluster`) that we use. */
export interface IoRedisLike {
  /** Sends one command with its arguments; resolves with the reply. */
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** The shape of a node-redis client that we use. */
export interface NodeRedisLike {
  /** Sends one command (`[name, ...args]`); resolves with the reply. */
  sendCommand(args: string[]): Promise<unknown>;
}

/** The shape of a node-redis cluster client (`createCluster`) that we use. */
export interface NodeRedisClusterLike {
  /** Sends one command (`[name, ...args]`) to the node serving `firstKey`; resolves with the reply. */
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  /** The connection to one node: only a cluster has it, which tells it apart from a client. */
  nodeClient(node: never): Promise<unknown>;
}

/** The shape of a node-redis Sentinel client (`createSentinel`) that we use. */
export interface NodeRedisSentinelLike {
  /** Sends one command (`[name, ...args]`), to the primary unless `isReadonly`; resolves with the reply. */
  sendCommand(isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  /** The primary the Sentinels name: only a Sentinel client has it, which tells it apart from a client. */
  getMasterNode(): unknown;
}

/** An ioredis client or cluster, or a node-redis client, cluster or Sentinel client. */
export type RedisClientLike = IoRedisLike | NodeRedisLike | NodeRedisClusterLike | NodeRedisSentinelLike;

/** An ioredis connection (`Redis` or `Cluster`) used for subscriptions. */
export interface IoRedisSubscriberLike {
  /** Subscribes to channels; messages arrive as `'message'` events. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** Listens for the messages of subscribed channels. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
}

/** A node-redis connection (client or cluster) used for subscriptions. */
export interface NodeRedisSubscriberLike {
  /** Subscribes to a channel; `listener` receives its messages. */
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
}

/** A dedicated ioredis or node-redis connection for change messages. */
export type RedisSubscriberLike = IoRedisSubscriberLike | NodeRedisSubscriberLike;

/**
 * Runs a script (`EVALSHA sha` or `EVAL lua`) on one key, named as the store names it (the client's key prefix,
 * if any, goes in front of it on the server), with `args`; resolves with the reply.
 */
export type Send = (command: 'EVALSHA' | 'EVAL', script: string, key: string, args: readonly string[]) => Promise<unknown>;

/** A subscription of one store to the change channel. */
export interface Subscription {
  /** Settles when the server confirmed the subscription. */
  readonly ready: Promise<unknown>;
  /** Stops delivering to this store (the connection stays subscribed for the others). */
  stop(): void;
}

/**
 * Subscribes to a channel: `onMessage` gets every message on it, and `onReconnect` runs each time the
 * connection is subscribed again after a reconnection (messages sent while it was down are lost: the store
 * re-reads instead).
 */
export type Subscribe = (channel: string, onMessage: (message: string) => void, onReconnect: () => void) => Subscription;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

function isIoRedis(client: unknown): client is IoRedisLike & IoRedisSubscriberLike {
  return isObject(client) && typeof client.call === 'function';
}

function isNodeRedis(client: unknown): client is NodeRedisLike & NodeRedisSubscriberLike {
  return isObject(client) && typeof client.sendCommand === 'function' && typeof client.call !== 'function';
}

function isNodeRedisCluster(client: unknown): client is NodeRedisClusterLike {
  return isNodeRedis(client) && typeof (client as { nodeClient?: unknown }).nodeClient === 'function';
}

function isNodeRedisSentinel(client: unknown): client is NodeRedisSentinelLike {
  return isNodeRedis(client) && typeof (client as { getMasterNode?: unknown }).getMasterNode === 'function';
}

/** The script function of `client`; a `TypeError` naming `option` for anything else. */
export function commandsOf(client: unknown, option: string): Send {
  // ioredis puts its key prefix in front of a script's keys itself.
  if (isIoRedis(client)) return (command, script, key, args) => client.call(command, script, '1', key, ...args);
  // node-redis sends a raw command as it is, without its key prefix: it goes in front here.
  if (isNodeRedisCluster(client)) {
    const prefix = keyPrefixOf(client);
    // Not read-only: a replica may lag behind the master's last write.
    return (command, script, key, args) => client.sendCommand(prefix + key, false, [command, script, '1', prefix + key, ...args]);
  }
  // Not read-only: a replica may lag behind the primary's last write. A Sentinel client keeps its options to itself,
  // so no key prefix can be read from it.
  if (isNodeRedisSentinel(client)) return (command, script, key, args) => client.sendCommand(false, [command, script, '1', key, ...args]);
  if (isNodeRedis(client)) {
    const prefix = keyPrefixOf(client);
    return (command, script, key, args) => client.sendCommand([command, script, '1', prefix + key, ...args]);
  }
  throw new TypeError(
    `breakwater/redis: option "${option}" must be an ioredis or node-redis client; got ${client === null ? 'null' : typeof client}`,
  );
}

/**
 * The client's `keyPrefix` option, `''` for none: ioredis keeps it in `options` (a `Cluster` too, also when
 * given in `redisOptions`), a node-redis client in `options`, a node-redis cluster in `_options`. The key the
 * server sees (and names in change messages) is this prefix followed by the store's key. Channels are not prefixed.
 */
export function keyPrefixOf(client: RedisClientLike): string {
  const c = client as { options?: unknown; _options?: unknown };
  const options = isObject(c.options) ? c.options : c._options;
  const prefix = isObject(options) ? options.keyPrefix : undefined;
  // Both clients prefix a key with any truthy keyPrefix, as text.
  return prefix ? String(prefix) : '';
}

/** What the stores on one ioredis connection share: one message listener, not one per store. */
interface Dispatch {
  readonly channels: Map<string, Set<(message: string) => void>>;
}

type EventSource = { on(event: string, listener: (...args: never[]) => void): unknown };

const dispatches = new WeakMap<object, Dispatch>();

function dispatchOf(client: IoRedisSubscriberLike): Dispatch {
  let dispatch = dispatches.get(client);
  if (dispatch === undefined) {
    const d: Dispatch = { channels: new Map() };
    client.on('message', (channel, message) => {
      for (const handler of d.channels.get(channel) ?? []) handler(message);
    });
    dispatches.set(client, d);
    dispatch = d;
  }
  return dispatch;
}

const reconnectHubs = new WeakMap<object, Set<() => void>>();

/**
 * The handlers told of a connection's reconnections, behind one `ready` listener per connection (both clients
 * emit `ready` on every connection), and one `topology-change` listener (a node-redis Sentinel client moves its
 * subscriptions to a new primary without a new `ready`: `MASTER_CHANGE`). `connectedNow`: whether the connection
 * is up already; if not, its first `ready` is its first connection, not a reconnection. `undefined` for a client
 * without events.
 */
function reconnectsOf(client: object, connectedNow: boolean): Set<() => void> | undefined {
  let hub = reconnectHubs.get(client);
  if (hub === undefined) {
    const events = client as Partial<EventSource>;
    if (typeof events.on !== 'function') return undefined;
    const handlers = new Set<() => void>();
    let connected = connectedNow;
    events.on('ready', () => {
      if (connected) for (const reconnect of handlers) reconnect();
      connected = true;
    });
    events.on('topology-change', (change: { type?: unknown } | undefined) => {
      if (connected && change?.type === 'MASTER_CHANGE') for (const reconnect of handlers) reconnect();
    });
    reconnectHubs.set(client, handlers);
    hub = handlers;
  }
  return hub;
}

/** A subscription that may be waiting for its connection. */
interface Retrying {
  /** Settles with the first SUBSCRIBE that succeeds; rejects only when no retry can come. */
  readonly ready: Promise<unknown>;
  /** Gives up a retry still waiting (the store has no breaker left): nothing subscribes later, nothing is re-read. */
  cancel(): void;
}

type Emitter = { once?: unknown; off?: unknown; removeListener?: unknown };

/**
 * Subscribes; if that fails (a connection not up yet, without an offline queue), subscribes again when the
 * connection is ready and then calls `late`: nothing was heard until then. `undo` takes back a retry that
 * succeeded after `cancel()`.
 */
function subscribeRetrying(client: object, subscribe: () => Promise<unknown>, late: () => void, undo?: () => void): Retrying {
  const events = client as Emitter;
  // A node-redis cluster emits no `ready`: `connect` is its end of `connect()`.
  const event = isNodeRedisCluster(client) ? 'connect' : 'ready';
  let cancelled = false;
  let waiting: (() => void) | undefined;
  const ready = subscribe().catch((error: unknown) => {
    if (typeof events.once !== 'function' || cancelled) throw error;
    return new Promise<unknown>((resolve, reject) => {
      waiting = () => {
        waiting = undefined;
        subscribe().then((value) => {
          if (cancelled) return undo?.();
          late();
          resolve(value);
        }, reject);
      };
      (events.once as (event: string, listener: () => void) => unknown).call(client, event, waiting);
    });
  });
  return {
    ready,
    cancel: () => {
      cancelled = true;
      const off = typeof events.off === 'function' ? events.off : events.removeListener;
      if (waiting !== undefined && typeof off === 'function') off.call(client, event, waiting);
      waiting = undefined;
    },
  };
}

/** The subscribe function of a dedicated subscriber connection. */
export function subscriptionsOf(client: unknown, option: string): Subscribe {
  if (isIoRedis(client) && typeof client.on === 'function' && typeof client.subscribe === 'function') {
    return (channel, onMessage, onReconnect) => {
      const dispatch = dispatchOf(client);
      const handlers = dispatch.channels.get(channel) ?? new Set<(message: string) => void>();
      dispatch.channels.set(channel, handlers);
      handlers.add(onMessage);
      // Our own SUBSCRIBE queues behind the client's automatic one: once it is confirmed, nothing is missed.
      const reconnect = () => {
        client.subscribe(channel).then(onReconnect, () => {});
      };
      // ioredis emits `ready` before it subscribes the channels again: our own SUBSCRIBE above waits for that.
      const reconnects = reconnectsOf(client, (client as { status?: unknown }).status === 'ready');
      reconnects?.add(reconnect);
      let stopped = false;
      const retrying = subscribeRetrying(client, () => client.subscribe(channel), onReconnect);
      return {
        ready: retrying.ready,
        stop: () => {
          // Once: a later subscription of the same channel may own the handler set by then.
          if (stopped) return;
          stopped = true;
          retrying.cancel();
          handlers.delete(onMessage);
          if (handlers.size === 0 && dispatch.channels.get(channel) === handlers) dispatch.channels.delete(channel);
          reconnects?.delete(reconnect);
        },
      };
    };
  }
  if (isNodeRedis(client) && typeof client.subscribe === 'function') {
    return (channel, onMessage, onReconnect) => {
      const listener = (message: string) => onMessage(message);
      const unsubscribe = () => {
        const c = client as unknown as { unsubscribe?: (channel: string, listener: (message: string) => void) => Promise<unknown> };
        // Unsubscribing is tidying up: a connection already closed has nothing left to unsubscribe.
        if (typeof c.unsubscribe === 'function') Promise.resolve(c.unsubscribe(channel, listener)).then(undefined, () => {});
      };
      const retrying = subscribeRetrying(client, () => client.subscribe(channel, listener), onReconnect, unsubscribe);
      // node-redis subscribes its channels again on reconnection and emits `ready`.
      const reconnect = () => onReconnect();
      const reconnects = reconnectsOf(client, (client as { isReady?: unknown }).isReady === true);
      reconnects?.add(reconnect);
      return {
        ready: retrying.ready,
        stop: () => {
          retrying.cancel();
          unsubscribe();
          reconnects?.delete(reconnect);
        },
      };
    };
  }
  throw new TypeError(
    `breakwater/redis: option "${option}" must be an ioredis or node-redis client for subscriptions; got ${client === null ? 'null' : typeof client}`,
  );
}
