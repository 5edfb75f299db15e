/**
 * A breaker's state to and from a snapshot: what `toJSON()` writes and what `initialState` restores. The
 * checking of a snapshot from outside is `parseSnapshot`'s, imported only by apps that restore one.
 */
import type { Circuit } from '../core/rules.js';
import type { FailureTracker } from '../trackers/tracker.js';
import { markChecked } from './brand.js';
import type { CircuitSnapshot } from './snapshot.js';

/** The snapshot of a circuit and its tracker at `now`; `toWall` maps the breaker's clock to the wall clock. */
export function writeSnapshot(
  c: Circuit,
  tracker: FailureTracker,
  name: string | undefined,
  now: number,
  toWall: (t: number) => number,
): CircuitSnapshot {
  return markChecked({
    version: 1,
    name: name ?? null,
    state: c.state,
    reason: c.reason,
    since: toWall(c.since),
    openUntil: c.state === 'open' ? toWall(c.openUntil) : null,
    opens: c.opens,
    tracker: tracker.toJSON(now, toWall),
  });
}

/**
 * The circuit a checked snapshot stands for, and its counts loaded into `tracker` when the tracker is of the
 * snapshot's kind (a breaker restored in another mode keeps the state, not the counts).
 */
export function restoreSnapshot(
  c: Circuit,
  tracker: FailureTracker,
  snapshot: CircuitSnapshot,
  now: number,
  fromWall: (t: number) => number,
): Circuit {
  // A tracker ignores a snapshot of another kind.
  tracker.restore(snapshot.tracker, now, fromWall);
  return {
    ...c,
    state: snapshot.state,
    since: fromWall(snapshot.since),
    reason: snapshot.reason,
    openUntil: snapshot.openUntil === null ? 0 : fromWall(snapshot.openUntil),
    opens: snapshot.opens,
  };
}
