import { describe, expect, it } from 'vitest';
import * as T from '../../src/core/rules.js';
import { exponentialBackoff } from '../../src/index.js';
import { ConsecutiveTracker } from '../../src/trackers/consecutive.js';

const rules: T.Rules = {
  recoveryTimeout: 100,
  backoff: undefined,
  halfOpenProbes: 1,
  successThreshold: 1,
  maxProbeWait: 50,
};

describe('pure transitions', () => {
  it('return the same object when nothing changes', () => {
    const c = T.initialCircuit(0);
    const tracker = new ConsecutiveTracker(2);
    expect(T.advance(c, 1e9, rules)).toBe(c);
    expect(T.settle(c, tracker, T.SUCCESS, false, false, 0, 0, rules)).toBe(c);
    expect(T.settle(c, tracker, T.NEUTRAL, false, false, 0, 0, rules)).toBe(c);
    expect(T.settle(c, tracker, T.FAILURE, false, true, 0, 0, rules)).toBe(c);
    expect(T.settle(c, tracker, T.FAILURE, false, false, 99, 0, rules)).toBe(c);
  });

  it('retryAfter per state', () => {
    const tracker = new ConsecutiveTracker(1);
    const c0 = T.initialCircuit(0);
    expect(T.retryAfter(c0, 0, rules)).toBe(0);
    const open = T.settle(c0, tracker, T.FAILURE, false, false, 0, 10, rules);
    expect(T.retryAfter(open, 30, rules)).toBe(80);
    expect(T.retryAfter(open, 300, rules)).toBe(0);
    const half = T.advance(open, 110, rules);
    expect(half).toMatchObject({ state: 'half-open', since: 110 });
    expect(T.retryAfter(half, 110, rules)).toBe(0);
    const probing = T.admitProbe(half, 120, rules);
    expect(T.admission(probing, rules)).toBe('reject');
    expect(T.retryAfter(probing, 130, rules)).toBe(40);
    // A free slot lets the next call through at once, whatever the deadline of the probes in flight.
    expect(T.retryAfter(probing, 130, { ...rules, halfOpenProbes: 2 })).toBe(0);
    expect(T.retryAfter(T.forceOpen(c0, 0), 0, rules)).toBe(Number.POSITIVE_INFINITY);
    expect(T.admission(T.disable(c0, 0), rules)).toBe('pass');
    expect(T.admission(T.forceOpen(c0, 0), rules)).toBe('reject');
  });

  it('exponential backoff defaults: ×2 up to 10 × recoveryTimeout', () => {
    const r: T.Rules = { ...rules, backoff: exponentialBackoff() };
    expect([1, 2, 3, 4, 5, 6].map((n) => T.recoveryDelay(r, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('a neutral probe frees its slot and clears the deadline', () => {
    const tracker = new ConsecutiveTracker(1);
    const open = T.settle(T.initialCircuit(0), tracker, T.FAILURE, false, false, 0, 0, rules);
    const half = T.admitProbe(T.advance(open, 100, rules), 100, rules);
    expect(half.probeDeadline).toBe(150);
    const freed = T.settle(half, tracker, T.NEUTRAL, false, true, half.generation, 110, rules);
    expect(freed).toMatchObject({ state: 'half-open', probes: 0, probeDeadline: 0 });
    expect(T.settle(freed, tracker, T.SUCCESS, false, true, half.generation - 1, 110, rules)).toBe(freed);
  });

  it('exponential backoff over a zero recovery timeout stays zero for any attempt', () => {
    const zero: T.Rules = { ...rules, recoveryTimeout: 0, backoff: exponentialBackoff() };
    expect([1, 2, 1024, 1025, 5000].map((n) => T.recoveryDelay(zero, n))).toEqual([0, 0, 0, 0, 0]);
  });
});
