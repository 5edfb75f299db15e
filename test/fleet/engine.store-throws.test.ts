// A store whose subscribe() or unsubscribe throws: breakers still join and leave, registries still work.
import { describe, expect, it } from 'vitest';
import { sharedStore } from '../../src/fleet/index.js';
import { BreakerRegistry } from '../../src/index.js';
import { memoryLogger } from '../helpers/clock.js';

/** The warnings a store that cannot unsubscribe leaves, one per breaker that left. */
const unsubscribeWarnings = (logger: ReturnType<typeof memoryLogger>) =>
  logger.records.filter((r) => r.level === 'warn' && r.record.event === 'breaker.storeError').map((r) => r.message);

// A custom store whose unsubscribe throws (a closed connection, say). dispose() "Never rejects" (breaker.ts:189-195),
// and registry.delete() relies on that (registry.ts:123-124).
function throwingStore() {
  return sharedStore({
    read: async () => ({ version: '', now: 0, circuit: '', tracker: '', settings: '', at: 0, writer: '' }),
    compareAndSet: async () => ({ ok: true, version: '1', now: 0 }),
    subscribe: () => () => {
      throw new Error('connection closed');
    },
  });
}

describe('registry over a store whose unsubscribe throws', () => {
  it('dispose() does not throw', () => {
    const logger = memoryLogger();
    const registry = new BreakerRegistry({ defaults: { store: throwingStore(), clock: { now: () => 0 }, logger } });
    const b = registry.get('a');
    expect(() => b.dispose()).not.toThrow();
    expect(unsubscribeWarnings(logger)).toEqual(['breakwater "a": the store could not unsubscribe the breaker']);
  });

  it('clear() drops every breaker', () => {
    const logger = memoryLogger();
    const registry = new BreakerRegistry({ defaults: { store: throwingStore(), clock: { now: () => 0 }, logger } });
    registry.get('a');
    registry.get('b');
    registry.get('c');
    try {
      registry.clear();
    } catch {
      // reported below
    }
    expect(registry.size).toBe(0);
    expect(unsubscribeWarnings(logger)).toHaveLength(3);
  });

  it('get() of a new key beyond maxSize returns the breaker and emits "add"', () => {
    const logger = memoryLogger();
    const registry = new BreakerRegistry({ defaults: { store: throwingStore(), clock: { now: () => 0 }, logger }, maxSize: 1 });
    const added: string[] = [];
    registry.on('add', ({ key }) => added.push(key));
    registry.get('a');
    expect(() => registry.get('b')).not.toThrow();
    expect(added).toEqual(['a', 'b']);
    // 'a' was evicted: it left the fleet, and its store could not unsubscribe it.
    expect(unsubscribeWarnings(logger)).toEqual(['breakwater "a": the store could not unsubscribe the breaker']);
  });
});

describe('a store whose subscribe() throws: store faults never reach a caller', () => {
  it('createBreakerFetch does not reject the request with the store error', async () => {
    const { createBreakerFetch } = await import('../../src/fetch/index.js');
    const store = sharedStore({
      read: async () => ({ version: '', now: 0, circuit: '', tracker: '', settings: '', at: 0, writer: '' }),
      compareAndSet: async () => ({ ok: true, version: '1', now: 0 }),
      subscribe: () => {
        throw new Error('subscriber connection closed');
      },
    });
    const logger = memoryLogger();
    const fetch = createBreakerFetch({ breaker: { store, clock: { now: () => 0 }, logger }, fetch: async () => new Response('ok') });
    await expect(fetch('https://a.example/')).resolves.toBeInstanceOf(Response);
    expect(logger.records.map((r) => [r.level, r.record.event, r.message])).toEqual([
      ['warn', 'breaker.storeError', 'breakwater "https://a.example": the store could not subscribe the breaker; it re-reads instead'],
    ]);
  });
});
