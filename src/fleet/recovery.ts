/**
 * Recovery from store faults: when to try the store again, and the probe slots of the shared trial this instance
 * may hold without having released them (a fault cut it off from the store), to be freed once it answers.
 */

import { NEUTRAL, type Outcome } from '../core/rules.js';
import type { Settled } from './batch.js';
import type { Attempt } from './compare-and-set.js';
import type { SharedRecord } from './contract.js';
import { unref } from './store-link.js';

/**
 * A probe slot of the shared trial this instance may hold without having released it, and when to write its
 * outcome once the store answers again: `always` (the outcome never left this instance), `if-landed` (a slot
 * request that got no answer: it holds a slot only if it landed), `unless-landed` (an outcome whose write got no
 * answer: written again only if it certainly did not land). Whether a write landed is read from the record:
 * still the record it expected, same version and writer (it did not), or last written by that very write (it did); anything else is
 * unknown, and `maxProbeWait` bounds the trial.
 */
export interface Orphan {
  readonly rule: 'always' | 'if-landed' | 'unless-landed';
  readonly attempt: Attempt | undefined;
  /** The probe's outcome, once known (neutral until then: frees the slot, decides nothing). */
  outcome: Settled;
  /** Local time after which the trial has ended anyway (its probe lease is over). */
  readonly until: number;
}

/** The probe slots the store granted this instance, and those orphaned by a fault. */
export class ProbeSlots {
  /** Slots granted and not yet settled, for the generation of the trial. */
  #granted = 0;
  #generation = -1;
  #orphans: Orphan[] = [];

  /** The store granted a slot of the trial of `generation`. */
  grant(generation: number): void {
    if (this.#generation !== generation) this.#granted = 0;
    this.#generation = generation;
    this.#granted++;
  }

  /** Whether a probe of `generation` held a slot the store granted (and takes it). */
  take(generation: number): boolean {
    if (this.#granted === 0 || this.#generation !== generation) return false;
    this.#granted--;
    return true;
  }

  /** Remembers a slot this instance may hold, with the outcome to write for it. */
  orphan(rule: Orphan['rule'], attempt: Attempt | undefined, outcome: Settled, until: number): void {
    this.#orphans.push({ rule, attempt, outcome, until });
  }

  /** A probe admitted locally while its slot request went unanswered: its outcome settles that slot. */
  claim(outcome: Settled): void {
    const orphan = this.#orphans.find(
      (o) => o.rule === 'if-landed' && o.outcome.generation === outcome.generation && o.outcome.outcome === NEUTRAL,
    );
    if (orphan !== undefined) orphan.outcome = outcome;
  }

  /** Drops the slots whose trial has ended; whether any is left. */
  prune(now: number): boolean {
    this.#orphans = this.#orphans.filter((o) => o.until > now);
    return this.#orphans.length > 0;
  }

  /**
   * The store is back and `rec` is its record: takes every orphaned slot, and returns the outcomes to write for
   * those whose trial may still be on, each as its rule says (the rules ignore those of a trial that ended).
   */
  release(rec: SharedRecord, now: number): Settled[] {
    const live = this.#orphans.filter((o) => o.until > now);
    this.#orphans = [];
    const items: Settled[] = [];
    for (const o of live) {
      const landed = o.attempt !== undefined && rec.writer === o.attempt.writer;
      const notLanded = o.attempt !== undefined && rec.version === o.attempt.expected.version && rec.writer === o.attempt.expected.writer;
      if (o.rule === 'always' || (o.rule === 'if-landed' && landed) || (o.rule === 'unless-landed' && notLanded)) items.push(o.outcome);
    }
    return items;
  }
}

/** A probe's outcome not yet known: frees its slot, decides nothing. */
export function unknownProbe(generation: number): Settled {
  return { outcome: NEUTRAL as Outcome, slow: false, probe: true, generation, hint: undefined };
}

/**
 * When a fault tries the store again: calls retry it at most once per `delay`; no timer waits for it, unless a
 * probe slot of the shared trial is to be freed (then one unref'd timer, one at a time).
 */
export class Retry {
  /** Local time before which calls do not try the store again. */
  at = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly delay: number) {}

  /** Whether a try is allowed at `now` (and, if so, the next one waits a delay). */
  allow(now: number, evenEarly: boolean): boolean {
    if (!evenEarly && now < this.at) return false;
    this.at = now + this.delay;
    return true;
  }

  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Runs `fire` when the next try is allowed (`later`: a delay from now), unless a timer is armed already. */
  arm(now: number, later: boolean, fire: () => void): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        fire();
      },
      later ? this.delay : Math.max(0, this.at - now),
    );
    unref(this.#timer);
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
