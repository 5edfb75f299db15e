// Half-open, backoff and migration statements of README.md / docs/guide.md / docs/migrating.md, run.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, circuit, circuitOf, countWindow, exponentialBackoff, timeWindow } from '../../src/index.js';

const fail = () => Promise.reject(new Error('down'));

describe('half-open (README:135-139, guide.md:78)', () => {
  it('probe-expired after maxProbeWait from the first probe in flight; late outcome ignored; idle half-open waits', async () => {
    let t = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, maxProbeWait: 5000, clock: { now: () => t } });
    const reasons: string[] = [];
    b.on('stateChange', ({ to, reason }) => void reasons.push(`${to}:${reason}`));
    await b.execute(fail).catch(() => {});
    t += 1000;
    t += 100_000; // idle half-open: no flapping
    expect(b.state).toBe('half-open');
    let release!: () => void;
    const probe = b.execute(() => new Promise<void>((r) => (release = r)));
    await expect(b.execute(() => 1)).rejects.toBeInstanceOf(CircuitOpenError); // others rejected at once
    t += 5000;
    expect(b.state).toBe('open');
    release();
    await probe;
    expect(b.state).toBe('open');
    expect(reasons).toEqual(['open:failure-threshold', 'half-open:recovery-timeout', 'open:probe-expired']);
  });
  it('maxProbeWait defaults to max(60000, timeout)', async () => {
    let t = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, timeout: 90_000, clock: { now: () => t } });
    await b.execute(fail).catch(() => {});
    t += 1000;
    const ac = new AbortController();
    const p = b.execute(() => new Promise<void>(() => {}), { signal: ac.signal });
    t += 60_000;
    expect(b.state).toBe('half-open');
    t += 30_000;
    expect(b.state).toBe('open');
    ac.abort();
    await p.catch(() => {});
  });
  it('exponential backoff: 2x per failed probe up to 10 x recoveryTimeout, reset when closed', async () => {
    let t = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, backoff: exponentialBackoff(), clock: { now: () => t } });
    await b.execute(fail).catch(() => {});
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const w = b.metrics().retryAfter;
      waits.push(w);
      t += w;
      await b.execute(fail).catch(() => {});
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
    t += b.metrics().retryAfter;
    await b.execute(() => 1);
    await b.execute(fail).catch(() => {});
    expect(b.metrics().retryAfter).toBe(1000);
  });
  it('halfOpenProbes 2, successThreshold 2', async () => {
    let t = 0;
    const b = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 10,
      halfOpenProbes: 2,
      successThreshold: 2,
      clock: { now: () => t },
    });
    await b.execute(fail).catch(() => {});
    t += 10;
    const r: Array<() => void> = [];
    const p1 = b.execute(() => new Promise<void>((x) => r.push(x)));
    const p2 = b.execute(() => new Promise<void>((x) => r.push(x)));
    await expect(b.execute(() => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    r[0]?.();
    await p1;
    expect(b.state).toBe('half-open');
    r[1]?.();
    await p2;
    expect(b.state).toBe('closed');
  });
  it('neutral errors free the probe slot and neither close nor open', async () => {
    let t = 0;
    class N extends Error {}
    const b = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 10,
      isFailure: (e) => !(e instanceof N),
      clock: { now: () => t },
    });
    await b.execute(fail).catch(() => {});
    t += 10;
    await expect(b.execute(() => Promise.reject(new N()))).rejects.toBeInstanceOf(N);
    expect(b.state).toBe('half-open');
    expect(await b.execute(() => 2)).toBe(2);
    expect(b.state).toBe('closed');
  });
  it('README options: failureThreshold NaN / typo throw at construction; both modes TypeError', () => {
    expect(() => new CircuitBreaker({ failureThreshold: Number.NaN })).toThrow(/failureThreshold/);
    expect(() => new CircuitBreaker({ failureTreshold: 3 } as never)).toThrow(TypeError);
    expect(() => new CircuitBreaker({ failureThreshold: 3, failureRateThreshold: 0.5 })).toThrow(TypeError);
  });
  it('rate mode: count window and minimumCalls default 10; opens AT the threshold', async () => {
    const b = new CircuitBreaker({ failureRateThreshold: 0.5, window: countWindow(100), clock: { now: () => 0 } });
    for (let i = 0; i < 5; i++) await b.execute(() => 1);
    for (let i = 0; i < 4; i++) await b.execute(fail).catch(() => {});
    expect(b.state).toBe('closed'); // 9 calls < minimumCalls
    await b.execute(fail).catch(() => {});
    expect(b.state).toBe('open'); // 5/10 = 0.5
  });
});

describe('migrating.md blocks', () => {
  it('opossum → breakwater (migrating.md:63-76) runs as written', async () => {
    let t = 0;
    const guestUser = { id: 'guest' };
    let up = false;
    const getUser = async (id: string): Promise<{ id: string }> => (up ? { id } : Promise.reject(new Error('x')));
    const breaker = new CircuitBreaker({
      timeout: 3000,
      failureRateThreshold: 0.5,
      window: timeWindow({ duration: 10_000 }),
      minimumCalls: 10,
      recoveryTimeout: 30_000,
      clock: { now: () => t },
    });
    const fire = breaker.wrap(getUser, { fallback: () => guestUser });
    const id = '7';
    for (let i = 0; i < 10; i++) expect(await fire(id)).toBe(guestUser);
    expect(breaker.state).toBe('open');
    t += 30_000;
    up = true;
    expect(await fire(id)).toEqual({ id: '7' });
  });
  it('time window: failures before an idle gap are not counted', async () => {
    let t = 0;
    const b = new CircuitBreaker({
      failureRateThreshold: 0.5,
      window: timeWindow({ duration: 10_000 }),
      minimumCalls: 10,
      clock: { now: () => t },
    });
    for (let i = 0; i < 9; i++) await b.execute(fail).catch(() => {});
    t += 20_000;
    await b.execute(fail).catch(() => {});
    expect(b.state).toBe('closed');
    expect(b.metrics().window).toBeDefined();
  });
  it('circuitbreaker → @circuit (migrating.md:142-147) runs as written', async () => {
    class RequestError extends Error {}
    let n = 0;
    class Rates {
      @circuit({ failureThreshold: 3, recoveryTimeout: 10_000, isFailure: (e) => e instanceof RequestError })
      async get(): Promise<number> {
        n++;
        throw new RequestError('x');
      }
    }
    for (let i = 0; i < 4; i++) await new Rates().get().catch(() => {});
    expect(n).toBe(3);
    expect(circuitOf(Rates.prototype.get)?.name).toBe('get');
  });
});
