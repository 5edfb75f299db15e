import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type BreakerMetrics,
  type CallContext,
  CircuitBreaker,
  type CircuitSnapshot,
  type CircuitState,
  type StateChangeEvent,
} from '../../src/index.js';

describe('types', () => {
  const breaker = new CircuitBreaker();

  it('execute returns the awaited result of fn', () => {
    expectTypeOf(breaker.execute(() => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(breaker.execute(async () => 'x')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(breaker.execute(() => Promise.resolve({ a: 1 }))).toEqualTypeOf<Promise<{ a: number }>>();
    expectTypeOf(breaker.execute((ctx) => ctx)).toEqualTypeOf<Promise<CallContext>>();
    expectTypeOf<CallContext['signal']>().toEqualTypeOf<AbortSignal | undefined>();
  });

  it('fallback must produce the same type', () => {
    expectTypeOf(breaker.execute(async () => 1, { fallback: () => 2 })).toEqualTypeOf<Promise<number>>();
    // @ts-expect-error a string fallback for a number call
    void breaker.execute(async () => 1, { fallback: () => 'no' });
  });

  it('wrap keeps parameters and result', () => {
    const wrapped = breaker.wrap(async (id: string, n: number) => ({ id, n }));
    expectTypeOf(wrapped).toEqualTypeOf<(id: string, n: number) => Promise<{ id: string; n: number }>>();
    // @ts-expect-error wrong argument type
    void wrapped(1, 2);
  });

  it('state is a union and events are typed', () => {
    expectTypeOf(breaker.state).toEqualTypeOf<CircuitState>();
    expectTypeOf<CircuitState>().toEqualTypeOf<'closed' | 'open' | 'half-open' | 'forced-open' | 'disabled'>();
    breaker.on('stateChange', (e) => expectTypeOf(e).toEqualTypeOf<StateChangeEvent>());
    breaker.on('failure', (e) => expectTypeOf(e.error).toBeUnknown());
    // @ts-expect-error unknown event: refused by the compiler, and at run time for untyped callers
    expect(() => breaker.on('opened', () => {})).toThrow(/unknown event "opened"/);
    expectTypeOf(breaker.toJSON()).toEqualTypeOf<CircuitSnapshot>();
    expectTypeOf(breaker.metrics()).toEqualTypeOf<BreakerMetrics>();
  });

  it('options are checked', () => {
    // @ts-expect-error unknown option
    expectTypeOf(() => new CircuitBreaker({ failureTreshold: 1 })).toBeFunction();
    // @ts-expect-error wrong type
    expectTypeOf(() => new CircuitBreaker({ timeout: '5s' })).toBeFunction();
  });
});
