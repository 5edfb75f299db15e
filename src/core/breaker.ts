import { Rejection, rejectSoon } from '../async/reject-soon.js';
import { Emitter } from '../events/emitter.js';
import { BREAKER_EVENTS } from '../events/names.js';
import { modeOf, resolveOptions, type Settings } from '../options/breaker-options.js';
import { refuseUnknown } from '../options/checks.js';
import type { CircuitSnapshot } from '../snapshot/snapshot.js';
import { restoreSnapshot, writeSnapshot } from '../snapshot/write.js';
import { createTracker } from '../trackers/create.js';
import type { FailureTracker } from '../trackers/tracker.js';
import { tellSettled } from './call-event.js';
import { systemClock, toWall, turnClock, wallNow } from './clock.js';
import { Counts, metricsOf } from './counts.js';
import { type FleetHost, type FleetLink, joinStore } from './fleet-link.js';
import { type Ending, RESOLVED, runGuarded, THREW, TIMED_OUT } from './guarded-call.js';
import { callUser, hintOf, judge } from './judge.js';
import { logTransition, tagOf, writeLog } from './log.js';
import { Refusals } from './refusals.js';
import {
  admission,
  admitProbe,
  advance,
  type Circuit,
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
const UNTIMED = NaN;

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
  #counts: Counts | undefined;
  /** The errors and log records of refused calls (made at the first refusal). */
  #refusals: Refusals | undefined;

  /**
   * @throws {TypeError | RangeError} when an option is invalid or unknown, naming it and its value.
   */
  constructor(options?: CircuitBreakerOptions) {
    let s = resolveOptions(options);
    const backoff = s.backoff;
    if (backoff !== undefined) {
      // The rules call it when the circuit opens (in a timer callback, perhaps): a throw must not escape.
      s = { ...s, backoff: (attempt, base) => callUser(this.#s, 'backoff', (n: number) => backoff(n, base), attempt, base) };
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
      writeLog(
        this.#s,
        'error',
        'breaker.listenerError',
        `breakwater${tagOf(this.#s.name)}: a "${name}" listener threw`,
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
    this.#counts = undefined;
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
    const s = this.#s;
    const now = s.clock.now();
    return metricsOf({
      counts: this.#counts,
      name: s.name,
      state: c.state,
      since: toWall(s.clock, now)(c.since),
      inFlight: this.#inFlight,
      window: this.#tracker.stats(now),
      consecutive: modeOf(s) === 'consecutive',
      retryAfter: retryAfter(c, now, s),
    });
  }

  /**
   * A versioned, JSON-safe snapshot with wall-clock times. Pass it as `initialState` here, or store its JSON and
   * restore it with `parseSnapshot()`, in this process or another.
   */
  toJSON(): CircuitSnapshot {
    const c = this.#refresh();
    const now = this.#s.clock.now();
    return writeSnapshot(c, this.#tracker, this.#s.name, now, toWall(this.#s.clock, now));
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

  /** The circuit refused the call (`wait`: the store's own `retryAfter`, when the store refused it). */
  #reject<T>(c: Circuit, now: number, options: ExecuteOptions<T> | undefined, wait?: number): Promise<T> {
    this.#fleet?.touch();
    this.#count().rejected++;
    return this.#answer('rejected', this.#refused().open(c, now, wait), options);
  }

  /** `maxConcurrent` calls are in flight: the call is refused, and counts neither as a failure nor as a success. */
  #limit<T>(options: ExecuteOptions<T> | undefined): Promise<T> {
    this.#count().limited++;
    return this.#answer('limited', this.#refused().limit(), options);
  }

  #count(): Counts {
    this.#counts ??= new Counts();
    return this.#counts;
  }

  #refused(): Refusals {
    this.#refusals ??= new Refusals(this.#s);
    return this.#refusals;
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
    this.#count().fallbacks++;
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
    const outcome = judge(s, ending, value);
    // A call cut off by the timeout took at least that long: its time is always read.
    const timed = this.#timed || ending === TIMED_OUT;
    const end = timed ? s.clock.now() : 0;
    const slow =
      outcome !== NEUTRAL &&
      // Stryker disable next-line ConditionalExpression: without the option, `end - start >= undefined` is false anyway
      s.slowCallDuration !== undefined &&
      end - start >= s.slowCallDuration;
    const n = this.#count();
    if (slow) n.slowCalls++;
    let hint: number | undefined;
    if (outcome === NEUTRAL) n.neutral++;
    else if (outcome === SUCCESS) n.successes++;
    else {
      if (ending === TIMED_OUT) n.timeouts++;
      else n.failures++;
      n.lastFailureAt = wallNow(this.#s.clock);
      hint = hintOf(s, ending, value);
    }
    // Untimed, the rules read the clock only if they need the time (most successes need none). A success on the
    // system clock may be placed by the reading of this event-loop turn (a time window reads it on every call).
    const time: TimeSource = timed ? end : outcome === SUCCESS && !probe && s.clock === systemClock ? turnClock : s.clock;
    if (!this.#fleet?.record(outcome, slow, probe, generation, hint)) this.#settleHere(outcome, slow, probe, generation, time, hint);
    const events = this.#events;
    if (events === undefined) return;
    tellSettled(events, ending, outcome, s.name, end - start, slow, value);
  }

  /** Settles an outcome on the local circuit (always without a store; in fleet mode while the store is unreachable). */
  #settleHere(outcome: Outcome, slow: boolean, probe: boolean, generation: number, time: TimeSource, hint: number | undefined): void {
    const c = this.#circuit.state === 'half-open' ? this.#refresh() : this.#circuit;
    this.#apply(settle(c, this.#tracker, outcome, slow, probe, generation, time, this.#s, hint));
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
    const at = toWall(this.#s.clock, now)(next.since);
    if (s.logger !== undefined) {
      // Rejections not yet logged are told before the transition that ends them.
      this.#refusals?.flushLog(prev.state, undefined);
      logTransition(s, prev, next, source, now, at);
    }
    this.#emit('stateChange', { name: s.name, from: prev.state, to: next.state, reason: next.reason, at, source });
  }

  #restore(snapshot: CircuitSnapshot, now: number): void {
    const wall = wallNow(this.#s.clock);
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
      log: (level, event, message, fields, echo) =>
        writeLog(this.#s, level, event, `breakwater${tagOf(this.#s.name)}: ${message}`, fields, echo),
    };
    return joinStore(store, this.#s, host);
  }

  /** Half-open in fleet mode: the store decides which call, fleet-wide, is the probe. */
  async #probeFleet<T>(fn: (context: CallContext) => T | PromiseLike<T>, options: ExecuteOptions<T> | undefined): Promise<T> {
    const ticket = await (this.#fleet as FleetLink).admitProbe();
    // The store failed meanwhile: the fallback decides, on the local circuit.
    if (ticket === undefined) return this.execute(fn, options);
    if (ticket.admit === 'reject') {
      const now = this.#s.clock.now();
      return this.#reject(this.#refresh(now), now, options, ticket.retryAfter);
    }
    return this.#dispatch(fn, options, ticket.admit === 'probe', ticket.generation);
  }

  /** A manual control: applied here at once, and handed to the store (fleet-wide) when there is one. */
  #manual(op: ManualOp): void {
    this.#apply(manual(this.#refresh(), op, this.#tracker, this.#s.clock.now()));
    this.#fleet?.control(op);
  }

  // ── helpers ──────────────────────────────────────────────────────────────

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
}
