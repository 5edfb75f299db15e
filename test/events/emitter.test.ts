import { describe, expect, it } from 'vitest';
import { Emitter } from '../../src/events/emitter.js';
import { BREAKER_EVENTS, CircuitBreaker } from '../../src/index.js';

describe('Emitter', () => {
  it('keeps delivering to the listeners an emit started with, even when one unsubscribes another', () => {
    const reported: unknown[] = [];
    const e = new Emitter<{ x: number }>((error) => reported.push(error));
    const seen: string[] = [];
    let offB = () => {};
    e.on('x', () => {
      seen.push('a');
      offB();
    });
    offB = e.on('x', () => seen.push('b'));
    e.emit('x', 1);
    e.emit('x', 2);
    expect(seen).toEqual(['a', 'b', 'a']);
    expect(reported).toEqual([]);
  });

  it('an unsubscribe after all listeners left is harmless', () => {
    const e = new Emitter<{ x: number }>(() => {});
    const off = e.on('x', () => {});
    const off2 = e.on('x', () => {});
    off();
    off2();
    expect(e.has('x')).toBe(false);
    e.emit('x', 1);
  });
});

describe('breaker events by name', () => {
  it('refuses an event the breaker never emits, suggesting the closest name', () => {
    const breaker = new CircuitBreaker();
    expect(() => breaker.on('fallbak' as never, () => {})).toThrow(
      new TypeError('breakwater: unknown event "fallbak" (did you mean "fallback"?)'),
    );
    expect(() => breaker.on('statechange' as never, () => {})).toThrow(/did you mean "stateChange"/);
    expect(() => breaker.on('zzzzzzzz' as never, () => {})).toThrow(new TypeError('breakwater: unknown event "zzzzzzzz"'));
    for (const event of BREAKER_EVENTS) expect(typeof breaker.on(event, () => {})).toBe('function');
  });
});
