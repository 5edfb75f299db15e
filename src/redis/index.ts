/**
 * breakwater/redis: fleet mode on Redis. Pass a `RedisStore` as the breaker's `store`, and every
 * instance with the same `name` shares one breaker.
 * @packageDocumentation
 */

// The base of every shared store, for code that accepts any of them.
export { SharedStore } from 'breakwater/fleet';
export type {
  IoRedisLike,
  IoRedisSubscriberLike,
  NodeRedisClusterLike,
  NodeRedisLike,
  NodeRedisSentinelLike,
  NodeRedisSubscriberLike,
  RedisClientLike,
  RedisSubscriberLike,
} from './client.js';
export { RedisStore, type RedisStoreOptions } from './store.js';
