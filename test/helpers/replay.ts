// Judges an instance's writes by the rules alone: each write that landed must be the pure rules applied to the
// record it replaced, at the time it was computed, with a run of the outcomes the test handed to that instance,
// in the order it handed them; outcomes left out of every write must have changed nothing. The store wrapper
// (`recording-store.ts`) gives the writes; the test keeps the outcomes it handed over.

import {
  admission,
  admitProbe,
  advanceAll,
  type Circuit,
  initialCircuit,
  type ManualOp,
  manual,
  NEUTRAL,
  type Outcome,
  SUCCESS,
  settle,
} from '../../src/core/rules.js';
import { decodeCircuit, decodeTracker } from '../../src/fleet/codec.js';
import type { Settings } from '../../src/options/breaker-options.js';
import { createTracker } from '../../src/trackers/create.js';
import type { SentWrite } from './recording-store.js';

/** An outcome a test handed to an instance. */
export interface Handed {
  readonly outcome: Outcome;
  readonly slow: boolean;
  readonly probe: boolean;
  readonly generation: number;
  readonly hint: number | undefined;
  /** The shared closed generation when the call was made (-1: not closed, -2: no record). */
  readonly under: number;
  /**
   * Made under the instance's own cold-start generation: the engine may move it to the shared closed generation it
   * learns first (`Mirror`'s alias), so it may count under another closed generation.
   */
  readonly own: boolean;
  /** The test's event count once it was handed (a write sent at a lower count cannot hold it). */
  readonly seq: number;
  /** From this count on, no write holds it (it went to the local circuit instead). */
  readonly until?: number | undefined;
}

const identity = (t: number) => t;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

interface State {
  c: Circuit;
  tracker: string;
  touched: boolean;
}

export interface Replay {
  readonly s: Settings;
  /** Whether a write may be a manual control. */
  readonly controls?: boolean;
  /** Whether a closed-state success may be left out even where it would count (consecutive mode skips "quiet" ones). */
  readonly quietSuccesses: boolean;
}

/** The record a write replaced, as the engine read it: a missing one stands for a fresh closed circuit. */
function base(w: SentWrite): Circuit {
  return (w.replaced === undefined ? undefined : decodeCircuit(w.replaced.circuit)) ?? initialCircuit(w.write.at);
}

/**
 * The circuits a write may have been computed from: the record it replaced, or for a missing record (a lost key) a
 * fresh closed circuit in the generation of the writer's local circuit, or the next one (`Mirror.absent`).
 */
function bases(w: SentWrite): Circuit[] {
  if (w.replaced !== undefined) return [base(w)];
  const g = w.circuit?.generation ?? 0;
  return [g, g - 1].filter((x) => x >= 0).map((generation) => ({ ...initialCircuit(w.write.at), generation }));
}

function load(r: Replay, raw: string, now: number) {
  const t = createTracker(r.s);
  const snapshot = decodeTracker(raw);
  if (snapshot !== undefined) t.restore(snapshot, now, identity);
  return t;
}

/** Whether an outcome can have changed nothing at `c` (then a write may leave it out). */
function inert(r: Replay, h: Handed, c: Circuit): boolean {
  if (h.probe) return !(c.state === 'half-open' && c.probes > 0 && c.generation === h.generation);
  if (h.outcome === NEUTRAL) return true;
  if (h.outcome === SUCCESS && r.quietSuccesses) return true;
  return !(c.state === 'closed' && (c.generation === h.generation || c.generation === h.under));
}

/** The generations an outcome may be settled under at `c`. */
function generations(h: Handed, c: Circuit): number[] {
  if (h.probe || c.state !== 'closed') return [h.generation];
  // Admitted under this closed generation (by the instance's view or the store's): it must count.
  if (c.generation === h.generation || c.generation === h.under) return [c.generation];
  return h.own ? [h.generation, c.generation] : [h.generation];
}

