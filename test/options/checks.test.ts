import { expect, describe as group, it } from 'vitest';
import { callback, checkOptionObject, describe, methods } from '../../src/options/checks.js';

group('describe: a value as an error message shows it', () => {
  it('quotes strings and writes objects as JSON', () => {
    expect(describe('abc')).toBe('"abc"');
    expect(describe({ a: 1, b: 'x' })).toBe('{"a":1,"b":"x"}');
    expect(describe(null)).toBe('null');
  });

  it('writes numbers, undefined and symbols as themselves', () => {
    expect(describe(Number.NaN)).toBe('NaN');
    expect(describe(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    expect(describe(undefined)).toBe('undefined');
    expect(describe(Symbol('s'))).toBe('Symbol(s)');
    expect(describe(() => 1)).toBe('a function');
  });

  it('writes arrays item by item, so that NaN and Infinity show as themselves', () => {
    expect(describe([Number.NaN, Number.POSITIVE_INFINITY, 'x', { a: 1 }])).toBe('[NaN, Infinity, "x", {"a":1}]');
    expect(describe([])).toBe('[]');
  });

  it('cuts long values at 80 characters', () => {
    expect(describe('x'.repeat(200))).toBe(`"${'x'.repeat(79)}`);
    expect(describe({ k: 'y'.repeat(200) })).toHaveLength(80);
    expect(describe(Array.from({ length: 100 }, () => 1))).toBe(`[${'1, '.repeat(26)}1`);
  });

  it('falls back to the plain form for what JSON cannot write', () => {
    const circular: { self?: unknown } = {};
    circular.self = circular;
    expect(describe(circular)).toBe('[object Object]');
    expect(describe(10n)).toBe('10');
  });
});

group('the checks leave an option not given alone', () => {
  it('methods() and callback() return undefined for undefined', () => {
    expect(methods(undefined, 'clock', 'now', 'an object with a now() method')).toBeUndefined();
    expect(callback(undefined, 'isFailure')).toBeUndefined();
    expect(checkOptionObject(undefined, 'backoff', ['jitter'])).toEqual({});
  });
});
