import { Rejection, rejectSoon } from '../async/reject-soon.js';
import { createOpenError } from '../errors/circuit-open-error.js';
import { createLimitError } from '../errors/concurrency-limit-error.js';
import { Emitter } from '../events/emitter.js';
import { BREAKER_EVENTS } from '../events/names.js';
import { modeOf, resolveOptions, type Settings } from '../options/breaker-options.js';
import { refuseUnknown } from '../options/checks.js';
import type { CircuitSnapshot } from '../snapshot/snapshot.js';
import { restoreSnapshot, writeSnapshot } from '../snapshot/write.js';
import { createTracker } from '../trackers/create.js';
import type { FailureTracker } from '../trackers/tracker.js';
import { systemClock, turnClock } from './clock.js';
import { type FleetHost, type FleetLink, JOIN } from './fleet-link.js';
import { ABORTED, type Ending, RESOLVED, runGuarded, THREW, TIMED_OUT } from './guarded-call.js';
import {
  admission,
  admitProbe,
  advance,
  type Circuit,
  FAILURE,
  initialCircuit,
  type ManualOp,
  manual,
  NEUTRAL,
  type Outcome,
  retryAfter,
  SUCCESS,
  settle,
  type TimeSource,
} from './rules.js';
import type { BreakerEvents, BreakerMetrics, CallContext, CircuitBreakerOptions, CircuitState, ExecuteOptions } from './types.js';

/** The context handed to `fn` when no signal is in play: one frozen object for every call. */
const NO_SIGNAL: CallContext = Object.freeze({ signal: undefined });

/**
 * The events whose payload carries a call's duration: a listener to one of them makes the breaker time calls.
 * (`timeout` too carries one, but a call that times out is always timed.)
 */
const CALL_EVENTS: ReadonlyArray<keyof BreakerEvents> = ['success', 'failure', 'neutral'];

/**
 * The start of a call that was not timed (nothing needed its duration when it began). Its event, if a
 * listener subscribed meanwhile, reports `duration: NaN` rather than a time measured from nothing.
 */
const UNTIMED = Number.NaN;

/** While calls are rejected, at most one `breaker.rejected` record per this many ms, with the count since the last. */
const REJECTED_LOG_INTERVAL = 1_000;

/** The fast path's settle handlers, made once per circuit generation so that a call allocates none. */
interface Settlers {
  readonly generation: number;
  readonly onValue: (value: unknown) => unknown;
  readonly onError: (error: unknown) => PromiseLike<never>;
}

/**
 * A circuit breaker: wraps calls to something that can fail, stops calling it while it
 * keeps failing, and lets a bounded number of probes through once the recovery time is over.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 5, recoveryTimeout: 30_000, timeout: 5_000 });
 * const data = await breaker.execute(({ signal }) => fetch(url, { signal }));
 * ```
 */
export class CircuitBreaker {
  readonly #s: Settings;
  readonly #tracker: FailureTracker;
  #circuit: Circuit;
  /** Fleet mode: the store's engine, which keeps the circuit in step with the shared one. */
  readonly #fleet: FleetLink | undefined;
  #events: Emitter<BreakerEvents> | undefined;
  /** Whether calls must be timed: slow-call detection or a call-event listener needs the duration. */
  #timed: boolean;
  #settlers: Settlers | undefined;
  #inFlight = 0;
  #successes = 0;
  #failures = 0;
  #neutral = 0;
  #rejected = 0;
  #limited = 0;
  #timeouts = 0;
  #fallbacks = 0;
  #slow = 0;
  /**
   * Wall-clock ms when the last counted failure settled; `undefined`: none since the last reset. Read from the wall
   * clock: the breaker's own clock is read on a failure only when the rules need it.
   */
  #lastFailure: number | undefined;
  /** With a logger: when the last `breaker.rejected` record went out, and the rejections since. */
  #rejectedLog: { at: number; count: number } | undefined;

