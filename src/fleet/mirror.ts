/**
 * The shared record as this instance knows it, mirrored into the breaker's local circuit and tracker. Records
 * arrive by message, in answers and from reads, in any order; which one wins is `verdict`'s rule.
 */

import type { FleetHost } from '../core/fleet-link.js';
import { advanceAll, type Circuit, initialCircuit, type ManualOp, manual } from '../core/rules.js';
import type { Settings } from '../options/breaker-options.js';
import { modeOf } from '../options/breaker-options.js';
import type { Batch } from './batch.js';
import { decodeCircuit, decodeTracker } from './codec.js';
import type { SharedRecord } from './contract.js';
import type { StoreLink } from './store-link.js';

/** Versions are decimal integers as text, of any length: a longer one is newer, then the text order decides. */
function newerVersion(a: string, b: string): boolean {
  return a.length === b.length ? a > b : a.length > b.length;
}

/**
 * What to do with a record, given the one known. A record is known by its version and its writer tag (unique per
 * write): after a failover that lost a write, the store may hold an older version than one an instance saw, and
 * reuse that version number for another write. `fresh`: the store's answer to a read or a compare-and-set sent
 * after the known record was taken, so the store's record now: the truth, taken whenever it differs, older or not.
 * Otherwise (a message, or an answer that crossed a newer record) a newer version wins, an older one is ignored
 * (messages cross), and the same version by another writer means one of the two writes was lost: `'read'` the
 * store, which knows which.
 */
export function verdict(rec: SharedRecord, known: SharedRecord, fresh: boolean): 'adopt' | 'ignore' | 'read' {
  // A missing record (flushed, expired) counts if the store saw it missing after what we know (by its clock).
  if (rec.version === '') return rec.now > known.now ? 'adopt' : 'ignore';
  if (rec.version === known.version && rec.writer === known.writer) return 'ignore';
  if (fresh || newerVersion(rec.version, known.version)) return 'adopt';
  return rec.version === known.version ? 'read' : 'ignore';
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
  /** Records taken so far: an answer to a request sent before the last one was taken may have crossed it. */
  #taken = 0;
  readonly #warned = new Set<string>();
  /** An open circuit guessed from failures not yet written, and the local circuit it replaced (see `guessed`). */
  #guess: { readonly from: Circuit; readonly to: Circuit } | undefined;

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

  /** How many records were taken so far: pass it to `learn` with the answer to a request sent now. */
  get taken(): number {
    return this.#taken;
  }

  /**
   * Takes a record as `verdict` says and mirrors it into the local circuit and tracker; `pending` is a manual
   * control made here and not yet written, which wins over it. `sent`: `taken` when the read or compare-and-set
   * this record answers was sent (none for a message). Returns whether the store should be read back.
   */
  learn(rec: SharedRecord, pending: ManualOp | undefined, sent?: number): boolean {
    const known = this.rec;
    if (known !== undefined) {
      const v = verdict(rec, known, sent === this.#taken);
      if (v !== 'adopt') return v === 'read';
    }
    this.#taken++;
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
    const prev = this.#local();
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
    return false;
  }

  /**
   * The local circuit became `to`, guessed from failures not yet written, in place of `from`: while the guess
   * stands, records are read against `from` (a missing record's generation, the cold-start alias), as the store
   * has not seen those failures yet.
   */
  guessed(from: Circuit, to: Circuit): void {
    this.#guess = { from, to };
  }

  /** The local circuit records are read against: the one a guess replaced, while it stands. */
  #local(): Circuit {
    const c = this.host.circuit();
    const g = this.#guess;
    return g !== undefined && g.to === c ? g.from : c;
  }

  /** A shared circuit (on the store's clock) as the local circuit would hold it now. */
  local(c: Circuit): Circuit {
    const s = this.s;
    return advanceAll(toLocal(c, this.link.offset), s.clock.now(), s);
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
    const local = this.#local();
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
