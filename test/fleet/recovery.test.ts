// The recovery pieces on their own: the probe slots an instance holds or may hold after a fault, and when it tries
// the store again. The engine tests drive them through faults; these pin each rule at its edges.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FAILURE, NEUTRAL, type Outcome, SUCCESS } from '../../src/core/rules.js';
import type { Settled } from '../../src/fleet/batch.js';
import type { Attempt } from '../../src/fleet/compare-and-set.js';
import type { SharedRecord } from '../../src/fleet/contract.js';
import { ProbeSlots, Retry, unknownProbe } from '../../src/fleet/recovery.js';

const probe = (generation: number, outcome: Outcome = SUCCESS): Settled => ({
  outcome,
  slow: false,
  probe: true,
  generation,
  hint: undefined,
});
const attempt: Attempt = { expected: { version: '7', writer: 'a:6' }, writer: 'a:7' };
const record = (version: string, writer: string): SharedRecord => ({
  version,
  writer,
  now: 0,
  circuit: '',
  tracker: '',
  settings: '',
  at: 0,
});
/** The record the attempt expected (the write did not land), the one it wrote (it did), and one made by another writer. */
const notLanded = record('7', 'a:6');
const landed = record('8', 'a:7');
const other = record('8', 'b:1');

describe('ProbeSlots: slots the store granted', () => {
  it('takes a granted slot once, and none that was not granted', () => {
    const slots = new ProbeSlots();
    expect(slots.take(1)).toBe(false);
    slots.grant(1);
    expect(slots.take(1)).toBe(true);
    expect(slots.take(1)).toBe(false);
  });

  it('counts every slot granted for one trial', () => {
    const slots = new ProbeSlots();
    slots.grant(3);
    slots.grant(3);
    expect([slots.take(3), slots.take(3), slots.take(3)]).toEqual([true, true, false]);
  });

  it('holds slots of the latest trial only: a grant for another generation drops the earlier ones', () => {
    const slots = new ProbeSlots();
    slots.grant(1);
    slots.grant(1);
    slots.grant(2);
    expect(slots.take(1)).toBe(false);
    expect([slots.take(2), slots.take(2)]).toEqual([true, false]);
  });
});

