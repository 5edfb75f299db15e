/**
 * Fleet mode: keeps one breaker's local circuit in step with the shared record in a `BreakerStore`.
 *
 * The store only reads and compare-and-sets; every next state is computed here with the same
 * pure rules as a lone breaker (`transitions.ts`), at the store's clock. Closed-state outcomes are
 * batched, probes are admitted through the store, and a store fault never reaches a caller: the
 * breaker falls back per `onStoreError` until the store answers again.
 */

import type { ControlOp, FleetHost, FleetLink, ProbeTicket } from '../core/fleet-link.js';
import {
  type Admission,
  admission,
  admitProbe,
  advanceAll,
  type Circuit,
  disable,
  FAILURE,
  forceOpen,
  initialCircuit,
  manual,
  NEUTRAL,
  type Outcome,
  SUCCESS,
  settle,
} from '../core/rules.js';
import type { StoreErrorPolicy } from '../core/types.js';
import { modeOf, type Settings } from '../options/breaker-options.js';
import { fail, methods, num } from '../options/checks.js';
import { createTracker } from '../trackers/create.js';
import type { FailureTracker } from '../trackers/tracker.js';
import { decodeCircuit, decodeTracker, encodeCircuit, settingsDigest } from './codec.js';
import type { SharedRecord, StoreOperations } from './contract.js';

export type { FleetHost } from '../core/fleet-link.js';

/**
 * A step this instance computed against the store (for tests and diagnostics): written as `version`,
 * or, when it changed nothing, not written and computed from the record at `version`.
 */
export type Commit = { readonly version: string; readonly written: boolean; readonly now: number; readonly next: Circuit } & (
  | { readonly kind: 'outcomes'; readonly items: readonly number[] /* code, generation, hint (-1: none) per outcome */ }
  | { readonly kind: 'probe'; readonly admit: Admission }
  | { readonly kind: 'control'; readonly op: ControlOp }
);

/** Outcomes flushed at once when this many are waiting. */
const MAX_BATCH = 64;
/**
 * Compare-and-set attempts of one step (a batch, a probe request, a control) before it gives up: each failed
 * attempt returns the winner's record; a re-read of a stale record takes one too.
 */
const MAX_ATTEMPTS = 32;
/** With a subscriber, a safety-net re-read at most this often (ms): changes arrive by message. */
const RESYNC_WITH_SUBSCRIBER = 5_000;
const DEFAULT_STORE_TIMEOUT = 250;
/** `syncInterval`: ms, 1 – 3,600,000, default 100. */
const STORE_ERROR_POLICIES: readonly unknown[] = ['local', 'fail-open', 'fail-closed'];

/**
 * A batch holds three numbers per outcome: a code (outcome in bits 0–1, slow in bit 2, probe in
 * bit 3), the generation it was admitted under, and the failure's `retryAfterHint` (-1: none;
 * the rules ignore a negative hint as they ignore a missing one).
 */
const SLOW_BIT = 4;
const PROBE_BIT = 8;
export const ITEM = 3;
const NO_HINT = -1;

class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
}

class ContentionError extends Error {}

const identity = (t: number) => t;

/** Versions are decimal integers as text, of any length: a longer one is newer, then the text order decides. */
function newerVersion(a: string, b: string): boolean {
  return a.length === b.length ? a > b : a.length > b.length;
}

/**
 * Checks the fleet options and the store's methods (all but the `name`, which a registry gives each breaker).
 * @throws {TypeError | RangeError} naming the option and the value.
 */
export function checkFleetOptions(s: Settings, store: StoreOperations): { policy: StoreErrorPolicy; syncInterval: number } {
  methods(store, 'store', 'read compareAndSet subscribe?', 'a store with read() and compareAndSet() methods');
  const policy = s.onStoreError ?? 'local';
  if (!STORE_ERROR_POLICIES.includes(policy)) fail(TypeError, 'onStoreError', policy, '"local", "fail-open" or "fail-closed"');
  return { policy: policy as StoreErrorPolicy, syncInterval: num(s.syncInterval, 'syncInterval', 1, 3_600_000) ?? 100 };
}

/** Timers of fleet sync never keep a process alive. */
function unref(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}

/** A compare-and-set this instance sent: the version it replaced, and the writer tag that marks it in the record. */
interface Attempt {
  readonly expected: string;
  readonly writer: string;
}

/**
 * A probe slot of the shared trial this instance may hold without having released it, and when to write its
 * outcome once the store answers again: `always` (the outcome never left this instance), `if-landed` (a slot
 * request that got no answer: it holds a slot only if it landed), `unless-landed` (an outcome whose write got no
 * answer: written again only if it certainly did not land). Whether a write landed is read from the record:
 * still at the version it expected (it did not), or last written by that very write (it did); anything else is
 * unknown, and `maxProbeWait` bounds the trial.
 */
