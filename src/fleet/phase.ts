/**
 * The lifecycle of a breaker in a fleet, as data: which phase it is in, and the one function that moves it from
 * phase to phase. The engine reads the phase to decide where an outcome, a probe or a control goes; it never
 * keeps a flag of its own that says the same thing.
 *
 *   synced ──store fails──▶ fault ──store answers──▶ synced
 *     │                      │
 *   leave()               leave()
 *     ▼                      ▼
 *   leaving (outage?) ──last flush done──▶ left (storeDown?)
 *
 * An outage can begin and end while leaving, and the store can fail or answer after the breaker left: a breaker
 * that left still frees the probe slots it held, so it still needs to know whether the store answers.
 */

import type { Circuit } from '../core/rules.js';

/** The store stopped answering at `since`. */
export interface Outage {
  readonly since: number;
  /**
   * The circuit a `fail-open` or `fail-closed` fallback replaced, restored if the breaker leaves during the
   * outage (alone, nothing would lift the fallback); `undefined` with `local`, or once a control was made.
   */
  readonly replaced: Circuit | undefined;
}

export type Phase =
  /** Following the shared record: outcomes are batched, probes admitted and controls written through the store. */
  | { readonly name: 'synced' }
  /** The store failed: the breaker runs on its fallback and retries the store now and then. */
  | { readonly name: 'fault'; readonly outage: Outage }
  /** `leave()` was called: the last flush is under way (its answers still reach the local circuit). */
  | { readonly name: 'leaving'; readonly done: Promise<void>; readonly outage: Outage | undefined }
  /** Running alone: only the probe slots of the shared trial it still holds are written (once the store answers). */
  | { readonly name: 'left'; readonly done: Promise<void>; readonly storeDown: boolean };

export type PhaseEvent =
  /** A store operation failed at `at`; `replaced` is the circuit a fallback state replaces, if one is taken. */
  | { readonly type: 'storeFailed'; readonly at: number; readonly replaced: Circuit | undefined }
  /** A read answered during an outage. */
  | { readonly type: 'storeAnswered' }
  /** A manual control was made: its state is the one to keep, not the circuit a fallback replaced. */
  | { readonly type: 'controlled' }
  /** `leave()`: `done` resolves once the last flush is over. */
  | { readonly type: 'leave'; readonly done: Promise<void> }
  /** The last flush of `leave()` is over. */
  | { readonly type: 'flushed' };

export const SYNCED: Phase = { name: 'synced' };

/** Every transition of the lifecycle. Events that do not apply to a phase leave it as it is. */
export function nextPhase(p: Phase, e: PhaseEvent): Phase {
  switch (e.type) {
    case 'storeFailed':
      if (p.name === 'synced') return { name: 'fault', outage: { since: e.at, replaced: e.replaced } };
      // Leaving, the breaker takes no fallback state: it is about to run alone and nothing would lift it.
      if (p.name === 'leaving' && p.outage === undefined) return { ...p, outage: { since: e.at, replaced: undefined } };
      if (p.name === 'left' && !p.storeDown) return { ...p, storeDown: true };
      return p;
    case 'storeAnswered':
      if (p.name === 'fault') return SYNCED;
      if (p.name === 'leaving' && p.outage !== undefined) return { ...p, outage: undefined };
      if (p.name === 'left' && p.storeDown) return { ...p, storeDown: false };
      return p;
    case 'controlled':
      if (p.name === 'fault' && p.outage.replaced !== undefined)
        return { name: 'fault', outage: { since: p.outage.since, replaced: undefined } };
      if (p.name === 'leaving' && p.outage?.replaced !== undefined) return { ...p, outage: { since: p.outage.since, replaced: undefined } };
      return p;
    case 'leave':
      if (p.name === 'synced') return { name: 'leaving', done: e.done, outage: undefined };
      if (p.name === 'fault') return { name: 'leaving', done: e.done, outage: p.outage };
      return p;
    case 'flushed':
      return p.name === 'leaving' ? { name: 'left', done: p.done, storeDown: p.outage !== undefined } : p;
  }
}

/** The outage under way, if the breaker still reports one (a breaker that left reports nothing). */
export function outageOf(p: Phase): Outage | undefined {
  return p.name === 'fault' || p.name === 'leaving' ? p.outage : undefined;
}

/** Whether the store is failing: outcomes go to the local circuit, and calls retry the store now and then. */
export function storeDown(p: Phase): boolean {
  return p.name === 'left' ? p.storeDown : outageOf(p) !== undefined;
}

/** Whether the shared record still reaches the local circuit (the store answers and the breaker has not left). */
export function following(p: Phase): boolean {
  return p.name === 'synced' || (p.name === 'leaving' && p.outage === undefined);
}
