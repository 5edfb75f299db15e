import { CIRCUIT_STATES, type CircuitState, TRANSITION_REASONS, type TransitionReason } from '../core/rules.js';
import { fail, num } from '../options/checks.js';
import { MAX_WINDOW_BUCKETS, MAX_WINDOW_SIZE, type TrackerSnapshot } from '../trackers/tracker.js';
import { markChecked } from './brand.js';

/** Version of the snapshot format written by `toJSON()`. */
const SNAPSHOT_VERSION = 1 as const;

/**
 * A breaker's state as JSON-safe data. Times are wall-clock ms since the epoch,
 * so a snapshot means the same in another process. Probes in flight are not kept.
 */
export interface CircuitSnapshot {
  readonly version: 1;
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

function bad(Kind: typeof TypeError | typeof RangeError, path: string, expected: string, value: unknown): never {
  return fail(Kind, `initialState${path}`, value, expected);
}

function plainObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(TypeError, path, 'an object', value);
  return value as Record<string, unknown>;
}

/** A time (ms, finite, ≥ 0) or a count (a whole number ≥ 0), checked as the number options are. */
const time = (value: unknown, path: string): number => num(value, `initialState${path}`, 0) ?? bad(TypeError, path, 'a number ≥ 0', value);
const count = (value: unknown, path: string): number =>
  num(value, `initialState${path}`, 0, undefined, 'integer') ?? bad(TypeError, path, 'an integer ≥ 0', value);

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
    // No count window holds more: a longer one is not a snapshot of ours.
    if (t.outcomes.length > MAX_WINDOW_SIZE)
      bad(RangeError, '.tracker.outcomes', `at most ${MAX_WINDOW_SIZE} digits`, `${t.outcomes.length} digits`);
    return { kind, outcomes: t.outcomes };
  }
  if (!Array.isArray(t.buckets)) bad(TypeError, '.tracker.buckets', 'an array', t.buckets);
  // No time window has more buckets; checked before reading any of them.
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
 * Checks a snapshot made by `toJSON()` (the object, or its JSON text, from this process or another) and returns
 * a fresh copy of its known fields, to restore with `new CircuitBreaker({ initialState })`. Nothing from hostile
 * input (`__proto__`, extra keys) reaches the breaker. `null` and `undefined` (what a key-value store answers for
 * a key never written) give `null`: no snapshot.
 *
 * @example
 * ```ts
 * const saved = await kv.get('breaker:quotes-api'); // JSON text, or null
 * const breaker = new CircuitBreaker({ name: 'quotes-api', initialState: parseSnapshot(saved) });
 * ```
 * @throws {TypeError | RangeError} naming the field (`initialState.tracker.failures`, say) and its value.
 */
export function parseSnapshot(input: unknown): CircuitSnapshot | null {
  if (input === null || input === undefined) return null;
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      // The message shows at most its first 80 characters.
      bad(TypeError, '', 'a snapshot object or its JSON text', input);
    }
  }
  const s = plainObject(value, '');
  if (s.version !== SNAPSHOT_VERSION) bad(RangeError, '.version', `${SNAPSHOT_VERSION}`, s.version);
  if (s.name !== null && s.name !== undefined && typeof s.name !== 'string') bad(TypeError, '.name', 'a string or null', s.name);
  const state = oneOf(s.state, CIRCUIT_STATES, '.state');
  const openUntil = s.openUntil === null || s.openUntil === undefined ? null : time(s.openUntil, '.openUntil');
  if (state === 'open' && openUntil === null) bad(TypeError, '.openUntil', 'a time when state is "open"', s.openUntil);
  return markChecked({
    version: SNAPSHOT_VERSION,
    name: typeof s.name === 'string' ? s.name : null,
    state,
    reason: s.reason === undefined ? 'restored' : oneOf(s.reason, TRANSITION_REASONS, '.reason'),
    since: time(s.since, '.since'),
    openUntil: state === 'open' ? openUntil : null,
    opens: count(s.opens, '.opens'),
    tracker: parseTracker(s.tracker),
  });
}