/** A write that carries no outcome: a probe slot, a manual control, or only time's transitions. */
function withoutOutcomes(r: Replay, w: SentWrite, from = base(w)): boolean {
  const now = w.write.at;
  const b = advanceAll(from, now, r.s);
  const prevTracker = w.replaced?.tracker ?? '';
  if (w.write.tracker === prevTracker) {
    if (same(w.circuit, b)) return true;
    if (admission(b, r.s) === 'probe' && same(w.circuit, admitProbe(b, now, r.s))) return true;
  }
  if (!r.controls) return false;
  for (const op of ['forceOpen', 'disable', 'close', 'reset'] as ManualOp[]) {
    const t = load(r, prevTracker, now);
    const next = manual(b, op, t, now);
    const tracker = op === 'close' || op === 'reset' ? JSON.stringify(t.toJSON(now, identity)) : prevTracker;
    if (same(w.circuit, next) && w.write.tracker === tracker) return true;
  }
  return false;
}

/** The states reachable from `states` by settling `h` (both ways where its generation may have been moved). */
function step(r: Replay, states: State[], h: Handed, now: number): State[] {
  const out = new Map<string, State>();
  for (const st of states) {
    const touched = st.touched || st.c.state === 'closed';
    for (const generation of generations(h, st.c)) {
      // Settling changes nothing but `touched` when the outcome does not apply (the tracker need not be loaded).
      const applies = h.probe
        ? st.c.state === 'half-open' && st.c.probes > 0 && generation === st.c.generation
        : st.c.state === 'closed' && h.outcome !== NEUTRAL && generation === st.c.generation;
      if (!applies) {
        const next = { c: st.c, tracker: st.tracker, touched };
        out.set(JSON.stringify(next), next);
        continue;
      }
      const t = load(r, st.tracker, now);
      const c = settle(st.c, t, h.outcome, h.slow, h.probe, generation, now, r.s, h.hint);
      const next = { c, tracker: JSON.stringify(t.toJSON(now, identity)), touched };
      out.set(JSON.stringify(next), next);
    }
  }
  return [...out.values()];
}

/** A record the store held: after a write, or before any (`version` ''). */
export interface Held {
  readonly version: string;
  readonly circuit: Circuit;
  readonly tracker: string;
  readonly at: number;
}

/** Whether settling the run `items` at a record the store held changes nothing (a step that writes nothing). */
function changesNothing(r: Replay, items: readonly Handed[], at: Held): boolean {
  const now = at.at;
  if (advanceAll(at.circuit, now, r.s) !== at.circuit) return false;
  let states: State[] = [{ c: at.circuit, tracker: JSON.stringify(load(r, at.tracker, now).toJSON(now, identity)), touched: false }];
  for (const h of items) states = step(r, states, h, now);
  return states.some((st) => st.c === at.circuit && (!st.touched || st.tracker === at.tracker));
}

/**
 * Explains the landed writes of one instance (in the order they landed) by the outcomes handed to it (in order).
 * Outcomes no write holds must have changed nothing: one by one where the instance wrote next (or at the end), or
 * as a run that changed nothing at a record it may have computed from (`history`: every record the store held, in
 * order, from before the first write). Returns `undefined`, or what could not be explained.
 */
