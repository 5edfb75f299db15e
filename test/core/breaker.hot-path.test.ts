// The closed fast path (then-based, no async function) and the cheap open path must behave
// exactly like the general path: these tests pin what they promise.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, countWindow, timeWindow } from '../../src/index.js';

/** A manual clock that counts its reads. */
const countingClock = (start = 0) => {
  const clock = {
    t: start,
    reads: 0,
    now() {
      clock.reads++;
      return clock.t;
    },
  };
  return clock;
};

const fail = (message = 'down') => Promise.reject(new Error(message));

describe('closed path', () => {
  it('passes values through, from sync and async functions and foreign thenables', async () => {
    const breaker = new CircuitBreaker();
    await expect(breaker.execute(() => 42)).resolves.toBe(42);
    await expect(breaker.execute(() => undefined)).resolves.toBeUndefined();
    await expect(breaker.execute(async () => 'a')).resolves.toBe('a');
    // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is the case under test.
    const thenable: PromiseLike<string> = { then: (ok) => Promise.resolve(ok?.('t')) as never };
    await expect(breaker.execute(() => thenable)).resolves.toBe('t');
    expect(breaker.metrics().successes).toBe(4);
  });

  it('rethrows errors unchanged, sync throws and non-Error values included, and counts them', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 10 });
    const error = new Error('sync');
    await expect(
      breaker.execute(() => {
        throw error;
      }),
    ).rejects.toBe(error);
    await expect(
      breaker.execute(() => {
        throw 'a string';
      }),
    ).rejects.toBe('a string');
    await expect(breaker.execute(() => Promise.reject(undefined))).rejects.toBeUndefined();
    // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is the case under test.
    const foreign: PromiseLike<never> = { then: (_, no) => Promise.resolve(no?.('thenable')) as never };
    await expect(breaker.execute(() => foreign)).rejects.toBe('thenable');
    expect(breaker.metrics().failures).toBe(4);
  });

  it('has recorded the outcome when the caller resumes', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    await expect(breaker.execute(() => fail())).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
  });

  it('a success resets the consecutive count; neutral errors neither count nor reset', async () => {
    const neutral = new Error('neutral');
    const breaker = new CircuitBreaker({ failureThreshold: 2, isFailure: (e) => e !== neutral });
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    await breaker.execute(() => 1);
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    await expect(breaker.execute(() => Promise.reject(neutral))).rejects.toBe(neutral);
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    expect(breaker.state).toBe('open');
    expect(breaker.metrics().neutral).toBe(1);
  });

  it('ignores the outcome of a call admitted before the circuit changed generation', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    let failLate!: (e: Error) => void;
    const late = breaker.execute(
      () =>
        new Promise<never>((_, reject) => {
          failLate = reject;
        }),
    );
    breaker.forceOpen();
    breaker.close();
    failLate(new Error('late'));
    await expect(late).rejects.toThrow('late');
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    expect(breaker.state).toBe('open');
  });

  it('does not read the clock for untimed calls that do not open the circuit (consecutive, count window)', async () => {
    for (const options of [{ failureThreshold: 3 }, { failureRateThreshold: 0.9, window: countWindow(10) }]) {
      const clock = countingClock(100);
      const breaker = new CircuitBreaker({ ...options, clock });
      const before = clock.reads;
      for (let i = 0; i < 5; i++) await breaker.execute(async () => i);
      await expect(breaker.execute(() => fail())).rejects.toThrow();
      expect(clock.reads - before).toBe(0);
    }
  });

  it('opens at the time of the failure that trips it, read lazily', async () => {
    const clock = countingClock(1_000);
    const breaker = new CircuitBreaker({
      failureRateThreshold: 0.5,
      minimumCalls: 2,
      window: countWindow(4),
      recoveryTimeout: 500,
      clock,
    });
    await breaker.execute(() => 1);
    clock.t = 2_000;
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    expect(breaker.state).toBe('open');
    clock.t = 2_200;
    expect(breaker.metrics().retryAfter).toBe(300);
    clock.t = 2_500;
    expect(breaker.state).toBe('half-open');
  });

  it('reads the clock for a time window and counts by time', async () => {
    const clock = countingClock(0);
    const breaker = new CircuitBreaker({
      failureRateThreshold: 0.5,
      minimumCalls: 2,
      window: timeWindow({ duration: 1_000, buckets: 10 }),
      clock,
    });
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    clock.t = 5_000; // the first failure has left the window
    await breaker.execute(() => 1);
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    expect(breaker.state).toBe('open');
    expect(breaker.metrics().window).toEqual({ calls: 2, failures: 1, slowCalls: 0 });
  });
});

describe('open path', () => {
  it('rejects with CircuitOpenError without calling fn, counting each rejection', async () => {
    const clock = countingClock(0);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1_000, clock });
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    let called = 0;
    clock.t = 250;
    const rejection = await breaker.execute(() => ++called).catch((e: unknown) => e);
    expect(rejection).toBeInstanceOf(CircuitOpenError);
    expect((rejection as CircuitOpenError).retryAfter).toBe(750);
    expect(called).toBe(0);
    expect(breaker.metrics().rejected).toBe(1);
  });

  it('still hands the rejection to a fallback', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    await expect(breaker.execute(() => fail())).rejects.toThrow();
    await expect(breaker.execute(() => 1, { fallback: (e) => (e instanceof CircuitOpenError ? -1 : -2) })).resolves.toBe(-1);
  });
});
