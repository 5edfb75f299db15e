import { describe, expect, it, vi } from 'vitest';
import { openDelay } from '../../src/core/rules.js';
import { CircuitBreaker, CircuitOpenError } from '../../src/index.js';

const rules = {
  recoveryTimeout: 1000,
  backoff: undefined,
  halfOpenProbes: 1,
  successThreshold: 1,
  maxProbeWait: 60_000,
};

class Throttled extends Error {
  constructor(readonly waitMs: number) {
    super('throttled');
  }
}

const hint = (failure: unknown) => (failure instanceof Throttled ? failure.waitMs : undefined);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('openDelay', () => {
  it('uses a finite hint ≥ 0 and otherwise the recovery delay', () => {
    expect(openDelay(rules, 1, 5000)).toBe(5000);
    expect(openDelay(rules, 1, 0)).toBe(0);
    expect(openDelay(rules, 1, undefined)).toBe(1000);
    expect(openDelay(rules, 1, -1)).toBe(1000);
    expect(openDelay(rules, 1, Number.NaN)).toBe(1000);
    expect(openDelay(rules, 1, Number.POSITIVE_INFINITY)).toBe(1000);
  });
});

describe('retryAfterHint option', () => {
  it('keeps the circuit open as long as the failure that opened it asked', async () => {
    const clock = { t: 0, now: () => clock.t };
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock, retryAfterHint: hint });
    await expect(breaker.execute(() => Promise.reject(new Throttled(30_000)))).rejects.toThrow('throttled');
    const open = await rejection(breaker.execute(() => 1));
    expect(open).toBeInstanceOf(CircuitOpenError);
    expect((open as CircuitOpenError).retryAfter).toBe(30_000);
    clock.t = 29_999;
    expect(breaker.state).toBe('open');
    clock.t = 30_000;
    expect(breaker.state).toBe('half-open');
    // A probe failing with a hint reopens for the hinted time too.
    await expect(breaker.execute(() => Promise.reject(new Throttled(5000)))).rejects.toThrow('throttled');
    expect(breaker.metrics().retryAfter).toBe(5000);
  });

  it('reads hints from result failures and falls back to the recovery delay without one', async () => {
    const clock = { t: 0, now: () => clock.t };
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 1000,
      clock,
      isResultFailure: (r) => (r as { status: number }).status >= 500,
      retryAfterHint: (r) => (r as { wait?: number }).wait,
    });
    await expect(breaker.execute(() => ({ status: 503, wait: 7000 }))).resolves.toEqual({ status: 503, wait: 7000 });
    expect(breaker.metrics().retryAfter).toBe(7000);
    breaker.close();
    await breaker.execute(() => ({ status: 500 }));
    expect(breaker.metrics().retryAfter).toBe(1000);
  });

  it('reports a hint reader that throws or answers a non-number, and uses the recovery delay', async () => {
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 1000,
      clock: { now: () => 0 },
      logger,
      retryAfterHint: () => {
        throw new Error('bad reader');
      },
    });
    await expect(breaker.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(breaker.metrics().retryAfter).toBe(1000);
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ option: 'retryAfterHint' }),
      expect.stringContaining('retryAfterHint threw'),
    );
    const odd = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeout: 1000,
      clock: { now: () => 0 },
      retryAfterHint: () => '9' as never,
    });
    await expect(odd.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(odd.metrics().retryAfter).toBe(1000);
  });

  it('must be a function', () => {
    expect(() => new CircuitBreaker({ retryAfterHint: 5 as never })).toThrow(/"retryAfterHint" must be a function; got 5/);
  });
});
