import { describe, expect, it } from 'vitest';
import { Emitter } from '../../src/events/emitter.js';

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
