// The fleet engine's lifecycle as data: every transition of `nextPhase`, and what each phase means for the engine.
import { describe, expect, it } from 'vitest';
import { initialCircuit } from '../../src/core/rules.js';
import { following, nextPhase, outageOf, type Phase, SYNCED, storeDown } from '../../src/fleet/phase.js';

const done = Promise.resolve();
const replaced = initialCircuit(0);
const fault: Phase = { name: 'fault', outage: { since: 5, replaced } };

describe('nextPhase', () => {
  it('an event that does not apply leaves the phase as it is: the very same object', () => {
    const outage = { since: 5, replaced: undefined };
    const p = {
      synced: SYNCED,
      fault,
      faultKept: { name: 'fault', outage } as Phase,
      leaving: { name: 'leaving', done, outage: undefined } as Phase,
      leavingDown: { name: 'leaving', done, outage: { since: 5, replaced } } as Phase,
      leavingKept: { name: 'leaving', done, outage } as Phase,
      left: { name: 'left', done, storeDown: false } as Phase,
      leftDown: { name: 'left', done, storeDown: true } as Phase,
    };
    const unchanged: Array<[Phase, Parameters<typeof nextPhase>[1]]> = [
      ...[p.fault, p.faultKept, p.leavingDown, p.leavingKept, p.leftDown].map(
        (phase) => [phase, { type: 'storeFailed', at: 9, replaced }] as [Phase, Parameters<typeof nextPhase>[1]],
      ),
      ...[p.synced, p.leaving, p.left].map((phase) => [phase, { type: 'storeAnswered' }] as [Phase, Parameters<typeof nextPhase>[1]]),
      ...[p.synced, p.faultKept, p.leaving, p.leavingKept, p.left, p.leftDown].map(
        (phase) => [phase, { type: 'controlled' }] as [Phase, Parameters<typeof nextPhase>[1]],
      ),
      ...[p.leaving, p.leavingDown, p.left, p.leftDown].map(
        (phase) => [phase, { type: 'leave', done }] as [Phase, Parameters<typeof nextPhase>[1]],
      ),
      ...[p.synced, p.fault, p.left, p.leftDown].map((phase) => [phase, { type: 'flushed' }] as [Phase, Parameters<typeof nextPhase>[1]]),
    ];
    for (const [phase, event] of unchanged) expect(nextPhase(phase, event), `${phase.name} on ${event.type}`).toBe(phase);
  });

  it('synced: a store failure starts an outage, with the circuit a fallback replaced', () => {
    expect(nextPhase(SYNCED, { type: 'storeFailed', at: 5, replaced })).toEqual(fault);
    expect(nextPhase(SYNCED, { type: 'storeFailed', at: 5, replaced: undefined })).toEqual({
      name: 'fault',
      outage: { since: 5, replaced: undefined },
    });
    expect(nextPhase(SYNCED, { type: 'storeAnswered' })).toBe(SYNCED);
    expect(nextPhase(SYNCED, { type: 'controlled' })).toBe(SYNCED);
  });

  it('fault: a later failure changes nothing (reported once), an answer ends it, a control keeps its own state', () => {
    expect(nextPhase(fault, { type: 'storeFailed', at: 9, replaced: undefined })).toBe(fault);
    expect(nextPhase(fault, { type: 'storeAnswered' })).toBe(SYNCED);
    expect(nextPhase(fault, { type: 'controlled' })).toEqual({ name: 'fault', outage: { since: 5, replaced: undefined } });
  });

  it('leave(): from synced or from a fault (which carries on, with the circuit to restore)', () => {
    expect(nextPhase(SYNCED, { type: 'leave', done })).toEqual({ name: 'leaving', done, outage: undefined });
    expect(nextPhase(fault, { type: 'leave', done })).toEqual({ name: 'leaving', done, outage: fault.outage });
    const leaving = nextPhase(SYNCED, { type: 'leave', done });
    expect(nextPhase(leaving, { type: 'leave', done: Promise.resolve() })).toBe(leaving);
  });

  it('leaving: a failure starts an outage without a fallback state; an answer ends it', () => {
    const leaving: Phase = { name: 'leaving', done, outage: undefined };
    const failed = nextPhase(leaving, { type: 'storeFailed', at: 7, replaced });
    expect(failed).toEqual({ name: 'leaving', done, outage: { since: 7, replaced: undefined } });
    expect(nextPhase(failed, { type: 'storeAnswered' })).toEqual(leaving);
    const fromFault = nextPhase(fault, { type: 'leave', done });
    expect(nextPhase(fromFault, { type: 'controlled' })).toEqual({ name: 'leaving', done, outage: { since: 5, replaced: undefined } });
  });

  it('the last flush over: left, still knowing whether the store is down (probe slots are freed once it answers)', () => {
    expect(nextPhase({ name: 'leaving', done, outage: undefined }, { type: 'flushed' })).toEqual({ name: 'left', done, storeDown: false });
    const left = nextPhase({ name: 'leaving', done, outage: fault.outage }, { type: 'flushed' });
    expect(left).toEqual({ name: 'left', done, storeDown: true });
    expect(nextPhase(left, { type: 'storeAnswered' })).toEqual({ name: 'left', done, storeDown: false });
    expect(nextPhase({ name: 'left', done, storeDown: false }, { type: 'storeFailed', at: 1, replaced })).toEqual(left);
    expect(nextPhase(left, { type: 'leave', done: Promise.resolve() })).toBe(left);
    expect(nextPhase(SYNCED, { type: 'flushed' })).toBe(SYNCED);
  });
});

describe('what a phase means', () => {
  it('following: the shared record reaches the local circuit only while synced, or leaving without an outage', () => {
    const phases: Phase[] = [
      SYNCED,
      fault,
      { name: 'leaving', done, outage: undefined },
      { name: 'leaving', done, outage: fault.outage },
      { name: 'left', done, storeDown: false },
      { name: 'left', done, storeDown: true },
    ];
    expect(phases.map(following)).toEqual([true, false, true, false, false, false]);
    expect(phases.map(storeDown)).toEqual([false, true, false, true, false, true]);
    // A breaker that left reports no outage: it runs alone.
    expect(phases.map((p) => outageOf(p) !== undefined)).toEqual([false, true, false, true, false, false]);
  });
});
