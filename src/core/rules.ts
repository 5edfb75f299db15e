/**
 * The breaker's rules, and the only place they are written: pure functions from
 * (circuit, event, time, settings) to the next circuit. The in-memory breaker, the
 * fleet store and the model in the property tests all step through these.
 *
 * A function returns the very same object when nothing changes, so the hot path
 * (a call through a closed circuit) allocates nothing here.
 */
import type { FailureTracker } from '../trackers/tracker.js';

/** Every state a circuit can be in: the one list, read by snapshots, the fleet's codec and the exporters. */
export const CIRCUIT_STATES = /* @__PURE__ */ Object.freeze(['closed', 'open', 'half-open', 'forced-open', 'disabled'] as const);

/** A state a circuit can be in. */
export type CircuitState = (typeof CIRCUIT_STATES)[number];

/** Every reason a circuit enters a state: the one list. */
export const TRANSITION_REASONS = /* @__PURE__ */ Object.freeze([
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
] as const);

/** Why the circuit entered its current state. */
export type TransitionReason = (typeof TRANSITION_REASONS)[number];

/** The whole state of a circuit as plain data. Times are in the breaker's clock (ms). */
export interface Circuit {
  readonly state: CircuitState;
  /** When the current state was entered. */
  readonly since: number;
  readonly reason: TransitionReason;
  /** Open: when a probe becomes allowed. 0 otherwise. */
  readonly openUntil: number;
  /** How many times the circuit opened since it was last closed (the backoff attempt). */
  readonly opens: number;
  /** Half-open: probes admitted and not yet settled. */
  readonly probes: number;
  /** Half-open: probes that succeeded in this trial. */
  readonly probeSuccesses: number;
  /** Half-open with probes in flight: the trial must be decided by then, or it counts as failed. 0 otherwise. */
  readonly probeDeadline: number;
  /** Bumped by every transition; outcomes of calls admitted under an older generation are ignored. */
  readonly generation: number;
}

/**
 * How long the circuit stays open on the given attempt (1 = the first opening since it last closed), in ms:
 * `exponentialBackoff()`, or a function of your own. A result that is not a finite number ≥ 0 (or a throw)
 * gives `recoveryTimeout`.
 */
export type RecoveryBackoff = (attempt: number, recoveryTimeout: number) => number;

/** The settings the rules read. */
export interface Rules {
  readonly recoveryTimeout: number;
  /** `undefined`: fixed, `recoveryTimeout` every time. */
  readonly backoff: RecoveryBackoff | undefined;
  readonly halfOpenProbes: number;
  readonly successThreshold: number;
  readonly maxProbeWait: number;
}

/**
 * The time of a step: ms in the breaker's clock, or the clock itself, read only if the step
 * needs the time. A success through a count window that does not open the circuit needs none,
 * and a clock read costs as much as the rest of such a call.
 */
export type TimeSource = number | { now(): number };

function read(time: TimeSource): number {
  return typeof time === 'number' ? time : time.now();
}

/** What the circuit does with a call that arrives now. */
export type Admission = 'pass' | 'probe' | 'reject';

/** Call outcomes as the rules see them. */
export const SUCCESS = 0;
export const FAILURE = 1;
export const NEUTRAL = 2;
export type Outcome = typeof SUCCESS | typeof FAILURE | typeof NEUTRAL;

/** A fresh closed circuit. */
export function initialCircuit(now: number): Circuit {
  return enter(undefined, 'closed', now, 'initial');
}

/** Milliseconds the circuit stays open on the given attempt. */
export function recoveryDelay(rules: Rules, attempt: number): number {
  return openDelay(rules, attempt, undefined);
}

/**
 * Milliseconds the circuit stays open when it opens on the given attempt. A failure may carry
 * its own hint (a server's `Retry-After`): a finite hint ≥ 0 wins over the recovery delay,
 * because the upstream said when it expects to recover; anything else falls back to the delay.
 * A usable time is a finite number of ms ≥ 0 (NaN, negatives, Infinity and non-numbers are not).
 */
export function openDelay(rules: Rules, attempt: number, hint: number | undefined): number {
  if (isDelay(hint)) return hint;
  const base = rules.recoveryTimeout;
  const delay = rules.backoff?.(attempt, base);
  return isDelay(delay) ? delay : base;
}

function isDelay(ms: unknown): ms is number {
  return typeof ms === 'number' && ms >= 0 && ms < Infinity;
}

/**
 * One time-driven step: open → half-open once the recovery delay is over; a half-open trial
 * past its deadline reopens. Returns `c` itself when time changes nothing; callers repeat
 * until it does, so that each transition is seen on its own.
 */
export function advance(c: Circuit, now: number, rules: Rules): Circuit {
  if (c.state === 'open' && now >= c.openUntil) return enter(c, 'half-open', c.openUntil, 'recovery-timeout');
  if (c.state === 'half-open' && c.probeDeadline !== 0 && now >= c.probeDeadline) {
    return open(c, c.probeDeadline, rules, 'probe-expired');
  }
  return c;
}

/** Every time-driven step that is due at `now`, at once (for callers that need not see each one). */
export function advanceAll(c: Circuit, now: number, rules: Rules): Circuit {
  for (let next = advance(c, now, rules); next !== c; next = advance(c, now, rules)) c = next;
  return c;
}

