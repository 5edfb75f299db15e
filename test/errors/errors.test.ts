import { describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, CircuitOpenError, ConcurrencyLimitError, TimeoutError } from '../../src/index.js';

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

describe('TimeoutError and ConcurrencyLimitError constructed directly', () => {
  it('TimeoutError names the breaker, when there is one, and the limit', () => {
    const named = new TimeoutError(250, 'api');
    expect(named.name).toBe('TimeoutError');
    expect(named.message).toBe('Call through "api" timed out after 250 ms');
    expect(named.timeout).toBe(250);
    expect(named.stack).toMatch(/^TimeoutError: Call through "api" timed out after 250 ms\n\s+at /);
    expect(new TimeoutError(40).message).toBe('Call timed out after 40 ms');
    expect(String(new TimeoutError(40))).toBe('TimeoutError: Call timed out after 40 ms');
  });

  it('ConcurrencyLimitError carries its message, limit and breaker', () => {
    const error = new ConcurrencyLimitError('full', 3, 'db');
    expect(error).toBeInstanceOf(ConcurrencyLimitError);
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.message, error.limit, error.breaker]).toEqual(['ConcurrencyLimitError', 'full', 3, 'db']);
    expect(error.stack).toMatch(/^ConcurrencyLimitError: full\n\s+at /);
    expect(new ConcurrencyLimitError('full', 1).breaker).toBeUndefined();
  });
});

describe('name and stack behave as on any error', () => {
  it('name lives on the prototype, writable and configurable as Error.prototype.name is', () => {
    for (const Class of [CircuitOpenError, ConcurrencyLimitError, TimeoutError]) {
      expect(Object.getOwnPropertyDescriptor(Class.prototype, 'name')).toEqual({
        value: Class.name,
        writable: true,
        enumerable: false,
        configurable: true,
      });
    }
  });

  it('code may rename an error', async () => {
    const error = await openRejection();
    (error as { name: string }).name = 'Refused';
    expect(String(error)).toBe('Refused: Circuit is open');
    expect(error.stack).toBe('Refused: Circuit is open');
    expect(new CircuitOpenError('x', 1).name).toBe('CircuitOpenError');
  });

  it('the shared stack accessor is configurable, as Error’s own properties are', () => {
    const base = Object.getPrototypeOf(CircuitOpenError.prototype) as object;
    expect(Object.getOwnPropertyDescriptor(base, 'stack')?.configurable).toBe(true);
  });

  it('a rewritten stack may be rewritten again, or deleted to read the name and message once more', async () => {
    const error = await openRejection();
    (error as { stack?: string }).stack = 'first';
    (error as { stack?: string }).stack = 'second';
    expect(error.stack).toBe('second');
    expect(Object.getOwnPropertyDescriptor(error, 'stack')).toEqual({
      value: 'second',
      writable: true,
      enumerable: false,
      configurable: true,
    });
    delete (error as { stack?: string }).stack;
    expect(error.stack).toBe('CircuitOpenError: Circuit is open');
  });
});