  /**
   * @throws {TypeError | RangeError} when an option is invalid or unknown, naming it and its value.
   */
  constructor(options?: CircuitBreakerOptions) {
    let s = resolveOptions(options);
    const backoff = s.backoff;
    if (backoff !== undefined) {
      // The rules call it when the circuit opens (in a timer callback, perhaps): a throw must not escape.
      s = { ...s, backoff: (attempt, base) => this.#call('backoff', (n: number) => backoff(n, base), attempt, base) };
    }
    this.#s = s;
    this.#tracker = createTracker(s);
    this.#timed = s.slowCallDuration !== undefined;
    const now = s.clock.now();
    this.#circuit = initialCircuit(now);
    if (options?.initialState != null) this.#restore(options.initialState, now);
    this.#fleet = s.store === undefined ? undefined : this.#joinFleet(s.store);
  }

  /** The breaker's `name` option. */
  get name(): string | undefined {
    return this.#s.name;
  }

  /**
   * The current state, read against the clock: once the recovery time is over it reads
   * `'half-open'` without waiting for a call, and the `stateChange` event fires then.
   */
  get state(): CircuitState {
    return this.#refresh().state;
  }

  /**
   * Runs `fn` through the breaker. Rejects with `CircuitOpenError` (without calling `fn`) while the circuit is
   * open; with `ConcurrencyLimitError` (without calling `fn`) while `maxConcurrent` calls are in flight; with
   * `TimeoutError` when `timeout` elapses; otherwise settles as `fn` does.
   */
  execute<T>(fn: (context: CallContext) => T | PromiseLike<T>, options?: ExecuteOptions<T>): Promise<T> {
    // A slip such as `execute(fetch(url))` is the caller's bug, not the upstream's: refused before admission.
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`breakwater: execute() needs a function; got ${typeof fn}`));
    let c = this.#circuit;
    let probe = false;
    if (c.state !== 'closed' && c.state !== 'disabled') {
      const now = this.#s.clock.now();
      c = this.#refresh(now);
      const admit = admission(c, this.#s);
      // A caller who already gave up is answered with their own reason, as a neutral call, in every state and
      // whatever the cap (as while closed, below).
      if (options?.signal?.aborted === true) return this.#dispatch(fn, options, false, c.generation);
      if (admit === 'reject') return this.#reject(c, now, options);
      if (this.#inFlight >= (this.#s.maxConcurrent as number)) return this.#limit(options);
      if (admit === 'probe') {
        if (this.#fleet?.active) return this.#probeFleet(fn, options);
        c = this.#apply(admitProbe(c, now, this.#s));
        probe = true;
      }
    } else if (this.#inFlight >= (this.#s.maxConcurrent as number) && options?.signal?.aborted !== true) {
      // `n >= undefined` is false: without a cap this costs one comparison.
      return this.#limit(options);
    }
    return this.#dispatch(fn, options, probe, c.generation);
  }

  /** Returns a function with `fn`'s parameters that calls it through this breaker. */
  wrap<A extends unknown[], R>(
    fn: (...args: A) => R | PromiseLike<R>,
    options?: { readonly fallback?: (error: unknown) => R | PromiseLike<R> },
  ): (...args: A) => Promise<R> {
    const fallback = options?.fallback;
    const execOptions = fallback === undefined ? undefined : { fallback };
    return (...args: A) => this.execute(() => fn(...args), execOptions);
  }

  /**
   * Subscribes to an event; returns the function that unsubscribes. Listener errors are reported, never thrown.
   * @throws {TypeError} for an event name the breaker does not emit (with the closest one), or a listener that is not a function.
   */
  on<K extends keyof BreakerEvents>(event: K, listener: (event: BreakerEvents[K]) => unknown): () => void {
    refuseUnknown(event, BREAKER_EVENTS, 'event');
    this.#events ??= new Emitter((error, name) =>
      this.#log(
        'error',
        'breaker.listenerError',
        `breakwater${this.#tag()}: a "${name}" listener threw`,
        { listenerOf: name, error },
        true,
      ),
    );
    const off = this.#events.on(event, listener);
    this.#updateTimed();
    return () => {
      off();
      this.#updateTimed();
    };
  }

  /** Holds the circuit open (every call rejected) until `close()` or `reset()`. With a store: fleet-wide. */
  forceOpen(): void {
    this.#manual('forceOpen');
  }

  /** Lets every call through without judging it (still counted in metrics) until `close()` or `reset()`. With a store: fleet-wide. */
  disable(): void {
    this.#manual('disable');
  }

  /** Closes the circuit now and forgets the recorded failures; also releases `forceOpen()` and `disable()`. With a store: fleet-wide. */
  close(): void {
    this.#manual('close');
  }

  /** Like `close()`, and also zeroes the metrics counters (calls in flight go on counting). */
  reset(): void {
    this.#successes = this.#failures = this.#neutral = this.#rejected = this.#limited = this.#timeouts = this.#fallbacks = this.#slow = 0;
    this.#lastFailure = undefined;
    this.#manual('reset');
  }

