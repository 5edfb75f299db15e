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

/** Subscribes to a channel; `onMessage` gets every message on it. */
export type Subscribe = (channel: string, onMessage: (message: string) => void) => Promise<unknown>;

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

/** The subscribe function of a dedicated subscriber connection. */
export function subscriptionsOf(client: unknown, option: string): Subscribe {
  if (isIoRedis(client) && typeof client.on === 'function' && typeof client.subscribe === 'function') {
    const handlers = new Map<string, (message: string) => void>();
    client.on('message', (channel, message) => handlers.get(channel)?.(message));
    return (channel, onMessage) => {
      handlers.set(channel, onMessage);
      return client.subscribe(channel);
    };
  }
  if (isNodeRedis(client) && typeof client.subscribe === 'function') {
    return (channel, onMessage) => client.subscribe(channel, (message) => onMessage(message));
  }
  throw new TypeError(
    `breakwater/redis: option "${option}" must be an ioredis or node-redis client for subscriptions; got ${client === null ? 'null' : typeof client}`,
  );
}
