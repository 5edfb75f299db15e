/** `maxConcurrent`: calls beyond the cap are refused at once, neither failure nor success, and every way a call ends frees its slot. */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, CircuitOpenError, ConcurrencyLimitError, type LimitedEvent } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.js';

/** A call the test ends by hand. */
function held<T = string>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('maxConcurrent', () => {
  it('refuses the call beyond the cap at once with ConcurrencyLimitError, without calling fn, and counts it apart', async () => {
    const breaker = new CircuitBreaker({ name: 'capped', maxConcurrent: 2, failureThreshold: 1 });
    const limited: LimitedEvent[] = [];
    breaker.on('limited', (e) => limited.push(e));
    const a = held();
    const b = held();
    const first = breaker.execute(() => a.promise);
    const second = breaker.execute(() => b.promise);
    let called = false;
    const third = breaker.execute(() => {
      called = true;
      return 'x';
    });
    const error = await third.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyLimitError);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({ name: 'ConcurrencyLimitError', limit: 2, breaker: 'capped' });
    expect((error as Error).message).toMatch(/"capped".*2 calls in flight/);
    expect(called).toBe(false);
    expect(limited).toEqual([{ name: 'capped', error }]);
    // Neither a failure nor a success: a threshold of one failure did not open the circuit.
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics()).toMatchObject({ limited: 1, failures: 0, successes: 0, inFlight: 2, rejected: 0 });
    a.resolve('a');
    b.resolve('b');
    expect(await Promise.all([first, second])).toEqual(['a', 'b']);
    expect(breaker.metrics()).toMatchObject({ inFlight: 0, successes: 2 });
    expect(await breaker.execute(() => 'free again')).toBe('free again');
  });

  it('frees the slot however the call ends: value, error, sync throw, timeout, caller abort, fallback', async () => {
    vi.useFakeTimers();
    const breaker = new CircuitBreaker({ maxConcurrent: 1, failureThreshold: 100, timeout: 1000 });
    const slotFree = async () => {
      expect(breaker.metrics().inFlight).toBe(0);
      expect(await breaker.execute(() => 'ok')).toBe('ok');
    };
    await breaker.execute(() => 'value');
    await slotFree();
    await expect(breaker.execute(() => Promise.reject(new Error('async')))).rejects.toThrow('async');
    await slotFree();
    await expect(
      breaker.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await slotFree();
    const hanging = breaker.execute(() => new Promise(() => {}));
    expect(breaker.metrics().inFlight).toBe(1);
    await expect(breaker.execute(() => 'refused')).rejects.toBeInstanceOf(ConcurrencyLimitError);
    vi.advanceTimersByTime(1000);
    await expect(hanging).rejects.toThrow(/timed out/);
    await slotFree();
    const controller = new AbortController();
    const aborted = breaker.execute(() => new Promise(() => {}), { signal: controller.signal });
    controller.abort(new Error('gone'));
    await expect(aborted).rejects.toThrow('gone');
    await slotFree();
    expect(await breaker.execute(() => Promise.reject(new Error('x')), { fallback: () => 'fallback' })).toBe('fallback');
    await slotFree();
  });

  it('a fallback answers a refused call, and is counted as one', async () => {
    const breaker = new CircuitBreaker({ maxConcurrent: 1 });
    const a = held();
    const first = breaker.execute(() => a.promise);
    const seen: unknown[] = [];
    breaker.on('fallback', ({ error }) => seen.push(error));
    expect(await breaker.execute(() => 'x', { fallback: (e) => (e instanceof ConcurrencyLimitError ? 'busy' : 'other') })).toBe('busy');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(ConcurrencyLimitError);
    expect(breaker.metrics()).toMatchObject({ limited: 1, fallbacks: 1 });
    a.resolve('a');
    await first;
  });

  it('an open circuit refuses with CircuitOpenError before the cap is looked at; a caller who gave up gets their own reason', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ maxConcurrent: 1, failureThreshold: 1, recoveryTimeout: 100, clock });
    const a = held();
    const first = breaker.execute(() => a.promise);
    const given = new AbortController();
    given.abort(new Error('caller left'));
    await expect(breaker.execute(() => 'x', { signal: given.signal })).rejects.toThrow('caller left');
    a.reject(new Error('down'));
    await expect(first).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(() => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(breaker.metrics()).toMatchObject({ limited: 0, rejected: 1 });
  });

  it('a half-open probe beyond the cap is refused without taking the probe slot', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ maxConcurrent: 1, failureThreshold: 1, recoveryTimeout: 100, clock });
    await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow();
    // The probe holds the one slot of the trial and the one slot of the cap: the next call is refused by the circuit.
    clock.advance(100);
    expect(breaker.state).toBe('half-open');
    const probe = held();
    const first = breaker.execute(() => probe.promise);
    await expect(breaker.execute(() => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    probe.resolve('ok');
    expect(await first).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('never has more calls in flight than the cap, under any interleaving of how calls end', async () => {
    type Ending = 'resolve' | 'reject' | 'throw' | 'timeout' | 'abort' | 'fallback';
    const ending = fc.constantFrom<Ending>('resolve', 'reject', 'throw', 'timeout', 'abort', 'fallback');
    const step = fc.oneof(
      fc.record({ k: fc.constant('start' as const), how: ending }),
      fc.record({ k: fc.constant('end' as const), pick: fc.nat() }),
      fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 600 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(step, { maxLength: 60 }), async (cap, steps) => {
        vi.useFakeTimers();
        try {
          const breaker = new CircuitBreaker({ maxConcurrent: cap, failureThreshold: 1_000, timeout: 500 });
          let running = 0;
          let most = 0;
          const open: { end: () => void; how: Ending }[] = [];
          const settled: Promise<unknown>[] = [];
          for (const s of steps) {
            if (s.k === 'start') {
              const controller = new AbortController();
              const call = breaker.execute(
                ({ signal }) => {
                  if (s.how === 'throw') throw new Error('sync');
                  running++;
                  most = Math.max(most, breaker.metrics().inFlight);
                  return new Promise<string>((resolve, reject) => {
                    const done = () => {
                      running--;
                      if (s.how === 'resolve') resolve('v');
                      else reject(new Error('e'));
                    };
                    signal?.addEventListener('abort', () => {
                      running--;
                      reject(signal.reason);
                    });
                    open.push({ end: done, how: s.how });
                    if (s.how === 'abort') queueMicrotask(() => controller.abort(new Error('caller')));
                  });
                },
                { signal: controller.signal, ...(s.how === 'fallback' ? { fallback: () => 'fb' } : {}) },
              );
              settled.push(call.catch((e: unknown) => e));
            } else if (s.k === 'end' && open.length > 0) {
              const [call] = open.splice(s.pick % open.length, 1);
              call?.end();
            } else if (s.k === 'tick') {
              await vi.advanceTimersByTimeAsync(s.ms);
            }
            await Promise.resolve();
            const m = breaker.metrics();
            expect(m.inFlight).toBeLessThanOrEqual(cap);
            expect(m.inFlight).toBeGreaterThanOrEqual(0);
          }
          for (const call of open) call.end();
          await vi.advanceTimersByTimeAsync(1_000);
          await Promise.all(settled);
          expect(most).toBeLessThanOrEqual(cap);
          expect(breaker.metrics().inFlight).toBe(0);
          expect(running).toBeLessThanOrEqual(0);
          expect(breaker.state).toBe('closed');
        } finally {
          vi.useRealTimers();
        }
      }),
      { numRuns: 150 },
    );
  });
});
