/**
 * The compare-and-set loop: every change to the shared record is computed here, with the pure rules, from the
 * record as the store holds it, at the store's clock, and written only if nobody wrote in between. On a conflict
 * the store returns the winner's record and the step is computed again from it.
 */

import type { Circuit } from '../core/rules.js';
import type { Settings } from '../options/breaker-options.js';
import type { FailureTracker } from '../trackers/tracker.js';
import { decodeCircuit, decodeTracker, encodeCircuit } from './codec.js';
import type { RecordIdentity, SharedRecord } from './contract.js';
import type { StoreLink } from './store-link.js';

/**
 * Compare-and-set attempts of one step (a batch, a probe request, a control) before it gives up: each failed
 * attempt returns the winner's record; a re-read of a stale record takes one too.
 */
const MAX_ATTEMPTS = 32;

/** Too many instances wrote at once: the step gave up (the caller is rejected fast, or the batch waits). */
export class ContentionError extends Error {}

/** A compare-and-set this instance sent: the record it replaced, and the writer tag that marks it in the record. */
export interface Attempt {
  readonly expected: RecordIdentity;
  readonly writer: string;
}

/** What a step computed from the shared record. */
interface Step<T> {
  readonly next: Circuit;
  /** Whether the tracker may have changed (it is serialised and written then). */
  readonly tracker: boolean;
  readonly result: T;
}

/**
 * A step's inputs: `base` is the shared circuit, `now` the store's time; `tracker` holds the shared tracker and
 * takes the step's changes.
 */
export type Compute<T> = (base: Circuit, now: number, tracker: FailureTracker) => Step<T>;

/** What the loop needs of the engine. */
export interface Writer {
  readonly s: Settings;
  readonly link: StoreLink;
  /** Scratch tracker the shared tracker is loaded into to compute a step. */
  readonly scratch: FailureTracker;
  /** The settings digest written with every record. */
  readonly digest: string;
  /** With nothing to write, a cached record at least this old (ms) is read again first. */
  readonly resyncInterval: number;
  /** The last shared record learnt, if any. */
  known(): SharedRecord | undefined;
  /** How many records were taken so far (see `Mirror.taken`). */
  taken(): number;
  /** Takes a record the store answered with, to a request sent when `sent` records were taken. */
  learn(rec: SharedRecord, sent: number): void;
  /** The circuit a missing record stands for. */
  absent(now: number): Circuit;
}

const identity = (t: number) => t;

/**
 * The store time a step from `rec` is computed at: the record's own time when just read (exact), else the
 * estimate. Never behind the last write's time, unless that time is ahead of the store's clock (a clock that
 * stepped back, or a record written by hand): the store refuses writes from its future.
 */
export function stepTime(rec: SharedRecord, fresh: boolean, link: StoreLink): number {
  return Math.max(fresh ? rec.now : link.storeNow(), Math.min(rec.at, rec.now));
}

/** The shared circuit of `rec` at store time `now` (`absent`: the circuit of no record); its tracker is loaded into `scratch`. */
export function loadShared(scratch: FailureTracker, absent: (now: number) => Circuit, rec: SharedRecord, now: number): Circuit {
  scratch.reset();
  const snapshot = decodeTracker(rec.tracker);
  if (snapshot !== undefined) scratch.restore(snapshot, now, identity);
  return decodeCircuit(rec.circuit) ?? absent(now);
}

/** Computes a step from the shared record and writes it if nobody wrote in between; returns the step's result. */
export async function compareAndSet<T>(w: Writer, compute: Compute<T>, onAttempt?: (attempt: Attempt) => void): Promise<T> {
  const { link, scratch } = w;
  // A record just read carries the store's clock exactly; a cached one needs the estimate.
  const known = w.known();
  let fresh = known === undefined;
  let sent = w.taken();
  let rec = known ?? (await link.read());
  // Learnt before computing, as after a conflict: outcomes waiting under a replaced closed generation move to it.
  if (fresh) w.learn(rec, sent);
  for (let attempt = 0; ; attempt++) {
    const now = stepTime(rec, fresh, link);
    const base = loadShared(scratch, w.absent, rec, now);
    const step = compute(base, now, scratch);
    const tracker = step.tracker ? JSON.stringify(scratch.toJSON(now, identity)) : rec.tracker;
    if (step.next === base && tracker === rec.tracker) {
      // Nothing to write, so no compare-and-set to tell of others' changes: a cached record older than the
      // re-read interval is read again first (an instance without a subscriber would never hear of them).
      if (!fresh && link.silentFor(w.resyncInterval)) {
        sent = w.taken();
        rec = await link.read();
        fresh = true;
        w.learn(rec, sent);
        continue;
      }
      return step.result;
    }
    if (attempt >= MAX_ATTEMPTS) throw new ContentionError();
    const writer = link.nextWriter();
    const write = { circuit: encodeCircuit(step.next), tracker, settings: w.digest, writer, at: now, ttl: ttl(step.next, now, w.s) };
    // The record replaced, by its identity: the same version by another writer is another record (a lost write's
    // number reused after a failover), and the write computed from this one must not replace it.
    const expected = { version: rec.version, writer: rec.writer };
    onAttempt?.({ expected, writer });
    sent = w.taken();
    const result = await link.guard(() => link.store.compareAndSet(link.name, expected, write));
    if (result.ok) {
      link.contact(result.now);
      w.learn({ version: result.version, now: result.now, ...write }, sent);
      return step.result;
    }
    rec = result.current;
    fresh = true;
    link.contact(rec.now);
    w.learn(rec, sent);
  }
}

/** How long the record must outlive its last write: past the open time and a probe lease. */
function ttl(c: Circuit, now: number, s: Settings): number {
  // A manual state holds until someone changes it: the record must not expire under it.
  if (c.state === 'forced-open' || c.state === 'disabled') return 0;
  const lease = s.maxProbeWait;
  // At least 1: 0 would mean "no expiry" (a stale open state written late must still expire).
  if (c.state === 'open') return Math.max(1, Math.ceil(c.openUntil - now + 2 * lease));
  return Math.ceil(2 * lease);
}
