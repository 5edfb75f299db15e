// docs/guide.md blocks run as written, with the prose around them checked. Only the reader's own names are stubbed.
import { describe, expect, it, vi } from 'vitest';
import { BreakerRegistry, CircuitBreaker, CircuitOpenError, circuit, circuitOf, countWindow, parseSnapshot } from '../../src/index.js';

const fail = () => Promise.reject(new Error('down'));

describe('guide: Calls (guide.md:108-127)', () => {
  it('runs as written; fallback replaces any error, CircuitOpenError included', async () => {
    let t = 0;
    const request = { signal: new AbortController().signal };
    const cachedUser = { id: '7', cached: true };
    let up = false;
    let seen: AbortSignal | undefined;
    // A client that throws on error answers, as the guide's text says.
    const api = {
      getUser: async (id: string, init?: { signal?: AbortSignal | undefined }) => {
        seen = init?.signal;
        if (!up) throw new Error('down');
        return { id };
      },
    };
    const breaker = new CircuitBreaker({
      name: 'users-api',
      failureThreshold: 5,
      recoveryTimeout: 30_000,
      timeout: 2_000,
      clock: { now: () => t },
    });
    const get = () =>
      breaker.execute(({ signal }) => api.getUser('7', { signal }), {
        signal: request.signal,
        fallback: (_error) => cachedUser,
      });
    for (let i = 0; i < 5; i++) expect(await get()).toBe(cachedUser);
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(breaker.state).toBe('open');
    const seenBefore = seen;
    seen = undefined;
    expect(await get()).toBe(cachedUser); // CircuitOpenError replaced too
    expect(seen).toBeUndefined();
    t += 30_000;
    up = true;
    expect(await get()).toEqual({ id: '7' });
    expect(seenBefore).toBeDefined();

    const getUser = breaker.wrap((id: string) => api.getUser(id));
    expect(await getUser('7')).toEqual({ id: '7' });
  });

  it('fn receives signal undefined when neither timeout nor caller signal is in play', async () => {
    const b = new CircuitBreaker({ clock: { now: () => 0 } });
    let got: unknown = 'unset';
    await b.execute(({ signal }) => {
      got = signal;
    });
    expect(got).toBeUndefined();
  });

  it('a caller signal that aborts mid-call is neutral', async () => {
    const b = new CircuitBreaker({ failureThreshold: 1, clock: { now: () => 0 } });
    const c = new AbortController();
    const p = b.execute(({ signal }) => new Promise((_, rej) => signal?.addEventListener('abort', () => rej(signal.reason))), {
      signal: c.signal,
    });
    c.abort(new Error('client left'));
    await expect(p).rejects.toThrow('client left');
    expect(b.state).toBe('closed');
    expect(b.metrics().neutral).toBe(1);
  });
});

describe('guide: Events (guide.md:131-144)', () => {
  it('runs as written; rejected prints retry in N ms; off() unsubscribes; events carry name and duration', async () => {
    let t = 0;
    const breaker = new CircuitBreaker({
      name: 'ev',
      failureThreshold: 1,
      recoveryTimeout: 1000,
      clock: { now: () => t, wallNow: () => 1_000_000 + t },
    });
    const log = { warn: vi.fn() };
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((m) => void printed.push(m));
    const off = breaker.on('stateChange', ({ name, from, to, reason, at }) => log.warn({ name, from, to, reason, at }));
    breaker.on('rejected', ({ error }) => console.log(`rejected, retry in ${error.retryAfter} ms`));
    const events: Record<string, unknown>[] = [];
    for (const e of ['success', 'failure', 'neutral', 'timeout'] as const) breaker.on(e, (ev) => events.push({ e, ...ev }));
    await breaker.execute(() => 1);
    await breaker.execute(fail).catch(() => {});
    expect(log.warn).toHaveBeenCalledWith({ name: 'ev', from: 'closed', to: 'open', reason: 'failure-threshold', at: 1_000_000 });
    t += 400;
    await breaker.execute(() => 1).catch(() => {});
    expect(printed).toEqual(['rejected, retry in 600 ms']);
    off();
    t += 600;
    void breaker.state;
    expect(log.warn).toHaveBeenCalledTimes(1);
    for (const ev of events) {
      expect(ev.name).toBe('ev');
      expect(typeof ev.duration).toBe('number');
    }
    spy.mockRestore();
  });

  it('a listener that throws is reported to console.error, never to the call', async () => {
    const b = new CircuitBreaker({ clock: { now: () => 0 } });
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    b.on('success', () => {
      throw new Error('listener');
    });
    expect(await b.execute(() => 5)).toBe(5);
    expect(err).toHaveBeenCalled();
    err.mockRestore();
  });
});

