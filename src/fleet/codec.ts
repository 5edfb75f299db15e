/**
 * How fleet mode writes a circuit, a tracker and the settings into a store, and reads them
 * back without trusting what it reads (another version, another app, a hand-edited key).
 */

import type { Circuit, CircuitState, TransitionReason } from '../core/rules.js';
import type { Settings } from '../options/validate.js';
import { modeOf } from '../options/validate.js';
import { parseTracker } from '../snapshot/snapshot.js';
import type { TrackerSnapshot } from '../trackers/tracker.js';

const STATES: ReadonlySet<string> = new Set<CircuitState>(['closed', 'open', 'half-open', 'forced-open', 'disabled']);
const REASONS: ReadonlySet<string> = new Set<TransitionReason>([
  'initial',
  'failure-threshold',
  'recovery-timeout',
  'probe-succeeded',
  'probe-failed',
  'probe-expired',
  'forced-open',
  'closed-manually',
  'disabled',
  'reset',
  'restored',
]);

/** A circuit as a compact JSON array (times in the store's clock). */
export function encodeCircuit(c: Circuit): string {
  return JSON.stringify([c.state, c.since, c.reason, c.openUntil, c.opens, c.probes, c.probeSuccesses, c.probeDeadline, c.generation]);
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The circuit `encodeCircuit` wrote, or `undefined` for anything else. */
export function decodeCircuit(text: string): Circuit | undefined {
  let a: unknown;
  try {
    a = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(a) || a.length !== 9) return undefined;
  const [state, since, reason, openUntil, opens, probes, probeSuccesses, probeDeadline, generation] = a as unknown[];
  if (typeof state !== 'string' || !STATES.has(state) || typeof reason !== 'string' || !REASONS.has(reason)) return undefined;
  if (!isTime(since) || !isTime(openUntil) || !isTime(probeDeadline)) return undefined;
  if (!isCount(opens) || !isCount(probes) || !isCount(probeSuccesses) || !isCount(generation)) return undefined;
  // Probes in flight always have a deadline (`admitProbe` sets it): without one, nothing would end the trial.
  if (probes > 0 && probeDeadline === 0) return undefined;
  return {
    state: state as CircuitState,
    since,
    reason: reason as TransitionReason,
    openUntil,
    opens,
    probes,
    probeSuccesses,
    probeDeadline,
    generation,
  };
}

/** The tracker snapshot in `text`, or `undefined` when it is absent or malformed. */
export function decodeTracker(text: string): TrackerSnapshot | undefined {
  if (text === '') return undefined;
  try {
    return parseTracker(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * A short digest of the settings that decide transitions. Instances sharing a breaker should
 * agree on it; the breaker warns when they do not. A backoff function is only known as "a function".
 */
export function settingsDigest(s: Settings): string {
  const backoff = typeof s.backoff === 'function' ? 'function' : s.backoff;
  const text = JSON.stringify([
    modeOf(s),
    s.failureThreshold,
    s.failureRateThreshold ?? null,
    s.slowCallRateThreshold ?? null,
    s.slowCallDuration ?? null,
    modeOf(s) === 'rate' ? s.window : null,
    modeOf(s) === 'rate' ? s.minimumCalls : null,
    s.recoveryTimeout,
    backoff,
    s.halfOpenProbes,
    s.successThreshold,
    s.maxProbeWait,
  ]);
  // FNV-1a, 32 bits: enough to tell settings apart, short enough to store with every write.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
