// RedisStore's option checks follow the core's rule (TypeError for a wrong type), and the stores on one node-redis
// subscriber share one reconnection listener, as with ioredis.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/redis/index.js';

const client = { sendCommand: async () => null };

describe('RedisStore option checks', () => {
  it('a non-number timeout is a TypeError, as a non-number ttl is (and as every core option is)', () => {
    expect(() => new RedisStore({ client, ttl: '1000' as unknown as number })).toThrow(TypeError);
    expect(() => new RedisStore({ client, timeout: '250' as unknown as number })).toThrow(TypeError);
  });
});

describe('one reconnection listener per subscriber connection', () => {
  it('node-redis: many stores on one subscriber add one ready listener, as with ioredis', () => {
    const subscriber = Object.assign(new EventEmitter(), {
      isReady: true,
      sendCommand: async () => null,
      subscribe: async () => 1,
      unsubscribe: async () => 1,
    });
    const offs: Array<(() => void) | undefined> = [];
    for (let i = 0; i < 11; i++) offs.push(new RedisStore({ client, subscriber, prefix: `p${i}` }).subscribe?.('n', () => {}));
    const count = subscriber.listenerCount('ready');
    for (const off of offs) off?.();
    // Eleven would be Node's MaxListenersExceededWarning.
    expect(count).toBe(1);
  });
});
