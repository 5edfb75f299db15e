// A record with the largest version the store accepts, on a real Redis: the next write still reads back.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

const quiet = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });
const fail = () => Promise.reject(new Error('upstream down'));

describe.skipIf(!redisAvailable())('an 18-digit version (the store says it is kept and counted on)', () => {
  let server: RedisServer;
  let io: Redis;
  beforeAll(async () => {
    server = await startRedis();
    io = new Redis({ port: server.port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    io?.disconnect();
    server?.stop();
  });

  it('a write over it is not lost: another instance reads the circuit it opened', async () => {
    await io.hset('{v18:api}', 'v', '999999999999999999', 'c', '["closed",0,"initial",0,0,0,0,0,0]');
    const options = { name: 'api', failureThreshold: 1, recoveryTimeout: 60_000, logger: quiet() };
    const a = new CircuitBreaker({ ...options, store: new RedisStore({ client: io, prefix: 'v18' }) });
    await a.execute(fail).catch(() => {});
    await a.flush();
    expect(a.state).toBe('open');
    expect(await io.hget('{v18:api}', 'c')).toMatch(/^\["open"/);
    // A second instance (no subscriber) reads the record: the circuit A opened must be there.
    const store = new RedisStore({ client: io, prefix: 'v18' });
    expect((await store.read('api')).circuit).toMatch(/^\["open"/);
    await a.dispose();
  });
});
