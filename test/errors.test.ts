import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError } from '../src/index.js';

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
