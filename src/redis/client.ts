/**
 * One small surface over the two Redis clients we support, told apart by shape:
 * ioredis (`call(command, ...args)`, `subscribe(channel)` + `'message'` events) and
 * node-redis (`sendCommand(args)`, `subscribe(channel, listener)`).
 */

/** The shape of an ioredis client that we use. */
export interface IoRedisLike {
  /** Sends one command with its arguments; resolves with the reply. */
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** The shape of a node-redis client that we use. */
export interface NodeRedisLike {
  /** Sends one command (`[name, ...args]`); resolves with the reply. */
  sendCommand(args: string[]): Promise<unknown>;
}

/** An ioredis or node-redis client. */
export type RedisClientLike = IoRedisLike | NodeRedisLike;

/** An ioredis connection used for subscriptions. */
export interface IoRedisSubscriberLike {
  /** Subscribes to channels; messages arrive as `'message'` events. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** Listens for the messages of subscribed channels. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
}

/** A node-redis connection used for subscriptions. */
export interface NodeRedisSubscriberLike {
  /** Subscribes to a channel; `listener` receives its messages. */
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
}

/** A dedicated ioredis or node-redis connection for change messages. */
export type RedisSubscriberLike = IoRedisSubscriberLike | NodeRedisSubscriberLike;

/** Sends one command and returns its reply. */
export type Send = (args: string[]) => Promise<unknown>;

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

/** The command function of `client`; a `TypeError` naming `option` for anything else. */
export function commandsOf(client: unknown, option: string): Send {
  if (isIoRedis(client)) return (args) => client.call(args[0] as string, ...args.slice(1));
  if (isNodeRedis(client)) return (args) => client.sendCommand(args);
  throw new TypeError(
    `breakwater/redis: option "${option}" must be an ioredis or node-redis client; got ${client === null ? 'null' : typeof client}`,
  );
}

/**
 * The prefix an ioredis client puts in front of every key it sends (its `keyPrefix` option), `''` for
 * none. It applies to the keys of a script too, so the key the server sees (and names in change messages)
 * is this prefix followed by the store's key. Channels are not prefixed.
 */
export function keyPrefixOf(client: RedisClientLike): string {
  const options = (client as { options?: unknown }).options;
  const prefix = isObject(options) ? options.keyPrefix : undefined;
  // ioredis prefixes a key with any truthy keyPrefix, as a string.
  return prefix ? String(prefix) : '';
}

/** What the stores on one ioredis connection share: one message listener and one ready listener, not one per store. */
interface Dispatch {
  readonly channels: Map<string, Set<(message: string) => void>>;
  readonly reconnects: Set<() => void>;
}

type EventSource = {
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener?(event: string, listener: (...args: never[]) => void): unknown;
};

const dispatches = new WeakMap<object, Dispatch>();

function dispatchOf(client: IoRedisSubscriberLike): Dispatch {
  let dispatch = dispatches.get(client);
  if (dispatch === undefined) {
    const d: Dispatch = { channels: new Map(), reconnects: new Set() };
    // The first `ready` of a connection still connecting is its first connection, not a reconnection.
    let connected = (client as { status?: unknown }).status === 'ready';
    client.on('message', (channel, message) => {
      for (const handler of d.channels.get(channel) ?? []) handler(message);
    });
    // ioredis emits `ready` on every (re)connection, before it subscribes the channels again.
    (client as unknown as EventSource).on('ready', () => {
      if (connected) for (const reconnect of d.reconnects) reconnect();
      connected = true;
    });
    dispatches.set(client, d);
    dispatch = d;
  }
  return dispatch;
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
      dispatch.reconnects.add(reconnect);
      let stopped = false;
      return {
        ready: client.subscribe(channel),
        stop: () => {
          // Once: a later subscription of the same channel may own the handler set by then.
          if (stopped) return;
          stopped = true;
          handlers.delete(onMessage);
          if (handlers.size === 0 && dispatch.channels.get(channel) === handlers) dispatch.channels.delete(channel);
          dispatch.reconnects.delete(reconnect);
        },
      };
    };
  }
  if (isNodeRedis(client) && typeof client.subscribe === 'function') {
    return (channel, onMessage, onReconnect) => {
      const listener = (message: string) => onMessage(message);
      const ready = client.subscribe(channel, listener);
      // node-redis subscribes its channels again on reconnection and emits `ready`.
      let connected = (client as { isReady?: unknown }).isReady === true;
      const reconnect = () => {
        if (connected) onReconnect();
        connected = true;
      };
      const events = client as unknown as Partial<EventSource>;
      if (typeof events.on === 'function') events.on('ready', reconnect);
      return {
        ready,
        stop: () => {
          const c = client as unknown as { unsubscribe?: (channel: string, listener: (message: string) => void) => Promise<unknown> };
          // Unsubscribing is tidying up: a connection already closed has nothing left to unsubscribe.
          if (typeof c.unsubscribe === 'function') Promise.resolve(c.unsubscribe(channel, listener)).then(undefined, () => {});
          events.removeListener?.('ready', reconnect);
        },
      };
    };
  }
  throw new TypeError(
    `breakwater/redis: option "${option}" must be an ioredis or node-redis client for subscriptions; got ${client === null ? 'null' : typeof client}`,
  );
}