/** Whether a call may go through (call after `advance`). */
export function admission(c: Circuit, rules: Rules): Admission {
  return c.state === 'closed' || c.state === 'disabled'
    ? 'pass'
    : c.state === 'half-open' && c.probes < rules.halfOpenProbes
      ? 'probe'
      : 'reject';
}

/** Takes a probe slot; the first probe in flight starts the trial's deadline. */
export function admitProbe(c: Circuit, now: number, rules: Rules): Circuit {
  return {
    ...c,
    probes: c.probes + 1,
    probeDeadline: c.probes === 0 ? now + rules.maxProbeWait : c.probeDeadline,
  };
}

/**
 * Milliseconds until the circuit lets a call through again (after `advance`): 0 while a call would pass or
 * take a free probe slot; while every slot is taken, until the trial is decided at the latest.
 */
export function retryAfter(c: Circuit, now: number, rules: Rules): number {
  return c.state === 'forced-open'
    ? Infinity
    : c.state === 'open'
      ? Math.max(0, c.openUntil - now)
      : c.state === 'half-open' && c.probes >= rules.halfOpenProbes && c.probeDeadline !== 0
        ? Math.max(0, c.probeDeadline - now)
        : 0;
}

/**
 * Settles one call. `generation` is the circuit's generation when the call was admitted;
 * `probe` says whether it held a probe slot; `time` is read only when the step needs it.
 * A closed circuit's calls go to the tracker, which says when to open; a half-open
 * circuit's probes decide the trial. `hint` is a failure's own open time (see `openDelay`),
 * used only if this failure opens the circuit.
 */
export function settle(
  c: Circuit,
  tracker: FailureTracker,
  outcome: Outcome,
  slow: boolean,
  probe: boolean,
  generation: number,
  time: TimeSource,
  rules: Rules,
  hint?: number,
): Circuit {
  if (generation !== c.generation) return c;
  if (probe) {
    // No slot held, no trial to decide (in fleet mode, a slot released once already).
    if (c.state !== 'half-open' || c.probes === 0) return c;
    const now = read(time);
    if (outcome === FAILURE) return open(c, now, rules, 'probe-failed', hint);
    const probes = c.probes - 1;
    if (outcome === SUCCESS && c.probeSuccesses + 1 >= rules.successThreshold) {
      return close(c, tracker, now, 'probe-succeeded');
    }
    return {
      ...c,
      probes,
      probeSuccesses: c.probeSuccesses + (outcome === SUCCESS ? 1 : 0),
      probeDeadline: probes === 0 ? 0 : c.probeDeadline,
    };
  }
  if (c.state !== 'closed' || outcome === NEUTRAL) return c;
  const timeless = tracker.timeless === true;
  const now = timeless ? 0 : read(time);
  if (!tracker.record(outcome === FAILURE, slow, now)) return c;
  return open(c, timeless ? read(time) : now, rules, 'failure-threshold', hint);
}

/** Manual control: hold the circuit open until it is closed again. */
export function forceOpen(c: Circuit, now: number): Circuit {
  return hold(c, 'forced-open', now);
}

/** Manual control: let every call through, unmeasured by the tracker, until closed again. */
export function disable(c: Circuit, now: number): Circuit {
  return hold(c, 'disabled', now);
}

/** Enters a state held until closed (its reason is its name), unless the circuit is in it already. */
function hold(c: Circuit, state: 'forced-open' | 'disabled', now: number): Circuit {
  return c.state === state ? c : enter(c, state, now, state);
}

/** Closes the circuit and forgets the tracker's outcomes (a manual close, a reset, or a successful trial). */
export function close(c: Circuit, tracker: FailureTracker, now: number, reason: TransitionReason): Circuit {
  tracker.reset();
  return c.state === 'closed' ? c : enter(c, 'closed', now, reason);
}

/** The manual controls, by name (what a breaker's methods do, and what the fleet shares). */
export type ManualOp = 'forceOpen' | 'disable' | 'close' | 'reset';

/** Applies a manual control: `close` and `reset` also forget the tracker's counts. */
export function manual(c: Circuit, op: ManualOp, tracker: FailureTracker, now: number): Circuit {
  return op === 'forceOpen'
    ? hold(c, 'forced-open', now)
    : op === 'disable'
      ? hold(c, 'disabled', now)
      : close(c, tracker, now, op === 'close' ? 'closed-manually' : 'reset');
}

function open(c: Circuit, at: number, rules: Rules, reason: TransitionReason, hint?: number): Circuit {
  const opens = c.state === 'half-open' ? c.opens + 1 : 1;
  const next = enter(c, 'open', at, reason);
  return { ...next, opens, openUntil: at + openDelay(rules, opens, hint) };
}

function enter(c: Circuit | undefined, state: CircuitState, at: number, reason: TransitionReason): Circuit {
  return {
    state,
    since: at,
    reason,
    openUntil: 0,
    opens: state === 'closed' || c === undefined ? 0 : c.opens,
    probes: 0,
    probeSuccesses: 0,
    probeDeadline: 0,
    generation: c === undefined ? 0 : c.generation + 1,
  };
}