  /**
   * Fleet mode: writes the outcomes still batched to the store and resolves once it has them
   * (or has failed; it never rejects). Await it before a serverless handler returns. Without a store it resolves at once.
   */
  flush(): Promise<void> {
    return Promise.resolve(this.#fleet?.flush());
  }

  /**
   * Releases what the breaker holds outside itself. Fleet mode: writes the outcomes still batched,
   * unsubscribes from the store, and from then on the breaker runs alone, as without a store, except that the
   * probe slots of the shared trial it holds are still freed (call it for a breaker you drop, or the store keeps
   * it reachable). Without a store there is nothing to release. `BreakerRegistry` calls it for every breaker it
   * drops. Never rejects.
   */
  dispose(): Promise<void> {
    return Promise.resolve(this.#fleet?.leave());
  }

  /** Counters and rates at this moment. */
  metrics(): BreakerMetrics {
    const c = this.#refresh();
    const now = this.#s.clock.now();
    const w = this.#tracker.stats(now);
    // Consecutive mode: rates over every judged call since the last reset.
    const judged = this.#successes + this.#failures + this.#timeouts;
    const consecutive = modeOf(this.#s) === 'consecutive';
    return {
      name: this.#s.name,
      state: c.state,
      since: this.#toWall(now)(c.since),
      successes: this.#successes,
      failures: this.#failures,
      neutral: this.#neutral,
      rejected: this.#rejected,
      limited: this.#limited,
      timeouts: this.#timeouts,
      fallbacks: this.#fallbacks,
      slowCalls: this.#slow,
      inFlight: this.#inFlight,
      lastFailureAt: this.#lastFailure ?? null,
      failureRate: consecutive ? (judged === 0 ? 0 : (this.#failures + this.#timeouts) / judged) : w.failureRate,
      slowCallRate: consecutive ? (judged === 0 ? 0 : this.#slow / judged) : w.slowCallRate,
      window: { calls: w.calls, failures: w.failures, slowCalls: w.slowCalls },
      retryAfter: retryAfter(c, now, this.#s),
    };
  }

  /**
   * A versioned, JSON-safe snapshot with wall-clock times. Pass it as `initialState` here, or store its JSON and
   * restore it with `parseSnapshot()`, in this process or another.
   */
  toJSON(): CircuitSnapshot {
    const c = this.#refresh();
    const now = this.#s.clock.now();
    return writeSnapshot(c, this.#tracker, this.#s.name, now, this.#toWall(now));
  }

  // ── calls ────────────────────────────────────────────────────────────────

  /** Runs an admitted call on the cheapest path its options allow. Every admitted call ends in one `#settle`. */
  #dispatch<T>(
    fn: (context: CallContext) => T | PromiseLike<T>,
    options: ExecuteOptions<T> | undefined,
    probe: boolean,
    generation: number,
  ): Promise<T> {
    this.#inFlight++;
    if (options === undefined && this.#s.timeout === undefined) {
      return probe || this.#timed ? this.#run(fn, probe, generation) : this.#runFast(fn, generation);
    }
    const run = this.#runGuarded(fn, options?.signal, probe, generation);
    const fallback = options?.fallback;
    return fallback === undefined ? run : run.then(undefined, (error: unknown) => this.#fallback(error, fallback));
  }

  /**
   * The hottest path: a call admitted while closed, untimed, no signal, no probe. `then` with
   * handlers shared by the generation instead of an async function: one promise fewer per call,
   * and a failure rejects the caller's promise without a second throw.
   */
  #runFast<T>(fn: (context: CallContext) => T | PromiseLike<T>, generation: number): Promise<T> {
    let result: T | PromiseLike<T>;
    try {
      result = fn(NO_SIGNAL);
    } catch (error) {
      result = rejectSoon(error);
    }
    const settlers = this.#settlers?.generation === generation ? this.#settlers : this.#makeSettlers(generation);
    return Promise.resolve(result).then(settlers.onValue as (value: T) => T, settlers.onError);
  }

  #makeSettlers(generation: number): Settlers {
    this.#settlers = {
      generation,
      onValue: (value) => {
        this.#settle(RESOLVED, value, UNTIMED, false, generation);
        return value;
      },
      onError: (error) => {
        this.#settle(THREW, error, UNTIMED, false, generation);
        return new Rejection(error);
      },
    };
    return this.#settlers;
  }

  /** A probe or a timed call: no signal, no timer, no closure. */
  async #run<T>(fn: (context: CallContext) => T | PromiseLike<T>, probe: boolean, generation: number): Promise<T> {
    const start = this.#timed ? this.#s.clock.now() : UNTIMED;
    let value: T;
    try {
      value = await fn(NO_SIGNAL);
    } catch (error) {
      this.#settle(THREW, error, start, probe, generation);
      throw error;
    }
    this.#settle(RESOLVED, value, start, probe, generation);
    return value;
  }

  /** A call with a timeout or a caller's signal: both abort the signal handed to `fn` (see `guarded-call.ts`). */
  #runGuarded<T>(
    fn: (context: CallContext) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
    probe: boolean,
    generation: number,
  ): Promise<T> {
    const timeout = this.#s.timeout;
    if (signal === undefined && timeout === undefined) return this.#run(fn, probe, generation);
    const start = this.#s.clock.now();
    return runGuarded(fn, signal, timeout, this.#s.name, (ending, outcome) => this.#settle(ending, outcome, start, probe, generation));
  }

  /** The circuit refused the call. */
  #reject<T>(c: Circuit, now: number, options: ExecuteOptions<T> | undefined): Promise<T> {
    const s = this.#s;
    this.#fleet?.touch();
    const error = createOpenError(`Circuit${this.#tag()} is open`, retryAfter(c, now, s), s.name);
    this.#rejected++;
    if (s.logger !== undefined) {
      // One record a second at most while calls are refused: a flood of identical lines helps nobody.
      this.#rejectedLog ??= { at: Number.NEGATIVE_INFINITY, count: 0 };
      const log = this.#rejectedLog;
      log.count++;
      if (now - log.at >= REJECTED_LOG_INTERVAL) {
        log.at = now;
        this.#logRejected(c.state, error.retryAfter);
      }
    }
    return this.#answer('rejected', error, options);
  }

  /** `maxConcurrent` calls are in flight: the call is refused, and counts neither as a failure nor as a success. */
  #limit<T>(options: ExecuteOptions<T> | undefined): Promise<T> {
    const s = this.#s;
    const error = createLimitError(
      `Circuit${this.#tag()} has ${s.maxConcurrent} calls in flight (maxConcurrent)`,
      s.maxConcurrent as number,
      s.name,
    );
    this.#limited++;
    return this.#answer('limited', error, options);
  }

  /** A refusal, told to the event's listeners: the caller's fallback answers, or the error rejects. */
  #answer<T>(event: 'rejected' | 'limited', error: Error, options: ExecuteOptions<T> | undefined): Promise<T> {
    this.#tell(event, error);
    const fallback = options?.fallback;
    if (fallback === undefined) return rejectSoon(error);
    try {
      return Promise.resolve(this.#fallback(error, fallback));
    } catch (fallbackError) {
      return Promise.reject(fallbackError);
    }
  }

  #fallback<T>(error: unknown, fallback: (error: unknown) => T | PromiseLike<T>): T | PromiseLike<T> {
    this.#fallbacks++;
    this.#tell('fallback', error);
    return fallback(error);
  }

  // ── outcomes ─────────────────────────────────────────────────────────────

  /**
   * Settles a call that ended: judges it (the predicates decide what a value or an error counts as), counts it,
   * hands the outcome to the rules (or the fleet), and emits its event. The one settle path of every call.
   */
  #settle(ending: Ending, value: unknown, start: number, probe: boolean, generation: number): void {
    const s = this.#s;
    this.#inFlight--;
    let outcome: Outcome = ending === RESOLVED ? SUCCESS : ending === ABORTED ? NEUTRAL : FAILURE;
    // A predicate that throws is reported; the outcome then counts as a failure.
    if (ending === RESOLVED && s.isResultFailure !== undefined && this.#call('isResultFailure', s.isResultFailure, value, true) === true) {
      outcome = FAILURE;
    } else if (ending === THREW && s.isFailure !== undefined && this.#call('isFailure', s.isFailure, value, true) === false) {
      outcome = NEUTRAL;
    }
    // A call cut off by the timeout took at least that long: its time is always read.
    const timed = this.#timed || ending === TIMED_OUT;
    const end = timed ? s.clock.now() : 0;
    const slow =
      outcome !== NEUTRAL &&
      // Stryker disable next-line ConditionalExpression: without the option, `end - start >= undefined` is false anyway
      s.slowCallDuration !== undefined &&
      end - start >= s.slowCallDuration;
    if (slow) this.#slow++;
    let hint: number | undefined;
    if (outcome === NEUTRAL) this.#neutral++;
    else if (outcome === SUCCESS) this.#successes++;
    else {
      if (ending === TIMED_OUT) this.#timeouts++;
      else this.#failures++;
      this.#lastFailure = this.#wallNow();
      // A hint that throws or is not a number gives none: the recovery delay applies.
      const raw =
        s.retryAfterHint === undefined || ending === TIMED_OUT
          ? undefined
          : this.#call('retryAfterHint', s.retryAfterHint, value, undefined);
      hint = typeof raw === 'number' ? raw : undefined;
    }
    // Untimed, the rules read the clock only if they need the time (most successes need none). A success on the
    // system clock may be placed by the reading of this event-loop turn (a time window reads it on every call).
    const time: TimeSource = timed ? end : outcome === SUCCESS && !probe && s.clock === systemClock ? turnClock : s.clock;
    if (!this.#fleet?.record(outcome, slow, probe, generation, hint)) this.#settleHere(outcome, slow, probe, generation, time, hint);
    const events = this.#events;
    if (events === undefined) return;
    const event = ending === TIMED_OUT ? 'timeout' : outcome === SUCCESS ? 'success' : outcome === FAILURE ? 'failure' : 'neutral';
    if (!events.has(event)) return;
    // Each event's own fields: `slow` for a judged call, `error` for any but a success, `fromResult` for a failure.
    const payload: Record<string, unknown> = { name: s.name, duration: end - start };
    if (event === 'success' || event === 'failure') payload.slow = slow;
    if (event !== 'success') payload.error = value;
    if (event === 'failure') payload.fromResult = ending === RESOLVED;
    events.emit(event, payload as never);
  }

  /** Settles an outcome on the local circuit (always without a store; in fleet mode while the store is unreachable). */
  #settleHere(outcome: Outcome, slow: boolean, probe: boolean, generation: number, time: TimeSource, hint: number | undefined): void {
    const c = this.#circuit.state === 'half-open' ? this.#refresh() : this.#circuit;
    this.#apply(settle(c, this.#tracker, outcome, slow, probe, generation, time, this.#s, hint));
  }