export function explain(r: Replay, writes: readonly SentWrite[], handed: readonly Handed[], history: readonly Held[]): string | undefined {
  const memo = new Map<string, boolean>();
  const last = history[history.length - 1] as Held;
  const indexOf = (version: string) =>
    Math.max(
      0,
      history.findIndex((x) => x.version === version),
    );
  let deepest = -1;
  const from = (k: number, p: number): boolean => {
    const key = `${k}:${p}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    memo.set(key, false);
    deepest = Math.max(deepest, k);
    const w = writes[k];
    const b = w === undefined ? last.circuit : advanceAll(base(w), w.write.at, r.s);
    let ok = w === undefined && p === handed.length;
    // One outcome that changed nothing where the instance wrote next.
    if (!ok && p < handed.length && inert(r, handed[p] as Handed, b)) ok = from(k, p + 1);
    // A run that changed nothing at a record known between the instance's last write and its next.
    if (!ok && p < handed.length) {
      const lo = k === 0 ? 0 : indexOf((writes[k - 1] as SentWrite).version);
      const hi = w === undefined ? history.length - 1 : indexOf(w.replaced?.version ?? '');
      for (let q = p + 1; !ok && q <= handed.length; q++) {
        if (w !== undefined && (handed[q - 1] as Handed).seq > w.stamp) break;
        const run = handed.slice(p, q);
        for (let x = lo; !ok && x <= hi; x++) if (changesNothing(r, run, history[x] as Held) && from(k, q)) ok = true;
      }
    }
    if (!ok && w !== undefined) {
      const now = w.write.at;
      const prevRaw = w.replaced?.tracker ?? '';
      if (withoutOutcomes(r, w) && from(k + 1, p)) ok = true;
      // The write holds a run of the outcomes, from here on.
      let states: State[] = [{ c: b, tracker: JSON.stringify(load(r, prevRaw, now).toJSON(now, identity)), touched: false }];
      for (let q = p; q < handed.length && !ok; q++) {
        const h = handed[q] as Handed;
        if (h.seq > w.stamp) break;
        states = step(r, states, h, now);
        const match = states.some(
          (st) =>
            same(st.c, w.circuit) && (st.touched || (st.c.state === 'closed' && st.c !== b) ? st.tracker : prevRaw) === w.write.tracker,
        );
        if (match && from(k + 1, q + 1)) ok = true;
      }
    }
    memo.set(key, ok);
    return ok;
  };
  if (from(0, 0)) return undefined;
  const w = writes[deepest];
  return `write ${deepest} of ${writes.length} (${w === undefined ? 'end' : `v${w.version} ${w.write.circuit} tracker ${w.write.tracker}`}) not explained by the outcomes handed over: ${JSON.stringify(handed)}`;
}

/** A state of the search of `explainEach`: the failures and probe outcomes it used, by their index in `handed`. */
interface Used extends State {
  used: number[];
}

const earlier = (a: number[], b: number[]) => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number);
  return a.length < b.length;
};

/**
 * Looser than `explain`, for instances whose outcomes may be written out of order (probe slots freed after a
 * fault go first) or handed back to the local circuit: each landed write must be the rules applied to the record
 * it replaced with some of the outcomes handed to its instance before it was sent, in order, and no failure or
 * probe outcome may be used by two writes (the earliest that fit are taken). Returns what could not be explained,
 * and the outcomes (indexes in `handed`) each write used.
 */
export function explainEach(
  r: Replay,
  writes: readonly SentWrite[],
  handed: readonly Handed[],
): { problems: string[]; used: Map<SentWrite, number[]> } {
  const used = new Set<number>();
  const problems: string[] = [];
  const usedBy = new Map<SentWrite, number[]>();
  for (const w of writes) {
    const now = w.write.at;
    const prevRaw = w.replaced?.tracker ?? '';
    let best: number[] | undefined;
    for (const from of bases(w)) {
      if (withoutOutcomes(r, w, from)) {
        best = [];
        break;
      }
      const b = advanceAll(from, now, r.s);
      let states = new Map<string, Used>();
      const first: Used = { c: b, tracker: JSON.stringify(load(r, prevRaw, now).toJSON(now, identity)), touched: false, used: [] };
      states.set(JSON.stringify([first.c, first.tracker, first.touched]), first);
      handed.forEach((h, i) => {
        if (used.has(i) || h.seq > w.stamp || (h.until !== undefined && w.stamp >= h.until)) return;
        const next = new Map(states);
        for (const st of states.values()) {
          for (const reached of step(r, [st], h, now)) {
            // Settling it changed nothing: the same as leaving it out.
            if (same(reached.c, st.c) && reached.tracker === st.tracker && reached.touched === st.touched) continue;
            const counted = h.probe || h.outcome !== SUCCESS;
            const cand: Used = { ...reached, used: counted ? [...st.used, i] : st.used };
            const key = JSON.stringify([cand.c, cand.tracker, cand.touched]);
            const old = next.get(key);
            if (old === undefined || earlier(cand.used, old.used)) next.set(key, cand);
          }
        }
        states = next;
      });
      for (const st of states.values()) {
        const tracker = st.touched || (st.c.state === 'closed' && !same(st.c, b)) ? st.tracker : prevRaw;
        if (same(st.c, w.circuit) && tracker === w.write.tracker && (best === undefined || earlier(st.used, best))) best = st.used;
      }
      if (best !== undefined) break;
    }
    if (best === undefined)
      problems.push(`v${w.version} by instance ${w.from}: ${w.write.circuit} ${w.write.tracker} from ${w.replaced?.circuit} ${prevRaw}`);
    else {
      for (const i of best) used.add(i);
      usedBy.set(w, best);
    }
  }
  return { problems, used: usedBy };
}
