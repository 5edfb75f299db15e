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

/** A circuit opened by one failure at `at`, made half-open at its recovery time. */
function halfOpen(r: T.Rules, at = 0): T.Circuit {
  const open = T.settle(T.initialCircuit(at), new ConsecutiveTracker(1), T.FAILURE, false, false, 0, at, r);
  return T.advance(open, open.openUntil, r);
}

describe('the edges of each rule', () => {
  const two: T.Rules = { ...rules, halfOpenProbes: 2, successThreshold: 2 };

  it('open becomes half-open at the very ms its recovery delay ends, not one before', () => {
    const open = T.settle(T.initialCircuit(0), new ConsecutiveTracker(1), T.FAILURE, false, false, 0, 10, rules);
    expect(open).toMatchObject({ state: 'open', openUntil: 110, opens: 1, reason: 'failure-threshold' });
    expect(T.advance(open, 109, rules)).toBe(open);
    expect(T.advance(open, 110, rules)).toMatchObject({ state: 'half-open', since: 110, reason: 'recovery-timeout' });
  });

  it('a trial expires at the very ms of its deadline, and reopens from the deadline, not from the late reading', () => {
    const probing = T.admitProbe(halfOpen(rules), 100, rules);
    expect(probing.probeDeadline).toBe(150);
    expect(T.advance(probing, 149, rules)).toBe(probing);
    const expired = T.advance(probing, 1_000, rules);
    expect(expired).toMatchObject({ state: 'open', since: 150, openUntil: 250, reason: 'probe-expired', opens: 2 });
  });

  it('a second probe keeps the deadline the first one started', () => {
    const first = T.admitProbe(halfOpen(two), 100, two);
    const second = T.admitProbe(first, 130, two);
    expect(second).toMatchObject({ probes: 2, probeDeadline: 150 });
    expect(T.advance(second, 150, two)).toMatchObject({ state: 'open', reason: 'probe-expired' });
  });

  it('a probe that settles while another is in flight leaves the deadline running', () => {
    const both = T.admitProbe(T.admitProbe(halfOpen(two), 100, two), 120, two);
    const tracker = new ConsecutiveTracker(1);
    const neutral = T.settle(both, tracker, T.NEUTRAL, false, true, both.generation, 125, two);
    expect(neutral).toMatchObject({ state: 'half-open', probes: 1, probeSuccesses: 0, probeDeadline: 150 });
    const success = T.settle(both, tracker, T.SUCCESS, false, true, both.generation, 125, two);
    expect(success).toMatchObject({ state: 'half-open', probes: 1, probeSuccesses: 1, probeDeadline: 150 });
  });

  it('neutral probes never count toward successThreshold', () => {
    const tracker = new ConsecutiveTracker(1);
    let c = T.admitProbe(T.admitProbe(halfOpen(two), 100, two), 100, two);
    c = T.settle(c, tracker, T.NEUTRAL, false, true, c.generation, 101, two);
    c = T.settle(c, tracker, T.SUCCESS, false, true, c.generation, 102, two);
    expect(c).toMatchObject({ state: 'half-open', probes: 0, probeSuccesses: 1 });
    c = T.admitProbe(c, 103, two);
    expect(T.settle(c, tracker, T.SUCCESS, false, true, c.generation, 104, two)).toMatchObject({
      state: 'closed',
      reason: 'probe-succeeded',
      since: 104,
      opens: 0,
    });
  });

  it('one success closes at successThreshold 1; a neutral one does not', () => {
    const c = T.admitProbe(halfOpen(rules), 100, rules);
    const tracker = new ConsecutiveTracker(1);
    expect(T.settle(c, tracker, T.SUCCESS, false, true, c.generation, 120, rules)).toMatchObject({ state: 'closed' });
    expect(T.settle(c, tracker, T.NEUTRAL, false, true, c.generation, 120, rules)).toMatchObject({ state: 'half-open' });
  });

  it('a probe outcome with no slot held changes nothing, even a failure', () => {
    const tracker = new ConsecutiveTracker(1);
    const idle = halfOpen(rules);
    expect(idle.probes).toBe(0);
    expect(T.settle(idle, tracker, T.FAILURE, false, true, idle.generation, 120, rules)).toBe(idle);
    const closed = T.initialCircuit(0);
    expect(T.settle(closed, tracker, T.FAILURE, false, true, closed.generation, 120, rules)).toBe(closed);
  });

  it('a failed probe reopens with the next attempt and the failure’s own hint when it has one', () => {
    const tracker = new ConsecutiveTracker(1);
    const backoff: T.Rules = { ...rules, backoff: exponentialBackoff() };
    const c = T.admitProbe(halfOpen(backoff), 100, backoff);
    expect(T.settle(c, tracker, T.FAILURE, false, true, c.generation, 120, backoff)).toMatchObject({
      state: 'open',
      reason: 'probe-failed',
      opens: 2,
      since: 120,
      openUntil: 320,
    });
    expect(T.settle(c, tracker, T.FAILURE, false, true, c.generation, 120, backoff, 5)).toMatchObject({ openUntil: 125 });
  });

  it('every transition bumps the generation by exactly one', () => {
    const tracker = new ConsecutiveTracker(1);
    const c0 = T.initialCircuit(0);
    const open = T.settle(c0, tracker, T.FAILURE, false, false, 0, 0, rules);
    const half = T.advance(open, 100, rules);
    const forced = T.forceOpen(half, 100);
    const disabled = T.disable(forced, 100);
    const closed = T.close(disabled, tracker, 100, 'reset');
    expect([c0, open, half, forced, disabled, closed].map((c) => c.generation)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('closed-state calls count only in the closed state, and neutral ones not at all', () => {
    const tracker = new ConsecutiveTracker(1);
    const disabled = T.disable(T.initialCircuit(0), 0);
    expect(T.settle(disabled, tracker, T.FAILURE, false, false, disabled.generation, 1, rules)).toBe(disabled);
    expect(tracker.stats().failures).toBe(0);
    const closed = T.initialCircuit(0);
    expect(T.settle(closed, tracker, T.NEUTRAL, false, false, 0, 1, rules)).toBe(closed);
    expect(tracker.stats().failures).toBe(0);
  });

  it('the manual controls: names, reasons, and what they keep', () => {
    const tracker = new ConsecutiveTracker(3);
    tracker.record(true);
    const c0 = T.initialCircuit(0);
    expect(T.manual(c0, 'forceOpen', tracker, 5)).toMatchObject({ state: 'forced-open', reason: 'forced-open', since: 5 });
    expect(T.manual(c0, 'disable', tracker, 5)).toMatchObject({ state: 'disabled', reason: 'disabled', since: 5 });
    const forced = T.forceOpen(c0, 1);
    expect(T.manual(forced, 'forceOpen', tracker, 5)).toBe(forced);
    expect(T.manual(forced, 'close', tracker, 5)).toMatchObject({ state: 'closed', reason: 'closed-manually' });
    expect(T.manual(forced, 'reset', tracker, 5)).toMatchObject({ state: 'closed', reason: 'reset' });
    // A close of a closed circuit changes no state, but forgets the failures counted so far.
    tracker.record(true);
    expect(T.manual(c0, 'close', tracker, 5)).toBe(c0);
    expect(tracker.stats().failures).toBe(0);
    // Holding states keep the backoff attempt; closing forgets it.
    const half = halfOpen(rules);
    const reopened = T.settle(T.admitProbe(half, 100, rules), tracker, T.FAILURE, false, true, half.generation, 100, rules);
    expect(T.forceOpen(reopened, 101).opens).toBe(2);
    expect(T.close(reopened, tracker, 101, 'reset').opens).toBe(0);
  });

  it('a delay is any finite number of ms from 0 up; anything else falls back to the recovery delay', () => {
    expect(T.openDelay(rules, 1, 0)).toBe(0);
    expect(T.openDelay(rules, 1, 7.5)).toBe(7.5);
    for (const hint of [-1, Number.NaN, Number.POSITIVE_INFINITY, undefined]) expect(T.openDelay(rules, 1, hint)).toBe(100);
    const odd = (value: unknown): T.Rules => ({ ...rules, backoff: () => value as number });
    expect(T.recoveryDelay(odd(0), 1)).toBe(0);
    for (const value of [-5, Number.NaN, Number.POSITIVE_INFINITY, '50']) expect(T.recoveryDelay(odd(value), 1)).toBe(100);
    expect(T.recoveryDelay({ ...rules, backoff: (attempt, base) => attempt * base }, 3)).toBe(300);
  });

  it('retryAfter while every slot is taken but no deadline runs, and once the deadline has passed', () => {
    const half = halfOpen(rules);
    const noDeadline: T.Circuit = { ...half, probes: 1, probeDeadline: 0 };
    expect(T.retryAfter(noDeadline, 120, rules)).toBe(0);
    const probing = T.admitProbe(half, 100, rules);
    expect(T.retryAfter(probing, 150, rules)).toBe(0);
    expect(T.retryAfter(probing, 400, rules)).toBe(0);
    const open = T.settle(T.initialCircuit(0), new ConsecutiveTracker(1), T.FAILURE, false, false, 0, 0, rules);
    expect(T.retryAfter(open, 100, rules)).toBe(0);
    expect(T.retryAfter(open, 99, rules)).toBe(1);
  });

  it('advanceAll takes every step that is due at once', () => {
    const tracker = new ConsecutiveTracker(1);
    const probing = T.admitProbe(halfOpen(rules), 100, rules);
    // Deadline 150 reopens until 250, which is half-open again by 300.
    expect(T.advanceAll(probing, 300, rules)).toMatchObject({ state: 'half-open', since: 250, probes: 0 });
    const c0 = T.initialCircuit(0);
    expect(T.advanceAll(c0, 300, rules)).toBe(c0);
    expect(tracker.stats().calls).toBe(0);
  });
});
