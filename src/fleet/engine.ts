/**
 * Fleet mode: keeps one breaker's local circuit in step with the shared record in a `BreakerStore`.
 *
 * The store only reads and compare-and-sets; every next state is computed with the same pure rules as a lone
 * breaker (`core/rules.ts`), at the store's clock (`compare-and-set.ts`). Closed-state outcomes are batched
 * (`batch.ts`), probes are admitted through the store, and a store fault never reaches a caller: the breaker
 * falls back per `onStoreError` until the store answers again (`recovery.ts`). Where the breaker is in its life
 * (synced, fault, leaving, left) is one value, `#phase`, moved only by `nextPhase` (`phase.ts`).
 */

import type { ControlOp, FleetHost, FleetLink, ProbeTicket } from '../core/fleet-link.js';
import {
  admission,
  admitProbe,
  advanceAll,
  disable,
  FAILURE,
  forceOpen,
  manual,
  NEUTRAL,
  type Outcome,
  retryAfter,
  SUCCESS,
} from '../core/rules.js';
import type { StoreErrorPolicy } from '../core/types.js';
import type { Settings } from '../options/breaker-options.js';
import { createTracker } from '../trackers/create.js';
import { applyOutcomes, Batch, type Settled } from './batch.js';
import { settingsDigest } from './codec.js';
import { type Attempt, type Compute, ContentionError, compareAndSet, type Writer } from './compare-and-set.js';
import type { SharedRecord, StoreOperations } from './contract.js';
import { Mirror } from './mirror.js';
import { checkFleetOptions } from './options.js';
import { following, nextPhase, outageOf, type Phase, type PhaseEvent, SYNCED, storeDown } from './phase.js';
import { type Orphan, ProbeSlots, Retry, unknownProbe } from './recovery.js';
import { StoreLink } from './store-link.js';

export type { FleetHost } from '../core/fleet-link.js';

/** With a subscriber, a safety-net re-read at most this often (ms): changes arrive by message. */
const RESYNC_WITH_SUBSCRIBER = 5_000;

/**
 * The fleet engine: started by a store's `join` (see `SharedStore`), it runs beside one breaker
 * and keeps its circuit in step with the shared record.
 */
export class FleetSync implements FleetLink {
  readonly #s: Settings;
  readonly #host: FleetHost;
  readonly #policy: StoreErrorPolicy;
  readonly #link: StoreLink;
  readonly #mirror: Mirror;
  readonly #batch: Batch;
  readonly #slots = new ProbeSlots();
  readonly #retry: Retry;
  /** What the compare-and-set loop needs of this engine. */
  readonly #writer: Writer;
  #phase: Phase = SYNCED;
  #reading: Promise<void> | undefined;
  #flushing: Promise<void> | undefined;
  #admitting = 0;
  /** The manual control being written, re-applied over records that arrive before it lands. */
  #pendingControl: ControlOp | undefined;
  #controls = 0;
  #unsubscribe: (() => void) | undefined;

