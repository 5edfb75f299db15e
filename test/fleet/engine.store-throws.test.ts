// A store whose subscribe() or unsubscribe throws: breakers still join and leave, registries still work.
import { describe, expect, it } from 'vitest';
import { sharedStore } from '../../src/fleet/index.js';
import { BreakerRegistry } from '../../src/index.js';

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
    const registry = new BreakerRegistry({ defaults: { store: throwingStore(), clock: { now: () => 0 } } });
    const b = registry.get('a');
    expect(() => b.dispose()).not.toThrow();
  });

  it('clear() drops every breaker', () => {
    const registry = new BreakerRegistry({ defaults: { store: throwingStore(), clock: { now: () => 0 } } });
    registry.get('a');
    registry.get('b');
    registry.get('c');
    try {
      registry.clear();
    } catch {
      // reported below
    }
    expect(registry.size).toBe(0);
  });

  it('get() of a new key beyond maxSize returns the breaker and emits "add"', () => {
    const registry = new BreakerRegistry({ defaults: { store: throwingStore(), clock: { now: () => 0 } }, maxSize: 1 });
    const added: string[] = [];
    registry.on('add', ({ key }) => added.push(key));
    registry.get('a');
    expect(() => registry.get('b')).not.toThrow();
    expect(added).toEqual(['a', 'b']);
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
    const fetch = createBreakerFetch({ breaker: { store, clock: { now: () => 0 } }, fetch: async () => new Response('ok') });
    await expect(fetch('https://a.example/')).resolves.toBeInstanceOf(Response);
  });
});
