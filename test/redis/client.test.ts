// The client adapters over fake connections: a retry that waits for the connection goes with the
// subscription that gave up, also when its SUBSCRIBE is already on its way; a node-redis Sentinel client.
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { commandsOf, subscriptionsOf } from '../../src/redis/client.js';

/** A node-redis-shaped subscriber that refuses SUBSCRIBE while down, and whose next SUBSCRIBE the test answers. */
function nodeRedisSubscriber() {
  const events = new EventEmitter();
  let answer: (() => void) | undefined;
  const subscriber = Object.assign(events, {
    isReady: false,
    sendCommand: vi.fn(),
    subscribe: vi.fn(async (_channel: string, _listener: (message: string) => void) => {
      if (!subscriber.isReady) throw new Error('The client is closed');
      await new Promise<void>((resolve) => {
        answer = resolve;
      });
    }),
    unsubscribe: vi.fn(async () => {}),
  });
  return { subscriber, answer: () => answer?.() };
}

describe('a subscription that waits for its connection', () => {
  it('node-redis: stopped while waiting, it never subscribes and leaves no listener', async () => {
    const { subscriber } = nodeRedisSubscriber();
    const subscribe = subscriptionsOf(subscriber, 'subscriber');
    const late = vi.fn();
    const base = subscriber.listenerCount('ready');
    const subscription = subscribe('bw:changes', vi.fn(), late);
    await vi.waitFor(() => expect(subscriber.listenerCount('ready')).toBe(base + 2)); // the retry, and the reconnection hub
    subscription.stop();
    expect(subscriber.listenerCount('ready')).toBe(base + 1); // the hub stays: one per connection, shared
    subscriber.isReady = true;
    subscriber.emit('ready');
    await Promise.resolve();
    expect(subscriber.subscribe).toHaveBeenCalledTimes(1);
    expect(late).not.toHaveBeenCalled();
  });

  it('node-redis: stopped while the retried SUBSCRIBE is on its way, its listener is unsubscribed when it lands', async () => {
    const { subscriber, answer } = nodeRedisSubscriber();
    const subscribe = subscriptionsOf(subscriber, 'subscriber');
    const late = vi.fn();
    const subscription = subscribe('bw:changes', vi.fn(), late);
    await vi.waitFor(() => expect(subscriber.listenerCount('ready')).toBeGreaterThan(0));
    subscriber.isReady = true;
    subscriber.emit('ready');
    await vi.waitFor(() => expect(subscriber.subscribe).toHaveBeenCalledTimes(2));
    subscription.stop();
    const listener = subscriber.subscribe.mock.calls[1]?.[1];
    subscriber.unsubscribe.mockClear();
    answer();
    await vi.waitFor(() => expect(subscriber.unsubscribe).toHaveBeenCalledWith('bw:changes', listener));
    expect(late).not.toHaveBeenCalled();
  });

  it('ioredis: stopped while waiting, its retry goes (no `ready` listener per dropped subscription)', async () => {
    const events = new EventEmitter();
    let up = false;
    const subscriber = Object.assign(events, {
      status: 'connecting',
      call: vi.fn(),
      subscribe: vi.fn(async () => {
        if (!up) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
        return 1;
      }),
    });
    const subscribe = subscriptionsOf(subscriber, 'subscriber');
    const late = vi.fn();
    const first = subscribe('bw:changes', vi.fn(), late);
    await vi.waitFor(() => expect(subscriber.listenerCount('ready')).toBe(2));
    for (let i = 0; i < 20; i++) {
      const dropped = subscribe('bw:changes', vi.fn(), late);
      await vi.waitFor(() => expect(subscriber.listenerCount('ready')).toBe(3)); // its retry waits
      dropped.stop();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(subscriber.listenerCount('ready')).toBe(2); // the hub and the first subscription's retry
    up = true;
    subscriber.emit('ready');
    await vi.waitFor(() => expect(late).toHaveBeenCalledTimes(1));
    first.stop();
  });
});

describe('a node-redis Sentinel client', () => {
  /** A Sentinel-shaped client: commands as `sendCommand(isReadonly, args)`, the primary it follows, topology events. */
  function sentinelClient() {
    return Object.assign(new EventEmitter(), {
      isReady: true,
      getMasterNode: () => ({ host: '127.0.0.1', port: 6379 }),
      sendCommand: vi.fn(async (_isReadonly: boolean | undefined, _args: string[]) => 'OK'),
      subscribe: vi.fn(async (_channel: string, _listener: (message: string) => void) => {}),
      unsubscribe: vi.fn(async () => {}),
    });
  }

  it('sends scripts to the primary, as its own commands are sent', async () => {
    const client = sentinelClient();
    const send = commandsOf(client, 'client');
    await send('EVALSHA', 'abc', '{bw:api}', ['1', '2']);
    expect(client.sendCommand).toHaveBeenCalledWith(false, ['EVALSHA', 'abc', '1', '{bw:api}', '1', '2']);
  });

  it('re-reads when it moves its subscriptions to a new primary, not on other topology changes', async () => {
    const client = sentinelClient();
    const reconnect = vi.fn();
    const subscription = subscriptionsOf(client, 'subscriber')('bw:changes', vi.fn(), reconnect);
    await subscription.ready;
    client.emit('topology-change', { type: 'REPLICA_ADD' });
    client.emit('topology-change', undefined);
    expect(reconnect).not.toHaveBeenCalled();
    client.emit('topology-change', { type: 'MASTER_CHANGE' });
    expect(reconnect).toHaveBeenCalledTimes(1);
    subscription.stop();
  });
});
