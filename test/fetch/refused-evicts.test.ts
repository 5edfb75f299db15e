// A request fetch refuses to send makes no breaker: in fleet mode it would join the store and could evict a live origin.
import { describe, expect, it } from 'vitest';
import { createBreakerFetch } from '../../src/fetch/index.js';
import { quiet, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

describe('createBreakerFetch: a request fetch refuses to send', () => {
  it('creates no breaker (and, in fleet mode, joins no store nor evicts a live origin)', async () => {
    const store = new MemoryStore({ now: () => 1e12 });
    const fetch = createBreakerFetch({
      breaker: { failureThreshold: 1, store, logger: quiet(), clock: { now: () => 0 } },
      maxOrigins: 1,
      fetch: async () => new Response('down', { status: 503 }),
    });
    await tick();
    const a = fetch.registry.get('https://a.example');
    // A GET with a body: fetch's TypeError, "counts nothing" (guide.md:253-254).
    await expect(fetch('https://b.example/x', { method: 'GET', body: 'oops' })).rejects.toThrow(TypeError);
    expect(fetch.registry.has('https://b.example')).toBe(false);
    expect(fetch.registry.peek('https://a.example')).toBe(a);
    expect(store.backend.listeners.get('https://b.example')?.size ?? 0).toBe(0);
  });
});