describe('ProbeSlots: slots orphaned by a fault', () => {
  it('writes an `always` slot whatever the record', () => {
    for (const rec of [notLanded, landed, other]) {
      const slots = new ProbeSlots();
      slots.orphan('always', undefined, probe(4), 1_000);
      expect(slots.release(rec, 0)).toEqual([probe(4)]);
    }
  });

  it('writes an `if-landed` slot only when the record was written by its request', () => {
    const outcomes = [notLanded, landed, other].map((rec) => {
      const slots = new ProbeSlots();
      slots.orphan('if-landed', attempt, probe(4), 1_000);
      return slots.release(rec, 0);
    });
    expect(outcomes).toEqual([[], [probe(4)], []]);
  });

  it('writes an `unless-landed` slot only when the record is still the one its write expected', () => {
    const outcomes = [notLanded, landed, other, record('7', 'b:1'), record('6', 'a:6')].map((rec) => {
      const slots = new ProbeSlots();
      slots.orphan('unless-landed', attempt, probe(4), 1_000);
      return slots.release(rec, 0);
    });
    expect(outcomes).toEqual([[probe(4)], [], [], [], []]);
  });

  it('without an attempt, knows of no landing either way', () => {
    const slots = new ProbeSlots();
    slots.orphan('if-landed', undefined, probe(4), 1_000);
    slots.orphan('unless-landed', undefined, probe(5), 1_000);
    expect(slots.release(record('', ''), 0)).toEqual([]);
  });

  it('releases each slot once, and only those whose trial has not ended', () => {
    const slots = new ProbeSlots();
    slots.orphan('always', undefined, probe(1), 100);
    slots.orphan('always', undefined, probe(2), 101);
    expect(slots.release(other, 100)).toEqual([probe(2)]);
    expect(slots.release(other, 0)).toEqual([]);
  });

  it('prunes the slots whose trial has ended, and tells whether any is left', () => {
    const slots = new ProbeSlots();
    expect(slots.prune(0)).toBe(false);
    slots.orphan('always', undefined, probe(1), 100);
    slots.orphan('always', undefined, probe(2), 200);
    expect(slots.prune(99)).toBe(true);
    expect(slots.prune(100)).toBe(true);
    expect(slots.release(other, 0)).toEqual([probe(2)]);
    slots.orphan('always', undefined, probe(3), 100);
    expect(slots.prune(100)).toBe(false);
    expect(slots.release(other, 0)).toEqual([]);
  });

  it('a local probe settles the unanswered slot request of its trial, one request per probe', () => {
    const slots = new ProbeSlots();
    slots.orphan('if-landed', attempt, unknownProbe(4), 1_000);
    slots.orphan('if-landed', attempt, unknownProbe(4), 1_000);
    slots.claim(probe(4, FAILURE));
    slots.claim(probe(4, SUCCESS));
    expect(slots.release(landed, 0)).toEqual([probe(4, FAILURE), probe(4, SUCCESS)]);
  });

  it('a local probe settles no slot of another trial, no slot of another rule, and no slot already settled', () => {
    const slots = new ProbeSlots();
    slots.orphan('if-landed', attempt, unknownProbe(3), 1_000);
    slots.orphan('always', undefined, unknownProbe(4), 1_000);
    slots.orphan('unless-landed', attempt, unknownProbe(4), 1_000);
    slots.orphan('if-landed', attempt, probe(4, FAILURE), 1_000);
    slots.claim(probe(4, SUCCESS));
    expect(slots.release(landed, 0)).toEqual([unknownProbe(3), unknownProbe(4), probe(4, FAILURE)]);
  });
});

describe('unknownProbe', () => {
  it('is a neutral probe outcome of its generation: it frees the slot and decides nothing', () => {
    expect(unknownProbe(9)).toStrictEqual({ outcome: NEUTRAL, slow: false, probe: true, generation: 9, hint: undefined });
  });
});

describe('Retry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('allows one try per delay, unless even an early one is asked for', () => {
    const retry = new Retry(100);
    expect(retry.allow(0, false)).toBe(true);
    expect(retry.at).toBe(100);
    expect(retry.allow(99, false)).toBe(false);
    expect(retry.at).toBe(100);
    expect(retry.allow(100, false)).toBe(true);
    expect(retry.at).toBe(200);
    expect(retry.allow(150, true)).toBe(true);
    expect(retry.at).toBe(250);
  });

  it('fires once when the next try is allowed, or a delay from now with `later`', () => {
    const retry = new Retry(100);
    retry.allow(0, false);
    const fire = vi.fn();
    expect(retry.armed).toBe(false);
    retry.arm(40, false, fire);
    expect(retry.armed).toBe(true);
    vi.advanceTimersByTime(59);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
    expect(retry.armed).toBe(false);

    retry.arm(0, true, fire);
    vi.advanceTimersByTime(99);
    expect(fire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(2);
  });

  it('fires at once when the try is already allowed', () => {
    const retry = new Retry(100);
    const fire = vi.fn();
    retry.arm(500, false, fire);
    vi.advanceTimersByTime(0);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('keeps one timer at a time, and none once disarmed', () => {
    const retry = new Retry(100);
    const first = vi.fn();
    const second = vi.fn();
    retry.arm(0, true, first);
    retry.arm(0, false, second);
    vi.advanceTimersByTime(100);
    expect([first.mock.calls.length, second.mock.calls.length]).toEqual([1, 0]);

    retry.arm(0, true, first);
    retry.disarm();
    expect(retry.armed).toBe(false);
    vi.advanceTimersByTime(1_000);
    expect(first).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
