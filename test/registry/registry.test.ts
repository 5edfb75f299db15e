import { describe, expect, it, vi } from 'vitest';
import { BreakerRegistry, CircuitBreaker, countWindow } from '../../src/index.js';
import { MemoryStore } from '../helpers/memory-store.js';

const clockAt = (start = 0) => {
  const clock = { t: start, now: () => clock.t };
  return clock;
};

describe('BreakerRegistry', () => {
  it('creates one breaker per key on first use and returns the same one afterwards', () => {
    const registry = new BreakerRegistry();
    const a = registry.get('a');
    expect(a).toBeInstanceOf(CircuitBreaker);
    expect(registry.get('a')).toBe(a);
    expect(registry.get('b')).not.toBe(a);
    expect(registry.size).toBe(2);
    expect(registry.maxSize).toBe(1000);
  });

  it('names each breaker after its key, or prefixes the key with a shared name', () => {
    expect(new BreakerRegistry().get('users').name).toBe('users');
    expect(new BreakerRegistry({ defaults: { name: 'api' } }).get('users').name).toBe('api:users');
    const own = new BreakerRegistry({ optionsFor: (key) => (key === 'x' ? { name: 'special' } : undefined) });
    expect(own.get('x').name).toBe('special');
    expect(own.get('y').name).toBe('y');
  });

  it('creates breakers with the shared options and per-key overrides', async () => {
    const clock = clockAt();
    const registry = new BreakerRegistry({
      defaults: { failureThreshold: 2, recoveryTimeout: 1000, clock },
      optionsFor: (key) => (key === 'fragile' ? { failureThreshold: 1 } : undefined),
    });
    const fail = () => Promise.reject(new Error('down'));
    await expect(registry.get('fragile').execute(fail)).rejects.toThrow('down');
    expect(registry.get('fragile').state).toBe('open');
    await expect(registry.get('sturdy').execute(fail)).rejects.toThrow('down');
    expect(registry.get('sturdy').state).toBe('closed');
    await expect(registry.get('sturdy').execute(fail)).rejects.toThrow('down');
    expect(registry.get('sturdy').state).toBe('open');
    clock.t = 1000;
    expect(registry.get('sturdy').state).toBe('half-open');
  });

  it('evicts the least recently used breaker beyond maxSize', () => {
    const registry = new BreakerRegistry({ maxSize: 2 });
    const a = registry.get('a');
    registry.get('b');
    registry.get('a'); // a is now the most recently used
    registry.get('c'); // evicts b
    expect([...registry.keys()]).toEqual(['a', 'c']);
    expect(registry.peek('a')).toBe(a);
    expect(registry.has('b')).toBe(false);
    registry.get('d'); // evicts a
    expect([...registry.keys()]).toEqual(['c', 'd']);
  });

  it('peek and iteration leave the order alone', () => {
    const registry = new BreakerRegistry({ maxSize: 2 });
    registry.get('a');
    registry.get('b');
    expect(registry.peek('a')?.name).toBe('a');
    expect(registry.peek('zzz')).toBeUndefined();
    expect([...registry].map(([key]) => key)).toEqual(['a', 'b']);
    registry.get('c');
    expect([...registry.keys()]).toEqual(['b', 'c']);
  });

  it('iterates [key, breaker] pairs, keys, values and entries', () => {
    const registry = new BreakerRegistry();
    const a = registry.get('a');
    const b = registry.get('b');
    expect([...registry]).toEqual([
      ['a', a],
      ['b', b],
    ]);
    expect([...registry.entries()]).toEqual([...registry]);
    expect([...registry.values()]).toEqual([a, b]);
  });

  it('reports add and remove events (eviction, delete, clear) and unsubscribes', () => {
    const registry = new BreakerRegistry({ maxSize: 1 });
    const added: string[] = [];
    const removed: string[] = [];
    const offAdd = registry.on('add', ({ key, breaker }) => added.push(`${key}=${breaker.name}`));
    registry.on('remove', ({ key }) => removed.push(key));
    registry.get('a');
    registry.get('a');
    registry.get('b');
    expect(added).toEqual(['a=a', 'b=b']);
    expect(removed).toEqual(['a']);
    expect(registry.delete('b')).toBe(true);
    expect(registry.delete('b')).toBe(false);
    expect(removed).toEqual(['a', 'b']);
    offAdd();
    registry.get('c');
    expect(added).toEqual(['a=a', 'b=b']);
    registry.clear();
    expect(removed).toEqual(['a', 'b', 'c']);
    expect(registry.size).toBe(0);
  });

  it('watch attaches to present and future breakers and detaches on removal and on stop', () => {
    const registry = new BreakerRegistry({ maxSize: 2 });
    registry.get('a');
    const log: string[] = [];
    const stop = registry.watch((breaker, key) => {
      log.push(`+${key}:${breaker.name}`);
      return () => log.push(`-${key}`);
    });
    registry.get('b');
    registry.get('c'); // evicts a first
    registry.delete('b');
    expect(log).toEqual(['+a:a', '+b:b', '-a', '+c:c', '-b']);
    stop();
    expect(log.at(-1)).toBe('-c');
    registry.get('d');
    expect(log.at(-1)).toBe('-c');
  });

  it('reports a throwing listener without breaking get', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const registry = new BreakerRegistry();
    registry.on('add', () => {
      throw new Error('listener bug');
    });
    expect(registry.get('a').name).toBe('a');
    expect(error).toHaveBeenCalledWith('breakwater: a registry "add" listener threw', expect.any(Error));
    error.mockRestore();
  });

  it('gives every breaker metrics keyed by key', async () => {
    const registry = new BreakerRegistry();
    await registry.get('a').execute(() => 1);
    const metrics = registry.metrics();
    expect(Object.keys(metrics)).toEqual(['a']);
    expect(metrics.a).toMatchObject({ name: 'a', state: 'closed', successes: 1 });
  });

  it('refuses bad options, naming them', () => {
    expect(() => new BreakerRegistry({ maxSize: 0 })).toThrow(RangeError);
    expect(() => new BreakerRegistry({ maxSize: 0 })).toThrow(/"maxSize".*got 0/);
    expect(() => new BreakerRegistry({ maxSize: 1.5 })).toThrow(RangeError);
    expect(() => new BreakerRegistry({ maxSize: Number.NaN })).toThrow(RangeError);
    expect(() => new BreakerRegistry({ maxSize: '5' as unknown as number })).toThrow(TypeError);
    expect(() => new BreakerRegistry({ maxsize: 5 } as never)).toThrow(/unknown registry option "maxsize" \(did you mean "maxSize"\?\)/);
    expect(() => new BreakerRegistry(42 as never)).toThrow(TypeError);
    expect(() => new BreakerRegistry(null as never)).toThrow(TypeError);
    expect(() => new BreakerRegistry({ optionsFor: 'x' as never })).toThrow(/"optionsFor" must be a function/);
    expect(() => new BreakerRegistry({ defaults: { failureThreshold: 0 } })).toThrow(/failureThreshold/);
    expect(() => new BreakerRegistry({ defaults: { failureTreshold: 3 } as never })).toThrow(/unknown option "failureTreshold"/);
    expect(() => new BreakerRegistry().on('add', 'x' as never)).toThrow(TypeError);
  });

  it('refuses an empty or non-string key', () => {
    const registry = new BreakerRegistry();
    expect(() => registry.get('')).toThrow(/non-empty string; got ""/);
    expect(() => registry.get(7 as never)).toThrow(/non-empty string; got 7/);
    expect(registry.size).toBe(0);
  });

  it('iterates a copy: calling get() for each key visits each once', () => {
    const registry = new BreakerRegistry();
    for (const key of ['a', 'b', 'c']) registry.get(key);
    const visited: string[] = [];
    for (const key of registry.keys()) {
      visited.push(key);
      if (visited.length > 10) break;
      registry.get(key).close();
    }
    expect(visited).toEqual(['a', 'b', 'c']);
    for (const [key] of registry) registry.get(key);
    for (const breaker of registry.values()) registry.get(breaker.name as string);
    expect([...registry.entries()].map(([key]) => key)).toEqual(['a', 'b', 'c']);
  });

  it('lets a key choose the other mode over the defaults', async () => {
    const clock = clockAt();
    const registry = new BreakerRegistry({
      defaults: { failureThreshold: 3, clock },
      optionsFor: (key) => (key === 'bulk' ? { failureRateThreshold: 0.5, window: countWindow(10), minimumCalls: 2 } : undefined),
    });
    expect(registry.get('bulk').metrics().failureRate).toBe(0);
    const rated = new BreakerRegistry({
      defaults: { failureRateThreshold: 0.5, window: countWindow(10), clock },
      optionsFor: (key) => (key === 'one' ? { failureThreshold: 1 } : undefined),
    });
    await expect(rated.get('one').execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(rated.get('one').state).toBe('open');
  });

  it('disposes the breakers it drops: fleet breakers leave the store, so memory stays bounded', async () => {
    const store = new MemoryStore({ now: () => 0 });
    const registry = new BreakerRegistry({ defaults: { name: 'tenant', store }, maxSize: 2 });
    for (let i = 0; i < 50; i++) registry.get(`t${i}`);
    for (const key of ['x', 'y', 'z', 'x']) registry.get(key); // x is dropped by z, then created again
    await Promise.all([...registry.values()].map((b) => b.flush()));
    const listeners = [...store.backend.listeners.values()].reduce((n, set) => n + set.size, 0);
    expect(registry.size).toBe(2);
    expect(listeners).toBe(2);
    expect(store.backend.listeners.get('tenant:x')?.size).toBe(1);
    registry.clear();
    expect([...store.backend.listeners.values()].reduce((n, set) => n + set.size, 0)).toBe(0);
  });

  describe('watch', () => {
    it('detaches the breakers attached so far when attach throws for one already here', () => {
      const registry = new BreakerRegistry();
      registry.get('a');
      registry.get('b');
      const detached: string[] = [];
      expect(() =>
        registry.watch((_breaker, key) => {
          if (key === 'b') throw new Error('exporter bug');
          return () => detached.push(key);
        }),
      ).toThrow('exporter bug');
      expect(detached).toEqual(['a']);
    });

    it('runs every detach once, reporting the ones that throw or reject', async () => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => {});
      try {
        const registry = new BreakerRegistry();
        for (const key of ['a', 'b', 'c']) registry.get(key);
        const runs: string[] = [];
        const stop = registry.watch((_breaker, key) => () => {
          runs.push(key);
          if (key === 'a') throw new Error('detach bug');
          if (key === 'b') return Promise.reject(new Error('async detach bug')) as unknown as undefined;
        });
        registry.delete('a');
        stop();
        stop();
        await Promise.resolve();
        expect(runs).toEqual(['a', 'b', 'c']);
        expect(error).toHaveBeenCalledTimes(2);
        expect(error.mock.calls.map(([, e]) => (e as Error).message)).toEqual(['detach bug', 'async detach bug']);
      } finally {
        error.mockRestore();
      }
    });

    it('accepts an attach that returns nothing', () => {
      const registry = new BreakerRegistry();
      registry.get('a');
      const stop = registry.watch((() => undefined) as never);
      expect(() => stop()).not.toThrow();
    });
  });
});
