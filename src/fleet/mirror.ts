/**
 * The shared record as this instance knows it, mirrored into the breaker's local circuit and tracker. Records
 * arrive by message, in answers and from reads, in any order; which one wins is `verdict`'s rule.
 */

import type { FleetHost } from '../core/fleet-link.js';
import { advanceAll, type Circuit, initialCircuit, type ManualOp, manual } from '../core/rules.js';
import type { Settings } from '../options/breaker-options.js';
import { modeOf } from '../options/breaker-options.js';
import type { FailureTracker } from '../trackers/tracker.js';
import { applyOutcomes, type Batch } from './batch.js';
import { decodeCircuit, decodeTracker } from './codec.js';
import { loadShared, stepTime } from './compare-and-set.js';
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
  /** The local circuit last made from a record, and the store-clock offset it was moved to the local clock with. */
  #mapped: { readonly circuit: Circuit; readonly offset: number } | undefined;
  /** An open circuit guessed from outcomes not yet answered, and the local circuit it replaced (see `foresee`). */
  #guessed: { readonly from: Circuit; readonly to: Circuit } | undefined;

  constructor(
    readonly s: Settings,
    readonly host: FleetHost,
    readonly link: StoreLink,
    readonly batch: Batch,
    readonly digest: string,
    /** A tracker to compute with (the compare-and-set loop's too: each use is synchronous and starts afresh). */
    readonly scratch: FailureTracker,
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
      if (v !== 'adopt') {
        // An answer may bring a new reading of the store's clock though it brings no new record.
        this.#remap();
        return v === 'read';
      }
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
    const next = onLocalClock(shared, offset, local, s);
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
    // The outcomes the store has not answered yet may open the circuit the record leaves closed.
    const open = adopted.state === 'closed' ? this.#foreseen() : undefined;
    this.#mapped = undefined;
    if (open !== undefined) this.#guess(adopted, open);
    else {
      host.adopt(adopted, this.#sourceOf(rec));
      if (pending === undefined) this.#mapped = { circuit: adopted, offset };
    }
    return false;
  }

  /**
   * The store answered with no record newer than the one known (the answer to this instance's own write, whose
   * change message came first, say) but with a new reading of its clock: the local circuit, if it is still the one
   * that record made, is moved to the local clock again. Otherwise its times and the estimate of the store's clock
   * (which decides a probe) would disagree: it would read half-open while the estimate still says open.
   */
  #remap(): void {
    const mapped = this.#mapped;
    const offset = this.link.offset;
    const shared = this.#shared;
    if (mapped === undefined || shared === undefined || offset === mapped.offset || this.host.circuit() !== mapped.circuit) return;
    const next = onLocalClock(shared, offset, this.s.clock.now(), this.s);
    // A reading that puts the store's clock earlier never takes back a step time already made (half-open back to
    // open): the estimate is a lower bound, and the circuit was right by the reading before. A refused probe then
    // carries the store's own wait (see `admitProbe`).
    if (next.generation < mapped.circuit.generation) return;
    this.#mapped = { circuit: next, offset };
    this.host.adopt(next, this.#sourceOf(this.rec as SharedRecord));
  }

  /**
   * A failure or a slow call was recorded: if the outcomes the store has not answered yet, on the record known, open
   * the circuit by the rules, the local circuit opens at once, rather than letting calls through until the store
   * answers (however slow it is). The store's record replaces this guess when it comes.
   */
  foresee(): void {
    const local = this.host.circuit();
    const open = local.state === 'closed' ? this.#foreseen() : undefined;
    if (open !== undefined) this.#guess(local, open);
  }

  /** The open circuit the record known and the outcomes not yet in it make by the rules (on the local clock), if any. */
  #foreseen(): Circuit | undefined {
    const rec = this.rec;
    if (rec === undefined) return undefined;
    const batch = this.batch;
    // The outcomes being written are in the record once it is the one their write made.
    const writing = batch.writing;
    const items = writing === undefined || rec.writer === batch.writingAs ? batch.waiting : writing.concat(batch.waiting);
    // Stryker disable next-line ConditionalExpression: with no outcome the rules open nothing; this only saves the work.
    if (items.length === 0) return undefined;
    const s = this.s;
    const now = stepTime(rec, false, this.link);
    const { next } = applyOutcomes(
      loadShared(this.scratch, (t) => this.absent(t), rec, now),
      this.scratch,
      items,
      now,
      s,
    );
    return next.state === 'open' ? onLocalClock(next, this.link.offset, s.clock.now(), s) : undefined;
  }

  /**
   * The local circuit opens on a guess, in place of `from`: while the guess stands, records are read against `from`
   * (a missing record's generation, the cold-start alias), as the store has not seen those outcomes yet.
   */
  #guess(from: Circuit, open: Circuit): void {
    this.#guessed = { from, to: open };
    this.host.adopt(open, 'local');
  }

  /** The local circuit records are read against: the one a guess replaced, while it stands. */
  #local(): Circuit {
    const c = this.host.circuit();
    const g = this.#guessed;
    return g !== undefined && g.to === c ? g.from : c;
  }

  /** How a record's circuit reaches the breaker: its own write (`'local'`), or another instance's. */
  #sourceOf(rec: SharedRecord): 'local' | 'remote' {
    return this.link.mine(rec.writer) ? 'local' : 'remote';
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

/**
 * The shared circuit with its times moved from the store's clock to the local one (`o`: store minus local), and the
 * time-driven steps due at local time `now` taken.
 */
function onLocalClock(c: Circuit, o: number, now: number, s: Settings): Circuit {
  const local = {
    ...c,
    since: c.since - o,
    openUntil: c.openUntil === 0 ? 0 : c.openUntil - o,
    probeDeadline: c.probeDeadline === 0 ? 0 : c.probeDeadline - o,
  };
  return advanceAll(local, now, s);
}