  /** @throws {TypeError | RangeError} when a fleet option is invalid (the breaker's constructor calls this). */
  constructor(s: Settings, store: StoreOperations, host: FleetHost) {
    if (s.name === undefined) {
      throw new TypeError('breakwater: option "name" is required with a "store": every instance with the same name shares one breaker');
    }
    const checked = checkFleetOptions(s, store);
    this.#policy = checked.policy;
    this.#s = s;
    this.#host = host;
    const name = s.name as string;
    const digest = settingsDigest(s);
    this.#link = new StoreLink(store, name, s.clock);
    this.#batch = new Batch(checked.syncInterval, () => this.#startFlush());
    const scratch = createTracker(s);
    this.#mirror = new Mirror(s, host, this.#link, this.#batch, digest, scratch);
    this.#retry = new Retry(Math.max(checked.syncInterval, 1_000));
    let subscribed = false;
    if (store.subscribe !== undefined) {
      try {
        this.#unsubscribe = store.subscribe(name, (record) => {
          // During a fault, a message says the store answers again: read it back now rather than at the next call.
          if (storeDown(this.#phase)) this.#tryRecover(true);
          else this.#learn(record);
        });
        subscribed = true;
      } catch (error) {
        // A store fault never reaches a caller: without a subscription, the breaker re-reads instead.
        host.log('warn', 'breaker.storeError', 'the store could not subscribe the breaker; it re-reads instead', { error }, true);
      }
    }
    const mirror = this.#mirror;
    this.#writer = {
      s,
      link: this.#link,
      scratch,
      digest,
      resyncInterval: subscribed ? Math.max(checked.syncInterval, RESYNC_WITH_SUBSCRIBER) : checked.syncInterval,
      known: () => mirror.rec,
      taken: () => mirror.taken,
      learn: (rec, sent) => this.#learn(rec, sent),
      absent: (now) => mirror.absent(now),
    };
    this.#sync();
  }

  get active(): boolean {
    return following(this.#phase);
  }

  /**
   * Stops following the store: unsubscribes, writes the outcomes still waiting, and from then on
   * leaves every outcome, probe and control to the breaker's local circuit, except that the probe slots of the
   * shared trial it holds are still freed (their outcomes written, once the store answers). Never rejects.
   */
  leave(): Promise<void> {
    const p = this.#phase;
    if (p.name === 'leaving' || p.name === 'left') return p.done;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    try {
      if (typeof unsubscribe === 'function') unsubscribe();
    } catch (error) {
      // The breaker leaves all the same: a store that cannot unsubscribe it must not keep it.
      this.#host.log('warn', 'breaker.storeError', 'the store could not unsubscribe the breaker', { error }, true);
    }
    // The answers to this last flush still reach the local circuit; after it, nothing does.
    const done = this.flush().then(() => {
      const leaving = this.#phase;
      this.#move({ type: 'flushed' });
      // Alone from now on: a fallback state (`fail-open`, `fail-closed`) would never be lifted.
      const replaced = outageOf(leaving)?.replaced;
      if (replaced !== undefined) this.#host.adopt(replaced, 'local');
    });
    this.#move({ type: 'leave', done });
    return done;
  }

  /** Outcomes, flushes and probe admissions not yet answered by the store. */
  get pending(): boolean {
    return this.#batch.waiting.length > 0 || this.#flushing !== undefined || this.#reading !== undefined || this.#admitting > 0;
  }

  /**
   * Takes the outcome of a call, with a failure's `retryAfterHint`. Returns `false` while the store
   * is unreachable and after `leave()`: the breaker then applies it to its local circuit itself (a probe the
   * store granted is still written, to free its slot). A probe admitted on the local circuit during a fault and
   * settled after it is dropped (`true`): no slot of the shared trial is its.
   */
  record(outcome: Outcome, slow: boolean, probe: boolean, generation: number, hint?: number): boolean {
    if (!probe) generation = this.#mirror.generationOf(generation);
    const granted = probe && this.#slots.take(generation);
    const p = this.#phase;
    if (p.name === 'left') {
      // A probe the store granted before the breaker left still frees its slot fleet-wide (and settles here too).
      if (granted && p.storeDown) this.#orphan('always', undefined, { outcome, slow, probe, generation, hint });
      else if (granted) this.#writeFirst([{ outcome, slow, probe, generation, hint }]);
      return false;
    }
    if (storeDown(p)) {
      if (granted) this.#orphan('always', undefined, { outcome, slow, probe, generation, hint });
      else if (probe) this.#slots.claim({ outcome, slow, probe, generation, hint });
      this.#tryRecover();
      return false;
    }
    // Admitted on the local circuit during a fault: no slot of the shared trial is its to free.
    if (probe && !granted) return true;
    // A neutral closed-state call changes nothing; neither does a success while no failure is counted.
    if (!probe && (outcome === NEUTRAL || (outcome === SUCCESS && this.#quiet()))) {
      this.#maybeResync();
      return true;
    }
    const batch = this.#batch;
    batch.waiting.push({ outcome, slow, probe, generation, hint });
    // A failure (or a slow call) may open the circuit by the rules: here at once, not one store round trip later.
    if (!probe && (outcome === FAILURE || slow)) this.#mirror.foresee();
    // Failures and probe outcomes go at once: they may open or close the circuit for everyone.
    if (probe || outcome === FAILURE || batch.full) this.#startFlush();
    else if (this.#flushing === undefined) batch.arm();
    return true;
  }

  /** A rejection happened locally: the cached open-until may be stale, or the store may be back. */
  touch(): void {
    const p = this.#phase;
    if (p.name === 'left') return;
    if (storeDown(p)) this.#tryRecover();
    else this.#maybeResync();
  }

  /**
   * Asks the store for a probe slot (the circuit is half-open locally; call only while `active`).
   * At most `halfOpenProbes` calls fleet-wide hold one; the first starts the lease that `maxProbeWait` bounds.
   */
  async admitProbe(): Promise<ProbeTicket | undefined> {
    const s = this.#s;
    if (this.#admitting + this.#host.circuit().probes >= s.halfOpenProbes) {
      return { admit: 'reject', generation: this.#host.circuit().generation };
    }
    this.#admitting++;
    // The trial a slot was asked in, and the write asking: if the store never answers, it may still land.
    let asked: number | undefined;
    let attempt: Attempt | undefined;
    try {
      const ticket = await this.#compareAndSet<ProbeTicket>(
        (base, now) => {
          const c = advanceAll(base, now, s);
          const admit = admission(c, s);
          if (admit !== 'probe') {
            return { next: c, tracker: false, result: { admit, generation: c.generation, retryAfter: retryAfter(c, now, s) } };
          }
          const next = admitProbe(c, now, s);
          asked = next.generation;
          return { next, tracker: false, result: { admit, generation: next.generation } };
        },
        (sent) => {
          attempt = sent;
        },
      );
      if (ticket.admit === 'probe') this.#slots.grant(ticket.generation);
      return ticket;
    } catch (error) {
      // Too many instances wrote at once: this caller is rejected fast, like any caller that loses the slot.
      if (error instanceof ContentionError) return { admit: 'reject', generation: this.#host.circuit().generation };
      this.#failed(error);
      if (asked !== undefined && attempt !== undefined) this.#orphan('if-landed', attempt, unknownProbe(asked));
      return undefined;
    } finally {
      this.#admitting--;
    }
  }

  /** Applies a manual control to the shared circuit (the breaker already applied it locally). */
  control(op: ControlOp): void {
    // A control made during a fault is the state to keep, even if the breaker leaves before the store is back.
    this.#move({ type: 'controlled' });
    if (!following(this.#phase)) return;
    // `close()` and `reset()` forget the counts: outcomes settled before them and not yet written go too.
    const forgets = op === 'close' || op === 'reset';
    if (forgets) this.#batch.forgetClosed();
    const token = ++this.#controls;
    this.#pendingControl = op;
    const settled = () => {
      if (this.#controls === token) this.#pendingControl = undefined;
    };
    // close and reset forget the counts: the shared tracker is written too.
    this.#compareAndSet((base, now, tracker) => ({
      next: manual(advanceAll(base, now, this.#s), op, tracker, now),
      tracker: forgets,
      result: undefined,
    })).then(settled, (error: unknown) => {
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
    for (let round = 0; round < 3 && this.#batch.waiting.length > 0; round++) {
      this.#startFlush();
      await this.#flushing;
    }
    await this.#flushing;
  }

  /** Moves the lifecycle on (`phase.ts` holds every transition). */
  #move(event: PhaseEvent): Phase {
    const before = this.#phase;
    this.#phase = nextPhase(before, event);
    return before;
  }

  #compareAndSet<T>(compute: Compute<T>, onAttempt?: (attempt: Attempt) => void): Promise<T> {
    return compareAndSet(this.#writer, compute, onAttempt);
  }

  // ── flushing ─────────────────────────────────────────────────────────────

  /** The waiting outcomes are due: written now, or right after the write under way. */
  #startFlush(): void {
    const batch = this.#batch;
    batch.due = true;
    batch.disarm();
    // The drain awaits the store before it returns, so it clears `#flushing` only after this assignment.
    if (this.#flushing === undefined && batch.waiting.length > 0 && !storeDown(this.#phase)) this.#flushing = this.#drain();
  }

  /**
   * Writes batches until none is due. The last check of the batch and the clearing of `#flushing`
   * run in one synchronous step: an outcome recorded in between would find `#flushing` still set,
   * start no flush and arm no timer, and wait for the next outcome (a fast caller lands there).
   */
  async #drain(): Promise<void> {
    const batch = this.#batch;
    try {
      while (batch.waiting.length > 0 && !storeDown(this.#phase)) {
        if (!batch.due) {
          // Only successes arrived meanwhile: they wait for the timer (or the next failure).
          batch.arm();
          return;
        }
        const items = batch.take();
        let attempt: Attempt | undefined;
        try {
          await this.#compareAndSet(
            (base, now, tracker) => ({ ...applyOutcomes(base, tracker, items, now, this.#s), result: undefined }),
            (sent) => {
              attempt = sent;
              batch.writingAs = sent.writer;
            },
          );
        } catch (error) {
          // Keep the outcomes, oldest first: for the next flush, or for the local circuit.
          batch.putFirst(items);
          if (error instanceof ContentionError) {
            // Many instances wrote at once: try again at the next flush.
            batch.arm();
            return;
          }
          this.#failed(error, attempt === undefined ? undefined : { attempt, count: items.length });
        } finally {
          batch.writing = batch.writingAs = undefined;
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  /** Writes outcomes now, ahead of the batch. */
  #writeFirst(items: Settled[]): void {
    this.#batch.putFirst(items);
    this.#startFlush();
  }

  // ── reading and adopting the shared record ───────────────────────────────

  /** Reads the shared record in the background and adopts it. */
  #sync(): Promise<void> {
    if (this.#reading !== undefined) return this.#reading;
    const sent = this.#mirror.taken;
    this.#reading = this.#link.read().then(
      (rec) => {
        this.#reading = undefined;
        this.#learn(rec, sent);
      },
      (error: unknown) => {
        this.#reading = undefined;
        this.#failed(error);
      },
    );
    return this.#reading;
  }

  #maybeResync(): void {
    if (this.#reading === undefined && this.#link.silentFor(this.#writer.resyncInterval)) this.#sync();
  }

  /**
   * Takes a record into the local circuit (`sent`: when the request it answers was sent; none for a message).
   * A message of the same version as the record held but by another writer reads the store back.
   */
  #learn(rec: SharedRecord, sent?: number): void {
    // An answer that arrives after the breaker left, or after a fault was declared (the fallback decides
    // until the store is read back), must not pull the shared state in.
    if (following(this.#phase) && this.#mirror.learn(rec, this.#pendingControl, sent)) this.#sync();
  }

  /** Consecutive mode, closed, nothing counted, nothing waiting: a success cannot change the shared record. */
  #quiet(): boolean {
    return this.#batch.waiting.length === 0 && this.#flushing === undefined && this.#mirror.quiet();
  }

  // ── faults ───────────────────────────────────────────────────────────────

  /** The store failed: fall back once, report once, and hand waiting outcomes to the local circuit. */
  #failed(error: unknown, sent?: { readonly attempt: Attempt; readonly count: number }): void {
    const now = this.#s.clock.now();
    const host = this.#host;
    const policy = this.#policy;
    this.#retry.at = now + this.#retry.delay;
    // A fallback state replaces the circuit only when a synced breaker meets its first fault: a breaker on its
    // way out runs alone, with no fallback state that nothing would lift.
    const fallback = policy !== 'local' && this.#phase.name === 'synced';
    const before = this.#move({ type: 'storeFailed', at: now, replaced: fallback ? host.circuit() : undefined });
    const departing = before.name === 'leaving' || before.name === 'left';
    const batch = this.#batch;
    batch.disarm();
    // Outcomes handed back by a write that failed after the fault was declared still go to the local circuit.
    const items = batch.waiting;
    batch.waiting = [];
    items.forEach((item, i) => {
      // A granted probe's outcome that did not reach the store (or may have): its slot is released once the store
      // is back. One of the write that got no answer is written again only if that write certainly did not land.
      if (item.probe) this.#orphan(sent !== undefined && i < sent.count ? 'unless-landed' : 'always', sent?.attempt, item);
      // After leaving, only probes' outcomes are written, and the breaker settled them itself. On the way out
      // no fallback state is taken (the breaker is to run alone), so the outcomes settle here whatever the policy.
      if ((policy === 'local' || departing) && before.name !== 'left') {
        host.settleLocally(item.outcome, item.slow, item.probe, item.generation, item.hint);
      }
    });
    // Reported once per outage; a breaker that left reports nothing: it only still frees the probe slots it held.
    if (storeDown(before) || before.name === 'left') return;
    if (fallback) host.adopt(policy === 'fail-open' ? disable(host.circuit(), now) : forceOpen(host.circuit(), now), 'local');
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
   * During a fault, calls retry the store at most once per retry delay (`evenEarly`: a message said it is back);
   * no timer waits for it, unless a probe slot of the shared trial is to be freed (`#armRecovery`).
   */
  #tryRecover(evenEarly = false): void {
    if (this.#reading !== undefined || !this.#retry.allow(this.#s.clock.now(), evenEarly)) return;
    this.#reading = this.#link.read().then(
      (rec) => {
        this.#reading = undefined;
        const before = this.#move({ type: 'storeAnswered' });
        this.#retry.disarm();
        if (before.name === 'left') {
          // Gone from the fleet, but still holding probe slots: free them, adopt nothing.
          this.#mirror.rec = rec;
          this.#releaseOrphans();
          return;
        }
        this.#mirror.rec = undefined; // adopt the shared record whatever version was known before
        this.#learn(rec);
        const downtime = this.#s.clock.now() - (outageOf(before)?.since ?? 0);
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

  /** Remembers a slot of the shared trial this instance may hold; during a fault, reads the store back on time. */
  #orphan(rule: Orphan['rule'], attempt: Attempt | undefined, outcome: Settled): void {
    this.#slots.orphan(rule, attempt, outcome, this.#s.clock.now() + this.#s.maxProbeWait);
    this.#armRecovery();
  }

  /** The store is back (its record is the mirror's): writes the outcomes of the orphaned slots that are due. */
  #releaseOrphans(): void {
    const rec = this.#mirror.rec;
    const items = rec === undefined ? [] : this.#slots.release(rec, this.#s.clock.now());
    if (items.length > 0 && !storeDown(this.#phase)) this.#writeFirst(items);
  }

  /** A fault with orphaned slots: one unref'd timer to read the store back when a retry is allowed. */
  #armRecovery(later = false): void {
    const retry = this.#retry;
    const now = this.#s.clock.now();
    if (!storeDown(this.#phase) || retry.armed || !this.#slots.prune(now)) return;
    retry.arm(now, later, () => {
      if (!storeDown(this.#phase)) return;
      // A read from before the fault still under way (a slow store): look again after a retry delay.
      if (this.#reading !== undefined) this.#armRecovery(true);
      // Timers and the breaker's clock may disagree by a fraction of a millisecond: early means wait again.
      else if (this.#s.clock.now() < retry.at) this.#armRecovery();
      else this.#tryRecover();
    });
  }
}