interface Orphan {
  readonly generation: number;
  readonly rule: 'always' | 'if-landed' | 'unless-landed';
  readonly attempt: Attempt | undefined;
  /** The probe's outcome as a batch code, once known (neutral until then: frees the slot, decides nothing). */
  code: number;
  hint: number;
  /** Local time after which the trial has ended anyway (its probe lease is over). */
  readonly until: number;
}

interface Step<T> {
  readonly next: Circuit;
  /** Whether the tracker may have changed (it is serialised and written then). */
  readonly tracker: boolean;
  readonly result: T;
}

/**
 * The fleet engine: started by a store's `join` (see `SharedStore`), it runs beside one breaker
 * and keeps its circuit in step with the shared record.
 */
export class FleetSync implements FleetLink {
  readonly #s: Settings;
  readonly #store: StoreOperations;
  readonly #name: string;
  readonly #host: FleetHost;
  readonly #observer: ((commit: Commit) => void) | undefined;
  /** Scratch tracker the shared tracker is loaded into to compute a step. */
  readonly #scratch: FailureTracker;
  readonly #digest: string;
  readonly #timeout: number;
  readonly #syncInterval: number;
  readonly #policy: StoreErrorPolicy;
  readonly #resyncInterval: number;
  readonly #warned = new Set<string>();
  /** This instance's id: its records' writer is `id.n`, one `n` per write sent. */
  readonly #id = Math.random().toString(36).slice(2, 10);
  #writes = 0;
  /**
   * Calls admitted under a local closed generation the shared record replaced with another closed one (a
   * first read, a lost key): their outcomes count in the shared closed circuit, under its generation.
   */
  #aliasFrom = -1;
  #aliasTo = -1;
  /** Whether a record with a version was ever learnt (a generation seen since is a shared one). */
  #learnt = false;
  /** The outcomes of the batch being written. */
  #writing: number[] | undefined;
  /** The circuit before a `fail-open`/`fail-closed` fallback replaced it (restored if the breaker leaves meanwhile). */
  #beforeFallback: Circuit | undefined;

  /** The last shared record seen, and its circuit. */
  #rec: SharedRecord | undefined;
  #shared: Circuit | undefined;
  /** Consecutive mode: the shared run of failures (-1: unknown or another mode). */
  #sharedFailures = -1;
  /** Store clock minus local clock, measured at the last answer (a lower bound, so estimates never run ahead). */
  #offset = 0;
  #lastContact = Number.NEGATIVE_INFINITY;
  #reading: Promise<void> | undefined;

  #batch: number[] = [];
  /** The batch must go now: it holds a failure or a probe outcome, it is full, its time is up, or flush() was called. */
  #due = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  #admitting = 0;

  #fault = false;
  #faultSince = 0;
  /** After `leave()`: the breaker runs alone. */
  #left = false;
  #leaving: Promise<void> | undefined;
  /** The manual control being written, re-applied over records that arrive before it lands. */
  #pendingControl: ControlOp | undefined;
  #controls = 0;
  #unsubscribe: (() => void) | undefined;
  #retryAt = 0;
  /** Probe slots the store granted this instance, not yet settled, for the generation of the trial. */
  #granted = 0;
  #grantedGeneration = -1;
  #orphans: Orphan[] = [];
  /** During a fault with orphaned slots only: when to read the store back (unref'd, one at a time). */
  #recoveryTimer: ReturnType<typeof setTimeout> | undefined;