  /**
   * Runs one of the user's callbacks (a predicate, `retryAfterHint`, a `backoff` function). One that throws is
   * reported, never thrown: the step goes on with `onThrow`. Arguments, not a closure: predicates run on every call.
   */
  #call<A, R>(option: string, callback: (a: A) => R, arg: A, onThrow: R): R {
    try {
      return callback(arg);
    } catch (error) {
      this.#log('error', 'breaker.predicateError', `breakwater${this.#tag()}: ${option} threw`, { option, error }, true);
      return onThrow;
    }
  }

  // ── state ────────────────────────────────────────────────────────────────

  /** Applies every time-driven transition that is due. Only open and half-open circuits depend on time. */
  #refresh(at?: number): Circuit {
    let c = this.#circuit;
    if (c.state !== 'open' && c.state !== 'half-open') return c;
    const now = at ?? this.#s.clock.now();
    for (let next = advance(c, now, this.#s); next !== c; next = advance(c, now, this.#s)) {
      this.#apply(next);
      // Re-read: a stateChange listener may have changed the circuit (forceOpen, say).
      c = this.#circuit;
    }
    return c;
  }

  #apply(next: Circuit): Circuit {
    const prev = this.#circuit;
    this.#circuit = next;
    if (next.generation !== prev.generation) this.#transitioned(prev, next, 'local');
    return next;
  }

  #transitioned(prev: Circuit, next: Circuit, source: 'local' | 'remote'): void {
    const s = this.#s;
    const now = s.clock.now();
    const at = this.#toWall(now)(next.since);
    if (s.logger !== undefined) {
      // Rejections not yet logged are told before the transition that ends them.
      if (this.#rejectedLog !== undefined && this.#rejectedLog.count > 0) this.#logRejected(prev.state, undefined);
      const fields: Record<string, unknown> = {
        from: prev.state,
        to: next.state,
        reason: next.reason,
        at: new Date(at).toISOString(),
        source,
      };
      if (next.state === 'open') fields.retryAfter = Math.max(0, next.openUntil - now);
      const opens = next.state === 'open' || next.state === 'forced-open';
      this.#log(
        opens ? 'warn' : 'info',
        'breaker.stateChange',
        `Circuit${this.#tag()} ${prev.state} → ${next.state} (${next.reason})`,
        fields,
      );
    }
    this.#emit('stateChange', { name: s.name, from: prev.state, to: next.state, reason: next.reason, at, source });
  }

  /** Logs the calls rejected since the last such record. */
  #logRejected(state: CircuitState, retryAfter: number | undefined): void {
    const log = this.#rejectedLog as { count: number };
    const rejected = log.count;
    log.count = 0;
    this.#log('warn', 'breaker.rejected', `Circuit${this.#tag()} is open: ${rejected} call${rejected === 1 ? '' : 's'} rejected`, {
      state,
      rejected,
      retryAfter,
    });
  }

  #restore(snapshot: CircuitSnapshot, now: number): void {
    const wall = this.#wallNow();
    this.#circuit = restoreSnapshot(this.#circuit, this.#tracker, snapshot, now, (t) => now - (wall - t));
  }

  // ── fleet mode ───────────────────────────────────────────────────────────

  #joinFleet(store: object): FleetLink {
    const host: FleetHost = {
      circuit: () => this.#circuit,
      adopt: (next, source) => {
        const prev = this.#circuit;
        this.#circuit = next;
        if (prev.state !== next.state) this.#transitioned(prev, next, source);
      },
      tracker: this.#tracker,
      settleLocally: (outcome, slow, probe, generation, hint) => this.#settleHere(outcome, slow, probe, generation, this.#s.clock, hint),
      emit: (event, payload) => this.#emit(event, payload),
      log: (level, event, message, fields, echo) => this.#log(level, event, `breakwater${this.#tag()}: ${message}`, fields, echo),
    };
    const join = (store as Record<symbol, (settings: Settings, host: FleetHost) => FleetLink>)[JOIN] as (
      settings: Settings,
      host: FleetHost,
    ) => FleetLink;
    return join.call(store, this.#s, host);
  }

  /** Half-open in fleet mode: the store decides which call, fleet-wide, is the probe. */
  async #probeFleet<T>(fn: (context: CallContext) => T | PromiseLike<T>, options: ExecuteOptions<T> | undefined): Promise<T> {
    const ticket = await (this.#fleet as FleetLink).admitProbe();
    // The store failed meanwhile: the fallback decides, on the local circuit.
    if (ticket === undefined) return this.execute(fn, options);
    if (ticket.admit === 'reject') {
      const now = this.#s.clock.now();
      return this.#reject(this.#refresh(now), now, options);
    }
    return this.#dispatch(fn, options, ticket.admit === 'probe', ticket.generation);
  }

  /** A manual control: applied here at once, and handed to the store (fleet-wide) when there is one. */
  #manual(op: ManualOp): void {
    this.#apply(manual(this.#refresh(), op, this.#tracker, this.#s.clock.now()));
    this.#fleet?.control(op);
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  /** ` "name"`, or nothing: every message names the breaker the same way. Made when needed, not held (idle memory). */
  #tag(): string {
    return this.#s.name === undefined ? '' : ` "${this.#s.name}"`;
  }

  #wallNow(): number {
    const clock = this.#s.clock;
    return clock.wallNow === undefined ? Date.now() : clock.wallNow();
  }

  /** Maps times of the breaker's clock, read as `now`, to wall-clock times. */
  #toWall(now: number): (t: number) => number {
    const wall = this.#wallNow();
    return (t) => wall - (now - t);
  }

  #updateTimed(): void {
    const events = this.#events;
    this.#timed = this.#s.slowCallDuration !== undefined || (events !== undefined && CALL_EVENTS.some((e) => events.has(e)));
  }

  #emit<K extends keyof BreakerEvents>(event: K, payload: BreakerEvents[K]): void {
    this.#events?.emit(event, payload);
  }

  /** Tells a refusal or a fallback to its listeners, if it has any: the payload is built only then. */
  #tell(event: 'rejected' | 'limited' | 'fallback', error: unknown): void {
    if (this.#events?.has(event)) this.#emit(event, { name: this.#s.name, error } as never);
  }

  /**
   * Logs a record and a message through the user's logger. Without one, `echo` sends the message to the console
   * (with the error, or else the fields). A logger that throws must not break the breaker.
   */
  // Stryker disable next-line BooleanLiteral: every call that leaves out `echo` has a logger, which makes `echo` unread
  #log(level: 'info' | 'warn' | 'error', event: string, message: string, fields: Record<string, unknown>, echo = false): void {
    const s = this.#s;
    try {
      if (s.logger !== undefined) s.logger[level]({ event, breaker: s.name, ...fields }, message);
      else if (echo) console[level](message, 'error' in fields ? fields.error : fields);
    } catch {
      // A logger that throws has nowhere left to report to.
    }
  }
}
