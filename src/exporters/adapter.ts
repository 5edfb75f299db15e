/**
 * What the Prometheus and OpenTelemetry exporters share: how a breaker, or every breaker of a registry,
 * is followed and its events turned into calls on a small sink; the outcomes they count; the histogram
 * boundaries, and their check. Bundled into each exporter's entry.
 */
import type { BreakerRegistry, CircuitBreaker, CircuitOpenError, CircuitState, TransitionReason } from 'breakwater';

/** Every call outcome; each call ends in exactly one. */
export const OUTCOMES = ['success', 'failure', 'neutral', 'timeout', 'rejected', 'limited'] as const;
/** The outcomes of calls that reached the upstream, and so have a duration. */
export const TIMED_OUTCOMES = ['success', 'failure', 'neutral', 'timeout'] as const;
/** Duration histogram boundaries in seconds (prom-client's defaults: 5 ms to 10 s). */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A call's outcome. */
export type Outcome = (typeof OUTCOMES)[number];
/** The outcome of a call that reached the upstream. */
type TimedOutcome = (typeof TIMED_OUTCOMES)[number];

/**
 * What an exporter does with the events of one breaker. Built once per breaker (by the `open` function
 * given to `TrackedBreakers.track`), so that its label or attribute objects are too.
 */
export interface BreakerSink {
  /**
   * A call ended. `seconds` is its duration, `undefined` for a rejection and for a call the breaker
   * could not time (one already in flight when the breaker was followed).
   */
  call(outcome: Outcome, seconds: number | undefined): void;
  /** The circuit went from one state to another. */
  transition(from: CircuitState, to: CircuitState, reason: TransitionReason): void;
  /** A call was refused (after `call('rejected', undefined)`), with the error it was refused with. */
  rejected?(error: CircuitOpenError): void;
  /** The breaker is no longer followed: it left its registry, or the exporter was stopped. Called once. */
  detach(): void;
}

/** The `TypeError` messages of `TrackedBreakers.track`. */
export interface Refusals {
  /** For a breaker without a `name`. */
  readonly unnamed: string;
  /** For a breaker whose name is already followed; `same` when by that very breaker. */
  duplicate(name: string, same: boolean): string;
}

/** Whether an event's duration was measured: a call already in flight when timing began reports `NaN`. */
function isKnownDuration(ms: number): boolean {
  return Number.isFinite(ms) && ms >= 0;
}

/**
 * The breakers followed on one sink (a prom-client registry and prefix, a meter and prefix), by name:
 * the name is the label or attribute that tells their series apart, so a name is held by one breaker
 * at a time. Iterating yields `[name, breaker]` pairs.
 */
export class TrackedBreakers implements Iterable<[string, CircuitBreaker]> {
  readonly #byName = new Map<string, CircuitBreaker>();
  readonly #refusals: Refusals;

  constructor(refusals: Refusals) {
    this.#refusals = refusals;
  }

  /** How many breakers are followed. */
  get size(): number {
    return this.#byName.size;
  }

  [Symbol.iterator](): IterableIterator<[string, CircuitBreaker]> {
    return this.#byName.entries();
  }

  /**
   * Follows a breaker, or every breaker of a registry: those in it now and those it creates later,
   * each detached when the registry drops it. `open` is called once per breaker, with its name, and
   * returns the sink its events go to. Returns the function that stops following (idempotent).
   * @throws {TypeError} when a breaker (of the registry, for a registry) has no `name`, or its name is
   *   already followed here. For a breaker a registry creates later, the error goes to the registry's
   *   listener-error reporting and that breaker is not followed; at `track` time, the breakers of the
   *   registry already followed are detached again before the error is thrown.
   */
  track(target: CircuitBreaker | BreakerRegistry, open: (breaker: CircuitBreaker, name: string) => BreakerSink): () => void {
    const attach = (breaker: CircuitBreaker) => this.#attach(breaker, open);
    return isRegistry(target) ? target.watch(attach) : attach(target);
  }

  #attach(breaker: CircuitBreaker, open: (breaker: CircuitBreaker, name: string) => BreakerSink): () => void {
    const name = breaker.name;
    if (name === undefined) throw new TypeError(this.#refusals.unnamed);
    const holder = this.#byName.get(name);
    if (holder !== undefined) throw new TypeError(this.#refusals.duplicate(name, holder === breaker));
    this.#byName.set(name, breaker);
    let sink: BreakerSink;
    try {
      sink = open(breaker, name);
    } catch (error) {
      this.#byName.delete(name);
      throw error;
    }
    // One listener per event, made here: an event costs the sink's call and nothing more.
    const timed = (outcome: TimedOutcome) => (event: { duration: number }) =>
      sink.call(outcome, isKnownDuration(event.duration) ? event.duration / 1000 : undefined);
    const offs = [
      ...TIMED_OUTCOMES.map((outcome) => breaker.on(outcome, timed(outcome))),
      breaker.on(
        'rejected',
        sink.rejected === undefined
          ? () => sink.call('rejected', undefined)
          : ({ error }) => {
              sink.call('rejected', undefined);
              sink.rejected?.(error);
            },
      ),
      // Refused by `maxConcurrent`: counted as its own outcome, never as a failure.
      breaker.on('limited', () => sink.call('limited', undefined)),
      breaker.on('stateChange', ({ from, to, reason }) => sink.transition(from, to, reason)),
    ];
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      for (const off of offs) off();
      this.#byName.delete(name);
      sink.detach();
    };
  }
}

function isRegistry(target: CircuitBreaker | BreakerRegistry): target is BreakerRegistry {
  return typeof (target as BreakerRegistry).peek === 'function';
}

/** `buckets` as both exporters need them: finite numbers in strictly increasing order (a copy). */
export function checkBuckets(value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  const bad = (Kind: TypeErrorConstructor | RangeErrorConstructor, expected: string): never => {
    const got = Array.isArray(value)
      ? `[${value.map(String).join(', ')}]`
      : typeof value === 'string'
        ? JSON.stringify(value)
        : String(value);
    throw new Kind(`breakwater: option "buckets" must be ${expected}; got ${got.slice(0, 80)}`);
  };
  if (!Array.isArray(value) || !value.every((b) => typeof b === 'number')) return bad(TypeError, 'an array of numbers');
  const numbers = value as number[];
  if (!numbers.every((b, i) => Number.isFinite(b) && (i === 0 || b > (numbers[i - 1] as number)))) {
    return bad(RangeError, 'an array of finite numbers in strictly increasing order');
  }
  return [...numbers];
}