describe('guide: Snapshots (guide.md:163-168)', () => {
  it('runs as written: the restored breaker is open with the same remaining time', async () => {
    let t = 0;
    let wall = 1_700_000_000_000;
    const options = { name: 'users', failureThreshold: 1, recoveryTimeout: 30_000, clock: { now: () => t, wallNow: () => wall } };
    const breaker = new CircuitBreaker(options);
    await breaker.execute(fail).catch(() => {});
    const store = new Map<string, string>();
    const kv = { put: async (k: string, v: string) => void store.set(k, v), get: async (k: string) => store.get(k) ?? null };
    t += 10_000;
    wall += 10_000;
    await kv.put('breaker:users', JSON.stringify(breaker.toJSON()));
    wall += 5_000; // another process, later
    const restored = new CircuitBreaker({
      ...options,
      clock: { now: () => 0, wallNow: () => wall },
      initialState: parseSnapshot(await kv.get('breaker:users')),
    });
    expect(restored.state).toBe('open');
    expect(restored.metrics().retryAfter).toBe(15_000);
  });
  it('hostile snapshots are refused with TypeError/RangeError and pollute nothing', () => {
    const bad = '{"__proto__":{"polluted":1},"version":1}';
    expect(() => new CircuitBreaker({ initialState: parseSnapshot(bad) })).toThrow(/./);
    try {
      new CircuitBreaker({ initialState: parseSnapshot(bad) });
    } catch (e) {
      expect(e instanceof TypeError || e instanceof RangeError).toBe(true);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('guide: registry (guide.md:175-203)', () => {
  it('runs as written', async () => {
    const breakers = new BreakerRegistry({
      defaults: { failureThreshold: 5, timeout: 2_000 },
      optionsFor: (key) => (key === 'reports' ? { timeout: 30_000 } : undefined),
      maxSize: 1000,
    });
    const loadProfile = async (id: string) => ({ id });
    const id = 'p1';
    const added: string[] = [];
    const removed: string[] = [];
    breakers.on('add', ({ key, breaker }) => void added.push(`${key}=${breaker.name}`));
    breakers.on('remove', ({ key }) => void removed.push(key));
    const profile = await breakers.get('profiles').execute(() => loadProfile(id));
    expect(profile).toEqual({ id: 'p1' });
    breakers.get('reports');
    breakers.get('profiles');
    const seen: string[] = [];
    for (const [key, breaker] of breakers) seen.push(`${key}:${breaker.state}`);
    expect(seen).toEqual(['reports:closed', 'profiles:closed']); // least recently used first
    expect(added).toEqual(['profiles=profiles', 'reports=reports']);
    const response = { json: vi.fn() };
    const app = { get: (_p: string, h: (req: unknown, res: typeof response) => void) => h({}, response) };
    app.get('/health/breakers', (_req, res) => res.json(breakers.metrics()));
    expect(response.json).toHaveBeenCalled();
    breakers.delete('reports');
    expect(removed).toEqual(['reports']);
  });
  it('defaults are validated now, not on first use; a name in defaults becomes a prefix; maxSize evicts LRU', () => {
    expect(() => new BreakerRegistry({ defaults: { failureThreshold: Number.NaN } })).toThrow();
    const r = new BreakerRegistry({ defaults: { name: 'billing' }, maxSize: 2 });
    expect(r.get('a').name).toBe('billing:a');
    r.get('b');
    r.get('a');
    r.get('c');
    expect([...r.keys()]).toEqual(['a', 'c']);
  });
  it('a key choosing the other mode replaces the defaults mode', () => {
    const r = new BreakerRegistry({
      defaults: { failureThreshold: 3 },
      optionsFor: (k) => (k === 'rate' ? { failureRateThreshold: 0.5, window: countWindow(100) } : undefined),
    });
    expect(() => r.get('rate')).not.toThrow();
  });
});

interface Order {
  id: string;
}
interface Receipt {
  ok: boolean;
}
describe('guide: @circuit (guide.md:210-229)', () => {
  it('runs as written: one breaker per method named after it, shared by instances; @circuit(db) shares db', async () => {
    const db = new CircuitBreaker({ name: 'db', failureThreshold: 3 });
    let chargeFails = true;
    class Payments {
      @circuit({ failureThreshold: 3, timeout: 2_000 })
      async charge(order: Order): Promise<Receipt> {
        if (chargeFails) throw new Error(`no ${order.id}`);
        return { ok: true };
      }

      @circuit(db)
      async history(customer: string): Promise<Receipt[]> {
        return [{ ok: customer === 'c' }];
      }
    }
    const b = circuitOf(Payments.prototype.charge);
    expect(b?.state).toBe('closed');
    expect(b?.name).toBe('charge');
    expect(circuitOf(Payments.prototype.history)).toBe(db);
    for (const p of [new Payments(), new Payments(), new Payments()]) await p.charge({ id: 'o' }).catch(() => {});
    expect(b?.state).toBe('open');
    chargeFails = false;
    await expect(new Payments().charge({ id: 'o' })).rejects.toBeInstanceOf(CircuitOpenError);
    expect(await new Payments().history('c')).toEqual([{ ok: true }]);
    expect(db.metrics().successes).toBe(1);
  });
  it('invalid options fail when the class is defined', () => {
    expect(() => {
      class X {
        @circuit({ failureThreshold: -1 })
        async m(): Promise<void> {}
      }
      return X;
    }).toThrow();
  });
});

describe('guide: testing with the injectable clock (guide.md:521-541)', () => {
  it('runs as written', async () => {
    const failingApi = { getPrice: async (_sku: string): Promise<number> => Promise.reject(new Error('pricing down')) };
    const healthyApi = { getPrice: async (_sku: string) => 12 };
    class Shop {
      pricing: CircuitBreaker;
      api: { getPrice(sku: string): Promise<number> };
      constructor({ pricing, api }: { pricing: CircuitBreaker; api: Shop['api'] }) {
        this.pricing = pricing;
        this.api = api;
      }
      price(sku: string) {
        return this.pricing.execute(async () => ({ price: await this.api.getPrice(sku), stale: false }), {
          fallback: () => ({ price: 10, stale: true }),
        });
      }
    }
    const clock = { t: 0, now: () => clock.t };
    const pricing = new CircuitBreaker({ name: 'pricing', failureThreshold: 2, recoveryTimeout: 30_000, clock });
    const shop = new Shop({ pricing, api: failingApi });

    await shop.price('sku-1');
    await shop.price('sku-1');
    expect(pricing.state).toBe('open');
    expect(await shop.price('sku-1')).toEqual({ price: 10, stale: true });

    clock.t += 30_000;
    expect(pricing.state).toBe('half-open');
    shop.api = healthyApi;
    expect(await shop.price('sku-1')).toEqual({ price: 12, stale: false });
    expect(pricing.state).toBe('closed');
  });
});