  /** @throws {TypeError | RangeError} when a fleet option is invalid (the breaker's constructor calls this). */
  constructor(s: Settings, store: StoreOperations, host: FleetHost, observer?: (commit: Commit) => void) {
    if (s.name === undefined) {
      throw new TypeError('breakwater: option "name" is required with a "store": every instance with the same name shares one breaker');
    }
    const checked = checkFleetOptions(s, store);
    this.#policy = checked.policy;
    this.#syncInterval = checked.syncInterval;
    this.#s = s;
    this.#store = store;
    this.#name = s.name as string;
    this.#host = host;
    this.#observer = observer;
    this.#scratch = createTracker(s);
    this.#digest = settingsDigest(s);
    this.#timeout = store.timeout ?? DEFAULT_STORE_TIMEOUT;
    let subscribed = false;
    if (store.subscribe !== undefined) {
      try {
        this.#unsubscribe = store.subscribe(this.#name, (record) => {
          // During a fault, a message says the store answers again: read it back now rather than at the next call.
          if (this.#fault) this.#tryRecover(true);
          else this.#learn(record);
        });
        subscribed = true;
      } catch (error) {
        // A store fault never reaches a caller: without a subscription, the breaker re-reads instead.
        host.log('warn', 'breaker.storeError', 'the store could not subscribe the breaker; it re-reads instead', { error }, true);
      }
    }
    this.#resyncInterval = subscribed ? Math.max(this.#syncInterval, RESYNC_WITH_SUBSCRIBER) : this.#syncInterval;
    this.#sync();
  }

  get active(): boolean {
    return !this.#fault && !this.#left;
  }

  /**
   * Stops following the store: unsubscribes, writes the outcomes still waiting, and from then on
   * leaves every outcome, probe and control to the breaker's local circuit, except that the probe slots of the
   * shared trial it holds are still freed (their outcomes written, once the store answers). Never rejects.
   */
  leave(): Promise<void> {
    if (this.#leaving === undefined) {
      const unsubscribe = this.#unsubscribe;
      this.#unsubscribe = undefined;
      try {
        if (typeof unsubscribe === 'function') unsubscribe();
      } catch (error) {
        // The breaker leaves all the same: a store that cannot unsubscribe it must not keep it.
        this.#host.log('warn', 'breaker.storeError', 'the store could not unsubscribe the breaker', { error }, true);
      }
      // The answers to this last flush still reach the local circuit; after it, nothing does.
      this.#leaving = this.flush().then(() => {
        this.#left = true;
        // Alone from now on: a fallback state (`fail-open`, `fail-closed`) would never be lifted.
        const before = this.#beforeFallback;
        this.#beforeFallback = undefined;
        if (this.#fault && before !== undefined) this.#host.adopt(before, 'local');
      });
    }
    return this.#leaving;
  }

  /** Outcomes, flushes and probe admissions not yet answered by the store. */
  get pending(): boolean {
    return this.#batch.length > 0 || this.#flushing !== undefined || this.#reading !== undefined || this.#admitting > 0;
  }

  /**
   * Takes the outcome of a call, with a failure's `retryAfterHint`. Returns `false` while the store
   * is unreachable and after `leave()`: the breaker then applies it to its local circuit itself (a probe the
   * store granted is still written, to free its slot). A probe admitted on the local circuit during a fault and
   * settled after it is dropped (`true`): no slot of the shared trial is its.
   */
  record(outcome: Outcome, slow: boolean, probe: boolean, generation: number, hint?: number): boolean {
    if (!probe && generation === this.#aliasFrom) generation = this.#aliasTo;
    const code = outcome | (slow ? SLOW_BIT : 0) | (probe ? PROBE_BIT : 0);
    const granted = probe && this.#takeGrant(generation);
    if (this.#left) {
      // A probe the store granted before the breaker left still frees its slot fleet-wide (and settles here too).
      if (granted && this.#fault) this.#orphan(generation, 'always', undefined, code, hint);
      else if (granted) this.#writeFirst([code, generation, hint ?? NO_HINT]);
      return false;
    }
    if (this.#fault) {
      if (granted) this.#orphan(generation, 'always', undefined, code, hint);
      else if (probe) this.#claimOrphan(generation, code, hint);
      this.#tryRecover();
      return false;
    }
    // Admitted on the local circuit during a fault: no slot of the shared trial is its to free.
    if (probe && !granted) return true;
    if (!probe) {
      // A neutral closed-state call changes nothing; neither does a success while no failure is counted.
      if (outcome === NEUTRAL || (outcome === SUCCESS && this.#quiet())) {
        this.#maybeResync();
        return true;
      }
    }
    this.#batch.push(code, generation, hint ?? NO_HINT);
    // Failures and probe outcomes go at once: they may open or close the circuit for everyone.
    if (probe || outcome === FAILURE || this.#batch.length >= MAX_BATCH * ITEM) this.#startFlush();
    else if (this.#flushing === undefined) this.#arm();
    return true;
  }

  /** A rejection happened locally: the cached open-until may be stale, or the store may be back. */
  touch(): void {
    if (this.#left) return;
    if (this.#fault) this.#tryRecover();
    else this.#maybeResync();
  }

  /**
   * Asks the store for a probe slot (the circuit is half-open locally; call only while `active`).
   * At most `halfOpenProbes` calls fleet-wide hold one; the first starts the lease that `maxProbeWait` bounds.
   */
  async admitProbe(): Promise<ProbeTicket | undefined> {
    if (this.#admitting + this.#host.circuit().probes >= this.#s.halfOpenProbes) {
      return { admit: 'reject', generation: this.#host.circuit().generation };
    }
    this.#admitting++;
    // The trial a slot was asked in, and the write asking: if the store never answers, it may still land.
    let asked: number | undefined;
    let attempt: Attempt | undefined;
    try {
      const ticket = await this.#mutate<ProbeTicket>(
        (base, now) => {
          const c = advanceAll(base, now, this.#s);
          const admit = admission(c, this.#s);
          if (admit !== 'probe') return { next: c, tracker: false, result: { admit, generation: c.generation } };
          const next = admitProbe(c, now, this.#s);
          asked = next.generation;
          return { next, tracker: false, result: { admit, generation: next.generation } };
        },
        'probe',
        (sent) => {
          attempt = sent;
        },
      );
      if (ticket.admit === 'probe') {
        if (this.#grantedGeneration !== ticket.generation) this.#granted = 0;
        this.#grantedGeneration = ticket.generation;
        this.#granted++;
      }
      return ticket;
    } catch (error) {
      // Too many instances wrote at once: this caller is rejected fast, like any caller that loses the slot.
      if (error instanceof ContentionError) return { admit: 'reject', generation: this.#host.circuit().generation };
      this.#failed(error);
      if (asked !== undefined && attempt !== undefined) this.#orphan(asked, 'if-landed', attempt, NEUTRAL | PROBE_BIT, undefined);
      return undefined;
    } finally {
      this.#admitting--;
    }
  }

  /** Applies a manual control to the shared circuit (the breaker already applied it locally). */
  control(op: ControlOp): void {
    // A control made during a fault is the state to keep, even if the breaker leaves before the store is back.
    if (this.#fault) this.#beforeFallback = undefined;
    if (this.#fault || this.#left) return;
    // `close()` and `reset()` forget the counts: outcomes settled before them and not yet written go too.
    if (op === 'close' || op === 'reset') this.#forgetClosedOutcomes();
    const token = ++this.#controls;
    this.#pendingControl = op;
    const settled = () => {
      if (this.#controls === token) this.#pendingControl = undefined;
    };
    this.#mutate((base, now) => {
      const next = manual(advanceAll(base, now, this.#s), op, this.#scratch, now);
      // close and reset forget the counts: the shared tracker is written too.
      return { next, tracker: op === 'close' || op === 'reset', result: undefined };
    }, op).then(settled, (error: unknown) => {
      settled();
      if (error instanceof ContentionError) {
        this.#host.log(
          'warn',
          'breaker.controlConflict',
          `could not apply ${op}() fleet-wide: too many instances wrote at once; call it again`,
          { op },
          true,
        );
      } else this.#failed(error);
    });
  }

  /** Writes every waiting outcome now; resolves when the store has them (or has failed). Never rejects. */
  async flush(): Promise<void> {
    // Outcomes recorded while an earlier write was under way go right after it (a few rounds at most).
    for (let round = 0; round < 3 && this.#batch.length > 0; round++) {
      this.#startFlush();
      await this.#flushing;
    }
    await this.#flushing;
  }

  /** One timer while outcomes wait, none otherwise; it never keeps the process alive. */
  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#startFlush();
    }, this.#syncInterval);
    unref(this.#timer);
  }

  // ── flushing ─────────────────────────────────────────────────────────────

  /** The waiting outcomes are due: written now, or right after the write under way. */
  #startFlush(): void {
    this.#due = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // The drain awaits the store before it returns, so it clears `#flushing` only after this assignment.
    if (this.#flushing === undefined && this.#batch.length > 0 && !this.#fault) this.#flushing = this.#drain();
  }

  /**
   * Writes batches until none is due. The last check of the batch and the clearing of `#flushing`
   * run in one synchronous step: an outcome recorded in between would find `#flushing` still set,
   * start no flush and arm no timer, and wait for the next outcome (a fast caller lands there).
   */
  async #drain(): Promise<void> {
    try {
      while (this.#batch.length > 0 && !this.#fault) {
        if (!this.#due) {
          // Only successes arrived meanwhile: they wait for the timer (or the next failure).
          this.#arm();
          return;
        }
        this.#due = false;
        const items = this.#batch;
        this.#batch = [];
        this.#writing = items;
        let attempt: Attempt | undefined;
        try {
          await this.#mutate(
            (base, now) => {
              const start = advanceAll(base, now, this.#s);
              let c = start;
              // The tracker changes only while closed, or when a trial closes the circuit (which resets it).
              let touched = false;
              for (let i = 0; i < items.length; i += ITEM) {
                const code = items[i] as number;
                const probe = (code & PROBE_BIT) !== 0;
                if (c.state === 'closed') touched = true;
                const generation = items[i + 1] as number;
                c = settle(c, this.#scratch, (code & 3) as Outcome, (code & SLOW_BIT) !== 0, probe, generation, now, this.#s, items[i + 2]);
              }
              // A copy: the outcomes as computed (a record learnt while the write is under way may move their generation).
              return { next: c, tracker: touched || (c.state === 'closed' && c !== start), result: items.slice() };
            },
            'outcomes',
            (sent) => {
              attempt = sent;
            },
          );
        } catch (error) {
          // Keep the outcomes, oldest first: for the next flush, or for the local circuit.
          this.#batch = items.concat(this.#batch);
          if (error instanceof ContentionError) {
            // Many instances wrote at once: try again at the next flush.
            this.#arm();
            return;
          }
          this.#failed(error, attempt === undefined ? undefined : { attempt, count: items.length });
        } finally {
          this.#writing = undefined;
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  // ── the compare-and-set loop ─────────────────────────────────────────────

  /**
   * Computes a step from the shared record and writes it if nobody wrote in between; on a
   * conflict the store returns the winner's record and the step is computed again from it.
   */
  async #mutate<T>(
    compute: (base: Circuit, now: number) => Step<T>,
    kind: 'outcomes' | 'probe' | ControlOp,
    onAttempt?: (attempt: Attempt) => void,
  ): Promise<T> {
    // A record just read carries the store's clock exactly; a cached one needs the estimate.
    let fresh = this.#rec === undefined;
    let rec = this.#rec ?? (await this.#read());
    // Learnt before computing, as after a conflict: outcomes waiting under a replaced closed generation move to it.
    if (fresh) this.#learn(rec);
    for (let attempt = 0; ; attempt++) {
      // Never behind the last write's time, unless that time is ahead of the store's clock (a clock that
      // stepped back, or a record written by hand): the store refuses writes from its future.
      const now = Math.max(fresh ? rec.now : this.#s.clock.now() + this.#offset, Math.min(rec.at, rec.now));
      const base = decodeCircuit(rec.circuit) ?? this.#absent(now);
      this.#scratch.reset();
      const snapshot = decodeTracker(rec.tracker);
      if (snapshot !== undefined) this.#scratch.restore(snapshot, now, identity);
      const step = compute(base, now);
      const tracker = step.tracker ? JSON.stringify(this.#scratch.toJSON(now, identity)) : rec.tracker;
      if (step.next === base && tracker === rec.tracker) {
        // Nothing to write, so no compare-and-set to tell of others' changes: a cached record older than the
        // re-read interval is read again first (an instance without a subscriber would never hear of them).
        if (!fresh && this.#s.clock.now() - this.#lastContact >= this.#resyncInterval) {
          rec = await this.#read();
          fresh = true;
          this.#learn(rec);
          continue;
        }
        this.#notify(kind, step.result, { version: rec.version, written: false, now, next: base });
        return step.result;
      }
      if (attempt >= MAX_ATTEMPTS) throw new ContentionError();
      const circuit = encodeCircuit(step.next);
      const writer = `${this.#id}.${++this.#writes}`;
      const write = { circuit, tracker, settings: this.#digest, writer, at: now, ttl: this.#ttl(step.next, now) };
      const expected = rec.version;
      onAttempt?.({ expected, writer });
      const result = await this.#guard(() => this.#store.compareAndSet(this.#name, expected, write));
      if (result.ok) {
        this.#contact(result.now);
        this.#learn({ version: result.version, now: result.now, ...write });
        this.#notify(kind, step.result, { version: result.version, written: true, now, next: step.next });
        return step.result;
      }
      rec = result.current;
      fresh = true;
      this.#contact(rec.now);
      this.#learn(rec);
    }
  }

  #notify(
    kind: 'outcomes' | 'probe' | ControlOp,
    result: unknown,
    commit: { version: string; written: boolean; now: number; next: Circuit },
  ): void {
    const observer = this.#observer;
    if (observer === undefined) return;
    if (kind === 'outcomes') observer({ kind, items: result as number[], ...commit });
    else if (kind === 'probe') observer({ kind, admit: (result as ProbeTicket).admit, ...commit });
    else observer({ kind: 'control', op: kind, ...commit });
  }

  /** How long the record must outlive its last write: past the open time and a probe lease. */
  #ttl(c: Circuit, now: number): number {
    // A manual state holds until someone changes it: the record must not expire under it.
    if (c.state === 'forced-open' || c.state === 'disabled') return 0;
    const lease = this.#s.maxProbeWait;
    // At least 1: 0 would mean "no expiry" (a stale open state written late must still expire).
    if (c.state === 'open') return Math.max(1, Math.ceil(c.openUntil - now + 2 * lease));
    return Math.ceil(2 * lease);
  }

  // ── reading and adopting the shared record ───────────────────────────────

  async #read(): Promise<SharedRecord> {
    const rec = await this.#guard(() => this.#store.read(this.#name));
    this.#contact(rec.now);
    return rec;
  }

  /** Reads the shared record in the background and adopts it. */
  #sync(): Promise<void> {
    this.#reading ??= this.#read().then(
      (rec) => {
        this.#reading = undefined;
        this.#learn(rec);
      },
      (error: unknown) => {
        this.#reading = undefined;
        this.#failed(error);
      },
    );
    return this.#reading;
  }

  #maybeResync(): void {
    if (this.#reading === undefined && this.#s.clock.now() - this.#lastContact >= this.#resyncInterval) this.#sync();
  }

  /** The store answered: measure the offset between its clock and ours. */
  #contact(storeNow: number): void {
    const local = this.#s.clock.now();
    this.#offset = storeNow - local;
    this.#lastContact = local;
  }

  /** Takes a record newer than the one known (messages and answers may cross) and mirrors it into the local circuit and tracker. */
  #learn(rec: SharedRecord): void {
    // An answer that arrives after the breaker left, or after a fault was declared (the fallback decides
    // until the store is read back), must not pull the shared state in.
    if (this.#left || this.#fault) return;
    const known = this.#rec;
    if (known !== undefined) {
      // Versions only grow; a missing record counts only if it was seen after what we know (flushed or expired).
      if (rec.version === '' ? rec.now <= known.now : !newerVersion(rec.version, known.version)) return;
    }
    // Whether the local generation is this instance's own, never a shared one: before its first record (a cold
    // start), or since the record went missing. Only then do its closed-state outcomes move to the shared one.
    const ownGeneration = known === undefined ? !this.#learnt : known.version === '';
    if (rec.version !== '') this.#learnt = true;
    this.#rec = rec;
    if (rec.settings !== '' && rec.settings !== this.#digest && !this.#warned.has(rec.settings)) {
      this.#warned.add(rec.settings);
      this.#host.log(
        'warn',
        'breaker.settingsMismatch',
        'instances sharing this breaker have different settings; each computes with its own',
        { ours: this.#digest, theirs: rec.settings },
        true,
      );
    }
    const local = this.#s.clock.now();
    const shared = decodeCircuit(rec.circuit) ?? this.#absent(local + this.#offset);
    this.#shared = shared;
    const tracker = decodeTracker(rec.tracker);
    this.#sharedFailures =
      modeOf(this.#s) !== 'consecutive' ? -1 : tracker?.kind === 'consecutive' ? tracker.failures : tracker === undefined ? 0 : -1;
    const host = this.#host;
    host.tracker.reset();
    if (tracker !== undefined) host.tracker.restore(tracker, local, (t) => t - this.#offset);
    const next = advanceAll(this.#toLocal(shared), local, this.#s);
    // A manual control made here and not yet written wins over any record that arrives before it lands.
    const op = this.#pendingControl;
    const adopted = op === undefined ? next : manual(next, op, host.tracker, local);
    const prev = host.circuit();
    if (ownGeneration && prev.state === 'closed' && adopted.state === 'closed' && prev.generation !== adopted.generation) {
      this.#alias(prev.generation, adopted.generation);
    } else if (adopted.generation !== this.#aliasTo || adopted.state !== 'closed') {
      // The closed circuit the alias led to is over: an outcome of the old generation is stale from now on.
      this.#aliasFrom = this.#aliasTo = -1;
    }
    host.adopt(adopted, this.#mine(rec.writer) ? 'local' : 'remote');
  }

  /** The shared circuit with its times moved from the store's clock to the local one. */
  #toLocal(c: Circuit): Circuit {
    const o = this.#offset;
    return {
      ...c,
      since: c.since - o,
      openUntil: c.openUntil === 0 ? 0 : c.openUntil - o,
      probeDeadline: c.probeDeadline === 0 ? 0 : c.probeDeadline - o,
    };
  }

  /** Consecutive mode, closed, nothing counted, nothing waiting: a success cannot change the shared record. */
  #quiet(): boolean {
    return (
      this.#sharedFailures === 0 &&
      this.#shared?.state === 'closed' &&
      this.#batch.length === 0 &&
      this.#flushing === undefined &&
      this.#host.circuit().generation === this.#shared.generation
    );
  }

  // ── faults ───────────────────────────────────────────────────────────────

  /** Runs a store operation under the store's timeout; a synchronous throw counts as a failure too. */
  #guard<T>(op: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StoreTimeoutError(`breakwater: the store did not answer within ${this.#timeout} ms`)),
        this.#timeout,
      );
      unref(timer);
      let pending: Promise<T>;
      try {
        pending = Promise.resolve(op());
      } catch (error) {
        clearTimeout(timer);
        reject(error);
        return;
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** The store failed: fall back once, report once, and hand waiting outcomes to the local circuit. */
  #failed(error: unknown, sent?: { readonly attempt: Attempt; readonly count: number }): void {
    const now = this.#s.clock.now();
    this.#retryAt = now + this.#retryDelay();
    const already = this.#fault;
    this.#fault = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // Outcomes handed back by a write that failed after the fault was declared still go to the local circuit.
    const items = this.#batch;
    this.#batch = [];
    const host = this.#host;
    const policy = this.#policy;
    for (let i = 0; i < items.length; i += ITEM) {
      const code = items[i] as number;
      const hint = items[i + 2] as number;
      // A granted probe's outcome that did not reach the store (or may have): its slot is released once the store
      // is back. One of the write that got no answer is written again only if that write certainly did not land.
      if ((code & PROBE_BIT) !== 0) {
        const inSent = sent !== undefined && i < sent.count;
        this.#orphan(items[i + 1] as number, inSent ? 'unless-landed' : 'always', sent?.attempt, code, hint);
      }
      // After leaving, only probes' outcomes are written, and the breaker settled them itself. On the way out
      // no fallback state is taken (the breaker is to run alone), so the outcomes settle here whatever the policy.
      if ((policy === 'local' || this.#leaving !== undefined) && !this.#left) {
        host.settleLocally((code & 3) as Outcome, (code & SLOW_BIT) !== 0, (code & PROBE_BIT) !== 0, items[i + 1] as number, hint);
      }
    }
    // A breaker that left reports nothing: it only still frees the probe slots it held.
    if (already || this.#left) return;
    this.#faultSince = now;
    // A breaker on its way out runs alone: no fallback state that nothing would lift.
    if (policy !== 'local' && this.#leaving === undefined) {
      this.#beforeFallback = host.circuit();
      host.adopt(policy === 'fail-open' ? disable(host.circuit(), now) : forceOpen(host.circuit(), now), 'local');
    }
    host.emit('storeError', { name: this.#s.name, error, fallback: policy });
    host.log(
      'error',
      'breaker.storeError',
      `the store failed; running on "${policy}" until it answers again`,
      { error, fallback: policy },
      true,
    );
  }

  /**
   * During a fault, calls retry the store at most once per retry delay; no timer waits for it, unless a probe
   * slot of the shared trial is to be freed (`#armRecovery`).
   */
  #tryRecover(evenEarly = false): void {
    const now = this.#s.clock.now();
    if (this.#reading !== undefined || (!evenEarly && now < this.#retryAt)) return;
    this.#retryAt = now + this.#retryDelay();
    this.#reading = this.#read().then(
      (rec) => {
        this.#reading = undefined;
        this.#fault = false;
        this.#beforeFallback = undefined;
        this.#clearRecoveryTimer();
        if (this.#left) {
          // Gone from the fleet, but still holding probe slots: free them, adopt nothing.
          this.#rec = rec;
          this.#releaseOrphans();
          return;
        }
        this.#rec = undefined; // adopt the shared record whatever version was known before
        this.#learn(rec);
        const downtime = this.#s.clock.now() - this.#faultSince;
        this.#host.emit('storeRecovered', { name: this.#s.name, downtime });
        this.#host.log('info', 'breaker.storeRecovered', 'the store answers again; shared state read back', { downtime });
        this.#releaseOrphans();
      },
      () => {
        this.#reading = undefined;
        this.#armRecovery();
      },
    );
  }

  // ── probe slots ──────────────────────────────────────────────────────────

  /** Whether a probe of `generation` held a slot the store granted (and takes it). */
  #takeGrant(generation: number): boolean {
    if (this.#granted === 0 || this.#grantedGeneration !== generation) return false;
    this.#granted--;
    return true;
  }

  /** Remembers a slot of the shared trial this instance may hold; during a fault, reads the store back on time. */
  #orphan(generation: number, rule: Orphan['rule'], attempt: Attempt | undefined, code: number, hint: number | undefined): void {
    const until = this.#s.clock.now() + this.#s.maxProbeWait;
    this.#orphans.push({ generation, rule, attempt, code, hint: hint ?? NO_HINT, until });
    this.#armRecovery();
  }

  /** A probe admitted locally while its slot request went unanswered: its outcome settles that slot. */
  #claimOrphan(generation: number, code: number, hint: number | undefined): void {
    const orphan = this.#orphans.find((o) => o.rule === 'if-landed' && o.generation === generation && (o.code & 3) === NEUTRAL);
    if (orphan === undefined) return;
    orphan.code = code;
    orphan.hint = hint ?? NO_HINT;
  }

  /**
   * The store is back (the record just read is `#rec`): writes the outcomes of orphaned slots whose trial may
   * still be on, each as its rule says (the rules ignore those of a trial that ended).
   */
  #releaseOrphans(): void {
    const now = this.#s.clock.now();
    const live = this.#orphans.filter((o) => o.until > now);
    this.#orphans = [];
    const rec = this.#rec;
    if (this.#fault || rec === undefined) return;
    const items: number[] = [];
    for (const o of live) {
      const landed = o.attempt !== undefined && rec.writer === o.attempt.writer;
      const notLanded = o.attempt !== undefined && rec.version === o.attempt.expected;
      if (o.rule === 'always' || (o.rule === 'if-landed' && landed) || (o.rule === 'unless-landed' && notLanded)) {
        items.push(o.code, o.generation, o.hint);
      }
    }
    if (items.length > 0) this.#writeFirst(items);
  }

  /** Makes the closed-state outcomes waiting or being written count for nothing (`close()`, `reset()`). */
  #forgetClosedOutcomes(): void {
    // Neutral: counted nowhere, and a write under way that is computed again leaves them out.
    this.#closedOutcomes((items, i) => {
      items[i] = NEUTRAL;
    });
  }

  /** Visits each closed-state (non-probe) outcome waiting or being written: its array, and its index there. */
  #closedOutcomes(visit: (items: number[], i: number) => void): void {
    for (const items of [this.#batch, this.#writing]) {
      if (items === undefined) continue;
      for (let i = 0; i < items.length; i += ITEM) if (((items[i] as number) & PROBE_BIT) === 0) visit(items, i);
    }
  }

  /** Whether a record's writer tag is one of this instance's writes. */
  #mine(writer: string): boolean {
    return writer.length > this.#id.length && writer.startsWith(this.#id) && writer[this.#id.length] === '.';
  }

  /**
   * The shared record replaced the local closed circuit, of a generation of this instance's own, with a closed
   * one: outcomes of calls admitted under the old generation (waiting, being written, or still running) count
   * under the new one.
   */
  #alias(from: number, to: number): void {
    this.#aliasFrom = from;
    this.#aliasTo = to;
    this.#closedOutcomes((items, i) => {
      if (items[i + 1] === from) items[i + 1] = to;
    });
  }

  /** How long a fault waits between tries of the store. */
  #retryDelay(): number {
    return Math.max(this.#syncInterval, 1_000);
  }

  #clearRecoveryTimer(): void {
    if (this.#recoveryTimer !== undefined) clearTimeout(this.#recoveryTimer);
    this.#recoveryTimer = undefined;
  }

  /** Writes outcomes now, ahead of the batch. */
  #writeFirst(items: number[]): void {
    this.#batch = items.concat(this.#batch);
    this.#startFlush();
  }

  /** A fault with orphaned slots: one unref'd timer to read the store back when a retry is allowed. */
  #armRecovery(later = false): void {
    if (!this.#fault || this.#recoveryTimer !== undefined) return;
    const now = this.#s.clock.now();
    this.#orphans = this.#orphans.filter((o) => o.until > now);
    if (this.#orphans.length === 0) return;
    this.#recoveryTimer = setTimeout(
      () => {
        this.#recoveryTimer = undefined;
        if (!this.#fault) return;
        // A read from before the fault still under way (a slow store): look again after a retry delay.
        if (this.#reading !== undefined) this.#armRecovery(true);
        // Timers and the breaker's clock may disagree by a fraction of a millisecond: early means wait again.
        else if (this.#s.clock.now() < this.#retryAt) this.#armRecovery();
        else this.#tryRecover();
      },
      later ? this.#retryDelay() : Math.max(0, this.#retryAt - now),
    );
    unref(this.#recoveryTimer);
  }

  /**
   * The circuit a missing record (never written, expired or deleted) stands for: closed, in the generation of the
   * local circuit if that is closed (calls admitted before the record went missing still count), else the next one.
   */
  #absent(now: number): Circuit {
    const local = this.#host.circuit();
    const generation = local.state === 'closed' ? local.generation : local.generation + 1;
    const c = initialCircuit(now);
    return generation === c.generation ? c : { ...c, generation };
  }
}
