import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { SharedStore, sharedStore } from '../../src/fleet/index.js';
import { CircuitBreaker, CircuitOpenError } from '../../src/index.js';
import { MemoryStore } from '../helpers/memory-store.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const quiet = { info() {}, warn() {}, error() {} };

class Throttled extends Error {
  constructor(readonly waitMs: number) {
    super('throttled');
  }
}
const hint = (failure: unknown) => (failure instanceof Throttled ? failure.waitMs : undefined);

describe('the core entry', () => {
  it('carries no fleet engine: only the store types', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../../src/index.ts', import.meta.url))],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.endsWith('src/core/breaker.ts'))).toBe(true);
    // Only the link a store's engine is handed (src/core/fleet-link.ts: two symbols and types) comes from fleet mode.
    expect(inputs.filter((f) => /fleet|shared-store|redis/.test(f))).toEqual(['src/core/fleet-link.ts']);
  });

  it('refuses a store with the primitives but no engine, naming the way to add one', () => {
    const operations = new MemoryStore();
    const bare = { read: operations.read.bind(operations), compareAndSet: operations.compareAndSet.bind(operations) };
    expect(() => new CircuitBreaker({ name: 'b', store: bare as never })).toThrow(TypeError);
    expect(() => new CircuitBreaker({ name: 'b', store: bare as never })).toThrow(
      /option "store" must be a shared store: RedisStore .*sharedStore\(\) or a SharedStore subclass/,
    );
  });
});

describe('sharedStore()', () => {
  it('shares a breaker through plain primitives, calling them on their object', async () => {
    const backend = new MemoryStore();
    const calls: string[] = [];
    const operations = {
      timeout: 50,
      read(name: string) {
        calls.push(`read ${name}`);
        return backend.read(name);
      },
      compareAndSet: backend.compareAndSet.bind(backend),
      subscribe(name: string, listener: Parameters<NonNullable<MemoryStore['subscribe']>>[1]) {
        calls.push(`subscribe ${name}`);
        return (backend.subscribe as NonNullable<MemoryStore['subscribe']>)(name, listener);
      },
    };
    const store = sharedStore(operations);
    expect(store.timeout).toBe(50);
    const a = new CircuitBreaker({ name: 'p', store, failureThreshold: 1, logger: quiet });
    const b = new CircuitBreaker({
      name: 'p',
      store: sharedStore({ read: (n) => backend.read(n), compareAndSet: (...x) => backend.compareAndSet(...x) }),
    });
    await tick();
    expect(calls).toEqual(['subscribe p', 'read p']);
    await a.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    await tick();
    expect(a.state).toBe('open');
    expect(backend.row('p')?.circuit).toMatch(/^\["open"/);
    expect(b.name).toBe('p');
  });

  it('a subclass of SharedStore is a store', () => {
    expect(new MemoryStore()).toBeInstanceOf(SharedStore);
  });
});

describe('retryAfterHint in fleet mode', () => {
  it('opens the shared circuit for the hinted time, for every instance', async () => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t + 1e6 });
    const options = {
      name: 'h',
      failureThreshold: 1,
      recoveryTimeout: 1_000,
      clock: { now: () => clock.t },
      retryAfterHint: hint,
      logger: quiet,
    };
    const a = new CircuitBreaker({ ...options, store });
    const b = new CircuitBreaker({ ...options, store: store.handle() });
    await tick();
    await a.execute(() => Promise.reject(new Throttled(5_000))).catch(() => {});
    await tick();
    expect(JSON.parse(store.row('h')?.circuit ?? '')[3]).toBe(1e6 + 5_000);
    clock.t += 4_000;
    expect(b.state).toBe('open');
    const error = await b.execute(() => 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).retryAfter).toBe(1_000);
    clock.t += 1_000;
    expect(b.state).toBe('half-open');
  });

  it('keeps the hint when a store fault hands waiting outcomes to the local circuit', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const clock = { t: 0 };
      const store = new MemoryStore({ now: () => clock.t, timeout: 10 });
      const b = new CircuitBreaker({
        name: 'l',
        store,
        failureThreshold: 1,
        recoveryTimeout: 1_000,
        clock: { now: () => clock.t },
        retryAfterHint: hint,
        logger: quiet,
      });
      await vi.advanceTimersByTimeAsync(0);
      store.hang = true;
      await b.execute(() => Promise.reject(new Throttled(7_000))).catch(() => {});
      await vi.advanceTimersByTimeAsync(10);
      expect(b.state).toBe('open');
      expect(b.metrics().retryAfter).toBe(7_000);
    } finally {
      vi.useRealTimers();
    }
  });
});
