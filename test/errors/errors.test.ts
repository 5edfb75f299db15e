import { describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, CircuitOpenError, TimeoutError } from '../../src/index.js';

const manualClock = (start = 0) => {
  const clock = { t: start, now: () => clock.t };
  return clock;
};

async function openRejection(name?: string): Promise<CircuitOpenError> {
  const clock = manualClock(1_000);
  const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 5_000, clock, ...(name ? { name } : {}) });
  await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
  clock.t += 1_500;
  return breaker
    .execute(() => 'not called')
    .then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: CircuitOpenError) => error,
    );
}

describe('CircuitOpenError from an open breaker', () => {
  it('is a CircuitOpenError and an Error with name, message, retryAfter and breaker', async () => {
    const error = await openRejection('api');
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('CircuitOpenError');
    expect(error.message).toBe('Circuit "api" is open');
    expect(error.retryAfter).toBe(3_500);
    expect(error.breaker).toBe('api');
    expect(String(error)).toBe('CircuitOpenError: Circuit "api" is open');
  });

  it('captures no stack: stack is the name and message', async () => {
    const error = await openRejection();
    expect(error.stack).toBe('CircuitOpenError: Circuit is open');
    expect(error.breaker).toBeUndefined();
  });

  it('lets code rewrite stack, as on any error', async () => {
    const error = await openRejection();
    (error as { stack?: string }).stack = 'rewritten';
    expect(error.stack).toBe('rewritten');
    // Another rejection is unaffected.
    expect((await openRejection()).stack).toBe('CircuitOpenError: Circuit is open');
  });

  it('serialises its fields to JSON', async () => {
    expect(JSON.parse(JSON.stringify(await openRejection('api')))).toEqual({
      message: 'Circuit "api" is open',
      retryAfter: 3_500,
      breaker: 'api',
    });
  });
});

describe('CircuitOpenError constructed directly', () => {
  it('is a regular error with a captured stack', () => {
    const error = new CircuitOpenError('refused', 10, 'db');
    expect(error.name).toBe('CircuitOpenError');
    expect(error.message).toBe('refused');
    expect(error.retryAfter).toBe(10);
    expect(error.breaker).toBe('db');
    expect(error.stack).toMatch(/^CircuitOpenError: refused\n\s+at /);
  });
});

describe('two copies of breakwater in one process (its ESM and CommonJS builds, say)', () => {
  async function secondCopy() {
    vi.resetModules();
    const copy = await import('../../src/index.js');
    vi.resetModules();
    return copy;
  }

  it('their rejections and timeouts are instances of either copy’s classes', async () => {
    const other = await secondCopy();
    expect(other.CircuitOpenError).not.toBe(CircuitOpenError);
    const breaker = new other.CircuitBreaker({ failureThreshold: 1, timeout: 1 });
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    const rejection = await breaker.execute(() => 1).catch((e: unknown) => e);
    expect(rejection).toBeInstanceOf(CircuitOpenError);
    expect(rejection).toBeInstanceOf(other.CircuitOpenError);
    expect(rejection).toBeInstanceOf(Error);
    expect(new other.TimeoutError(5)).toBeInstanceOf(TimeoutError);
    expect(new TimeoutError(5)).toBeInstanceOf(other.TimeoutError);
    expect(new CircuitOpenError('x', 1)).toBeInstanceOf(other.CircuitOpenError);
  });

  it('no other value passes, and the two classes do not pass for each other', () => {
    for (const value of [null, undefined, 'CircuitOpenError', {}, new Error('x'), { name: 'CircuitOpenError', retryAfter: 1 }]) {
      expect(value instanceof CircuitOpenError).toBe(false);
      expect(value instanceof TimeoutError).toBe(false);
    }
    expect(new TimeoutError(5) instanceof CircuitOpenError).toBe(false);
    expect(new CircuitOpenError('x', 1) instanceof TimeoutError).toBe(false);
  });

  it('a subclass of either keeps plain instanceof', () => {
    class QuotaError extends CircuitOpenError {}
    expect(new QuotaError('x', 1)).toBeInstanceOf(CircuitOpenError);
    expect(new QuotaError('x', 1)).toBeInstanceOf(QuotaError);
    expect(new CircuitOpenError('x', 1) instanceof QuotaError).toBe(false);
    class SlowError extends TimeoutError {}
    expect(new SlowError(5) instanceof SlowError).toBe(true);
    expect(new TimeoutError(5) instanceof SlowError).toBe(false);
  });
});
