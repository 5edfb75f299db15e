import { checkNumber, fail, MAX_WINDOW_BUCKETS, MAX_WINDOW_SIZE, NO_MAX } from '../options/validate.js';
import type { TrackerSnapshot } from '../trackers/tracker.js';
import type { CircuitState, TransitionReason } from '../core/rules.js';

/** Version of the snapshot format written by `toJSON()`. */
export const SNAPSHOT_VERSION = 1;

/**
 * A breaker's state as JSON-safe data. Times are wall-clock ms since the epoch,
 * so a snapshot means the same in another process. Probes in flight are not kept.
 */
export interface CircuitSnapshot {
  readonly version: typeof SNAPSHOT_VERSION;
  readonly name: string | null;
  readonly state: CircuitState;
  readonly reason: TransitionReason;
  /** Wall-clock ms when the state was entered. */
  readonly since: number;
  /** Open: wall-clock ms when a probe becomes allowed; otherwise `null`. */
  readonly openUntil: number | null;
  /** Openings since the circuit last closed (the backoff attempt). */
  readonly opens: number;
  readonly tracker: TrackerSnapshot;
}

const STATES = 'closed open half-open forced-open disabled'.split(' ') as readonly CircuitState[];
const REASONS =
  'initial failure-threshold recovery-timeout probe-succeeded probe-failed probe-expired forced-open closed-manually disabled reset restored'.split(
    ' ',
  ) as readonly TransitionReason[];

const ANY_TIME: readonly [number, undefined, 0] = [0, NO_MAX, 0];
const ANY_COUNT: readonly [number, undefined, 1] = [0, NO_MAX, 1];

function bad(Kind: typeof TypeError | typeof RangeError, path: string, expected: string, value: unknown): never {
  return fail(Kind, `initialState${path}`, value, expected);
}

function plainObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(TypeError, path, 'an object', value);
  return value as Record<string, unknown>;
}

/** A time (ms, finite, ≥ 0) or a count (a whole number ≥ 0), checked as the number options are. */
const time = (value: unknown, path: string): number => checkNumber('', value, ANY_TIME, `initialState${path}`);
const count = (value: unknown, path: string): number => checkNumber('', value, ANY_COUNT, `initialState${path}`);

function oneOf<T extends string>(value: unknown, options: readonly T[], path: string): T {
  if (!options.includes(value as T)) bad(TypeError, path, `one of ${options.join(', ')}`, value);
  return value as T;
}

/** Checks a tracker snapshot and copies its known fields (also used for fleet mode's shared tracker). */
export function parseTracker(value: unknown): TrackerSnapshot {
  const t = plainObject(value, '.tracker');
  const kind = oneOf(t.kind, ['consecutive', 'count', 'time'] as const, '.tracker.kind');
  if (kind === 'consecutive') return { kind, failures: count(t.failures, '.tracker.failures') };
  if (kind === 'count') {
    if (typeof t.outcomes !== 'string' || !/^[0-3]*$/.test(t.outcomes))
      bad(TypeError, '.tracker.outcomes', 'a string of digits 0–3', t.outcomes);
    // No count window holds more (`window.size` ≤ 1,000,000): a longer one is not a snapshot of ours.
    if (t.outcomes.length > MAX_WINDOW_SIZE)
      bad(RangeError, '.tracker.outcomes', `at most ${MAX_WINDOW_SIZE} digits`, `${t.outcomes.length} digits`);
    return { kind, outcomes: t.outcomes };
  }
  if (!Array.isArray(t.buckets)) bad(TypeError, '.tracker.buckets', 'an array', t.buckets);
  // No time window has more (`window.buckets` ≤ 1000); checked before reading any of them.
  if (t.buckets.length > MAX_WINDOW_BUCKETS)
    bad(RangeError, '.tracker.buckets', `at most ${MAX_WINDOW_BUCKETS} buckets`, `${t.buckets.length} buckets`);
  const buckets = t.buckets.map((b: unknown, i: number) => {
    const path = `.tracker.buckets[${i}]`;
    if (!Array.isArray(b) || b.length !== 4) bad(TypeError, path, 'an array [start, calls, failures, slow]', b);
    const calls = count(b[1], `${path}[1]`);
    const failures = count(b[2], `${path}[2]`);
    const slow = count(b[3], `${path}[3]`);
    if (failures > calls || slow > calls) bad(RangeError, path, 'counts no larger than its calls', b);
    return [time(b[0], `${path}[0]`), calls, failures, slow] as const;
  });
  return { kind, buckets };
}

/**
 * Checks a snapshot (an object or its JSON text) and copies the known fields into a fresh object,
 * so nothing from hostile input (`__proto__`, extra keys) reaches the breaker.
 */
export function parseSnapshot(input: unknown): CircuitSnapshot {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      bad(TypeError, '', 'a snapshot object or its JSON text', input.slice(0, 80));
    }
  }
  const s = plainObject(value, '');
  if (s.version !== SNAPSHOT_VERSION) bad(RangeError, '.version', `${SNAPSHOT_VERSION}`, s.version);
  if (s.name !== null && s.name !== undefined && typeof s.name !== 'string') bad(TypeError, '.name', 'a string or null', s.name);
  const state = oneOf(s.state, STATES, '.state');
  const openUntil = s.openUntil === null || s.openUntil === undefined ? null : time(s.openUntil, '.openUntil');
  if (state === 'open' && openUntil === null) bad(TypeError, '.openUntil', 'a time when state is "open"', s.openUntil);
  return {
    version: SNAPSHOT_VERSION,
    name: typeof s.name === 'string' ? s.name : null,
    state,
    reason: s.reason === undefined ? 'restored' : oneOf(s.reason, REASONS, '.reason'),
    since: time(s.since, '.since'),
    openUntil: state === 'open' ? openUntil : null,
    opens: count(s.opens, '.opens'),
    tracker: parseTracker(s.tracker),
  };
}
