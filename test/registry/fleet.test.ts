// A registry (and createBreakerFetch) over a shared store: fleet options checked at construction; keys kept out of the fleet.
import { describe, expect, it } from 'vitest';
import { createBreakerFetch } from '../../src/fetch/index.js';
import { BreakerRegistry, CircuitBreaker } from '../../src/index.js';
import { MemoryStore } from '../helpers/memory-store.js';

describe('registry over a shared store: option validation', () => {
  it('a lone breaker refuses a bad fleet option at construction', () => {
    const store = new MemoryStore({ now: () => 0 });
    expect(() => new CircuitBreaker({ name: 'x', store, syncInterval: 0 })).toThrow();
    expect(() => new CircuitBreaker({ name: 'x', store, onStoreError: 'nope' as never })).toThrow();
  });

  it('the registry validates its defaults at construction, the fleet options too', () => {
    const store = new MemoryStore({ now: () => 0 });
    expect(() => new BreakerRegistry({ defaults: { store, syncInterval: 0 } })).toThrow();
  });

  it('same for onStoreError', () => {
    const store = new MemoryStore({ now: () => 0 });
    expect(() => new BreakerRegistry({ defaults: { store, onStoreError: 'nope' as never } })).toThrow();
  });

  it('createBreakerFetch "@throws when an option is invalid": a bad fleet option in `breaker`', () => {
    const store = new MemoryStore({ now: () => 0 });
    expect(() => createBreakerFetch({ breaker: { store, syncInterval: -1 } })).toThrow();
  });
});

describe('optionsFor: some keys with a store, others without', () => {
  it('a key whose optionsFor drops the store (store: undefined) still gets a breaker when defaults tune the fleet', () => {
    const store = new MemoryStore({ now: () => 0 });
    const registry = new BreakerRegistry({
      defaults: { store, syncInterval: 200, onStoreError: 'fail-open' },
      optionsFor: (key) => (key === 'local-only' ? { store: undefined } : undefined),
    });
    expect(registry.get('shared').name).toBe('shared');
    expect(() => registry.get('local-only')).not.toThrow();
  });
});
