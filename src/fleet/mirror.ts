/**
 * The shared record as this instance knows it, mirrored into the breaker's local circuit and tracker: records
 * arrive by message, in answers and from reads, in any order, and only a newer one is taken.
 */

import { advanceAll, type Circuit, initialCircuit, type ManualOp, manual } from '../core/rules.js';
import type { Settings } from '../options/validate.js';
import { modeOf } from '../options/validate.js';
import type { Batch } from './batch.js';
import { decodeCircuit, decodeTracker } from './codec.js';
import type { FleetHost, SharedRecord } from './contract.js';
import type { StoreLink } from './store-link.js';

/** Versions are decimal integers as text, of any length: a longer one is newer, then the text order decides. */
export function newerVersion(a: string, b: string): boolean {
  return a.length === b.length ? a > b : a.length > b.length;
}

export class Mirror {
  /** The last shared record learnt, and its circuit. */
  rec: SharedRecord | undefined;
  #shared: Circuit | undefined;
  /** Consecutive mode: the shared run of failures (-1: unknown or another mode). */
  #sharedFailures = -1;
  /** Whether a record with a version was ever learnt (a generation seen since is a shared one). */
  #learnt = false;
  /**
   * Calls admitted under a local closed generation the shared record replaced with another closed one (a
   * first read, a lost key): their outcomes count in the shared closed circuit, under its generation.
   */
  #aliasFrom = -1;
  #aliasTo = -1;
  readonly #warned = new Set<string>();

  constructor(
    readonly s: Settings,
    readonly host: FleetHost,
    readonly link: StoreLink,
    readonly batch: Batch,
    readonly digest: string,
  ) {}

  /** The generation a closed-state outcome counts under (moved by an alias). */
  generationOf(generation: number): number {
    return generation === this.#aliasFrom ? this.#aliasTo : generation;
  }

  /**
   * Takes a record newer than the one known (messages and answers may cross) and mirrors it into the local
   * circuit and tracker; `pending` is a manual control made here and not yet written, which wins over it.
   */
  learn(rec: SharedRecord, pending: ManualOp | undefined): void {
    const known = this.rec;
    if (known !== undefined) {
      // Versions only grow; a missing record counts only if it was seen after what we know (flushed or expired).
      if (rec.version === '' ? rec.now <= known.now : !newerVersion(rec.version, known.version)) return;
    }
    // Whether the local generation is this instance's own, never a shared one: before its first record (a cold
    // start), or since the record went missing. Only then do its closed-state outcomes move to the shared one.
    const ownGeneration = known === undefined ? !this.#learnt : known.version === '';
    if (rec.version !== '') this.#learnt = true;
    this.rec = rec;
    this.#checkSettings(rec.settings);
    const s = this.s;
    const offset = this.link.offset;
    const local = s.clock.now();
    const shared = decodeCircuit(rec.circuit) ?? this.absent(local + offset);
    this.#shared = shared;
    const tracker = decodeTracker(rec.tracker);
    this.#sharedFailures =
      modeOf(s) !== 'consecutive' ? -1 : tracker?.kind === 'consecutive' ? tracker.failures : tracker === undefined ? 0 : -1;
    const host = this.host;
    host.tracker.reset();
    if (tracker !== undefined) host.tracker.restore(tracker, local, (t) => t - offset);
    const next = advanceAll(toLocal(shared, offset), local, s);
    const adopted = pending === undefined ? next : manual(next, pending, host.tracker, local);
    const prev = host.circuit();
    if (ownGeneration && prev.state === 'closed' && adopted.state === 'closed' && prev.generation !== adopted.generation) {
      // Outcomes of calls admitted under the old generation (waiting, being written, or still running) count under the new one.
      this.#aliasFrom = prev.generation;
      this.#aliasTo = adopted.generation;
      this.batch.alias(prev.generation, adopted.generation);
    } else if (adopted.generation !== this.#aliasTo || adopted.state !== 'closed') {
      // The closed circuit the alias led to is over: an outcome of the old generation is stale from now on.
      this.#aliasFrom = this.#aliasTo = -1;
    }
    host.adopt(adopted, this.link.mine(rec.writer) ? 'local' : 'remote');
  }

  /** Consecutive mode, closed, nothing counted: a success cannot change the shared record (if nothing waits either). */
  quiet(): boolean {
    return this.#sharedFailures === 0 && this.#shared?.state === 'closed' && this.host.circuit().generation === this.#shared.generation;
  }

  /**
   * The circuit a missing record (never written, expired or deleted) stands for: closed, in the generation of the
   * local circuit if that is closed (calls admitted before the record went missing still count), else the next one.
   */
  absent(now: number): Circuit {
    const local = this.host.circuit();
    const generation = local.state === 'closed' ? local.generation : local.generation + 1;
    const c = initialCircuit(now);
    return generation === c.generation ? c : { ...c, generation };
  }

  #checkSettings(theirs: string): void {
    if (theirs === '' || theirs === this.digest || this.#warned.has(theirs)) return;
    this.#warned.add(theirs);
    this.host.log(
      'warn',
      'breaker.settingsMismatch',
      'instances sharing this breaker have different settings; each computes with its own',
      { ours: this.digest, theirs },
      true,
    );
  }
}

/** The shared circuit with its times moved from the store's clock to the local one. */
function toLocal(c: Circuit, o: number): Circuit {
  return {
    ...c,
    since: c.since - o,
    openUntil: c.openUntil === 0 ? 0 : c.openUntil - o,
    probeDeadline: c.probeDeadline === 0 ? 0 : c.probeDeadline - o,
  };
}
