/**
 * Prometheus metrics for breakwater breakers, through prom-client (an optional peer dependency).
 *
 * @example
 * ```ts
 * import { BreakerRegistry } from 'breakwater';
 * import { instrumentPrometheus } from 'breakwater/prometheus';
 *
 * const breakers = new BreakerRegistry({ defaults: { failureThreshold: 5 } });
 * instrumentPrometheus(breakers); // every breaker, present and future, on prom-client's default registry
 * ```
 * @packageDocumentation
 */
import type { BreakerRegistry, CircuitBreaker, CircuitState } from 'breakwater';
import { Counter, register as defaultRegister, Gauge, Histogram, type Registry } from 'prom-client';

/** Options of `createPrometheusMetrics` and `instrumentPrometheus`. */
export interface PrometheusOptions {
  /** The prom-client registry the metrics are registered on (default: prom-client's global `register`). */
  readonly register?: Registry;
  /** Prefix of every metric name (default `breakwater_`). */
  readonly prefix?: string;
  /** Buckets of the call-duration histogram, in seconds (default prom-client's: 5 ms … 10 s). */
  readonly buckets?: readonly number[];
}

/** The metrics of one registry and prefix; track breakers (or a whole `BreakerRegistry`) with it. */
export interface PrometheusMetrics {
  /**
   * Starts reporting a breaker, or every breaker of a `BreakerRegistry` (those created later too;
   * evicted ones are dropped with their series). Returns the function that stops it.
   * @throws {TypeError} when a breaker has no `name` (the metrics' label) or another tracked breaker has the same name.
   */
  track(target: CircuitBreaker | BreakerRegistry): () => void;
  /** The registry the metrics live on. */
  readonly register: Registry;
}

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'forced-open', 'disabled'];
const OUTCOMES = ['success', 'failure', 'neutral', 'timeout', 'rejected'] as const;
const TIMED_OUTCOMES = ['success', 'failure', 'neutral', 'timeout'] as const;

type Labels = 'breaker' | 'outcome';

const created = new WeakMap<Registry, Map<string, PrometheusMetrics>>();

/**
 * Registers breakwater's metrics on a prom-client registry (once per registry and prefix; a second
 * call returns the same object, and its `buckets` are ignored):
 *
 * - `breakwater_state{breaker, state}`: 1 for the breaker's current state, 0 for the others (read at scrape time).
 * - `breakwater_calls_total{breaker, outcome}`: calls by outcome (success, failure, neutral, timeout, rejected).
 * - `breakwater_call_duration_seconds{breaker, outcome}`: histogram of call durations (rejections excluded).
 * - `breakwater_transitions_total{breaker, from, to}`: state transitions.
 */
export function createPrometheusMetrics(options?: PrometheusOptions): PrometheusMetrics {
  const register = options?.register ?? defaultRegister;
  const prefix = options?.prefix ?? 'breakwater_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new TypeError(`breakwater: option "prefix" must be a valid Prometheus metric name prefix; got ${String(prefix)}`);
  }
  let byPrefix = created.get(register);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    created.set(register, byPrefix);
  }
  const existing = byPrefix.get(prefix);
  if (existing !== undefined) return existing;
  const metrics = build(register, prefix, options?.buckets);
  byPrefix.set(prefix, metrics);
  return metrics;
}

/** Shorthand for `createPrometheusMetrics(options).track(target)`. */
export function instrumentPrometheus(target: CircuitBreaker | BreakerRegistry, options?: PrometheusOptions): () => void {
  return createPrometheusMetrics(options).track(target);
}

function build(register: Registry, prefix: string, buckets: readonly number[] | undefined): PrometheusMetrics {
  const tracked = new Map<string, CircuitBreaker>();
  const registers = [register];

  const state = new Gauge<'breaker' | 'state'>({
    name: `${prefix}state`,
    help: 'Circuit state: 1 for the current state of the breaker, 0 for the others',
    labelNames: ['breaker', 'state'],
    registers,
    collect() {
      for (const [name, breaker] of tracked) {
        const current = breaker.state;
        for (const s of STATES) this.set({ breaker: name, state: s }, s === current ? 1 : 0);
      }
    },
  });
  const calls = new Counter<Labels>({
    name: `${prefix}calls_total`,
    help: 'Calls through the breaker by outcome',
    labelNames: ['breaker', 'outcome'],
    registers,
  });
  const duration = new Histogram<Labels>({
    name: `${prefix}call_duration_seconds`,
    help: 'Duration of calls through the breaker (rejected calls excluded)',
    labelNames: ['breaker', 'outcome'],
    registers,
    ...(buckets === undefined ? {} : { buckets: [...buckets] }),
  });
  const transitions = new Counter<'breaker' | 'from' | 'to'>({
    name: `${prefix}transitions_total`,
    help: 'State transitions of the breaker',
    labelNames: ['breaker', 'from', 'to'],
    registers,
  });

  const trackBreaker = (breaker: CircuitBreaker): (() => void) => {
    const name = breaker.name;
    if (name === undefined) {
      throw new TypeError('breakwater: a breaker needs a `name` to be tracked (it is the metrics label)');
    }
    if (tracked.has(name)) throw new TypeError(`breakwater: a breaker named "${name}" is already tracked`);
    tracked.set(name, breaker);
    // Label objects built once per breaker, not per call.
    const labels = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, { breaker: name, outcome }])) as Record<
      (typeof OUTCOMES)[number],
      { breaker: string; outcome: string }
    >;
    const timed = (outcome: (typeof TIMED_OUTCOMES)[number]) => {
      // Series are bound on first use: no per-call label hashing, and no empty series for outcomes never seen.
      let counter: { inc(): void } | undefined;
      let histogram: { observe(value: number): void } | undefined;
      return (event: { duration: number }) => {
        counter ??= calls.labels(labels[outcome]);
        histogram ??= duration.labels(labels[outcome]);
        counter.inc();
        histogram.observe(event.duration / 1000);
      };
    };
    let rejected: { inc(): void } | undefined;
    const offs = [
      ...TIMED_OUTCOMES.map((outcome) => breaker.on(outcome, timed(outcome))),
      breaker.on('rejected', () => {
        rejected ??= calls.labels(labels.rejected);
        rejected.inc();
      }),
      breaker.on('stateChange', ({ from, to }) => transitions.inc({ breaker: name, from, to })),
    ];
    return () => {
      for (const off of offs) off();
      if (tracked.get(name) !== breaker) return;
      tracked.delete(name);
      for (const outcome of OUTCOMES) calls.remove(labels[outcome]);
      for (const outcome of TIMED_OUTCOMES) duration.remove(labels[outcome]);
      for (const s of STATES) {
        state.remove({ breaker: name, state: s });
        for (const t of STATES) transitions.remove({ breaker: name, from: s, to: t });
      }
    };
  };

  return {
    register,
    track(target) {
      return isRegistry(target) ? target.watch(trackBreaker) : trackBreaker(target);
    },
  };
}

function isRegistry(target: CircuitBreaker | BreakerRegistry): target is BreakerRegistry {
  return typeof (target as BreakerRegistry).peek === 'function';
}
