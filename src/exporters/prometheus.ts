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
import { type BreakerRegistry, CIRCUIT_STATES, type CircuitBreaker } from 'breakwater';
import { Counter, register as defaultRegister, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import { type BreakerSink, checkBuckets, OUTCOMES, type Outcome, TIMED_OUTCOMES, TrackedBreakers } from './adapter.js';

/** Options of `createPrometheusMetrics` and `instrumentPrometheus`. */
export interface PrometheusOptions {
  /** The prom-client registry the metrics are registered on (default: prom-client's global `register`). */
  readonly register?: Registry;
  /** Prefix of every metric name (default `breakwater_`). */
  readonly prefix?: string;
  /**
   * Upper bounds of the call-duration histogram's buckets, in seconds: finite numbers in strictly
   * increasing order (default prom-client's: 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10).
   */
  readonly buckets?: readonly number[];
}

/** The metrics of one registry and prefix; track breakers (or a whole `BreakerRegistry`) with it. */
export interface PrometheusMetrics {
  /**
   * Starts reporting a breaker, or every breaker of a `BreakerRegistry` (those created later too;
   * evicted ones are dropped with their series). Its `calls_total` series start at 0 for every outcome.
   * Returns the function that stops it.
   *
   * Breakers are told apart by name, so two tracked breakers cannot share one. A registry breaker
   * created later under a name already tracked (two registries with a common key, say) is not
   * reported: the `TypeError` is thrown inside the registry's `add` listener, which reports it
   * (`console.error`) and keeps the breaker. Give such registries distinct names: a registry's
   * `defaults.name` (`breaker.name` for `createBreakerFetch`) prefixes its breakers' names (`name:key`).
   * @throws {TypeError} when a breaker (of the registry, for a registry) has no `name` (the metrics'
   *   label) or another tracked breaker has the same name.
   */
  track(target: CircuitBreaker | BreakerRegistry): () => void;
  /** The registry the metrics live on. */
  readonly register: Registry;
}

/** The transitions of a breaker's usual cycle: closed → open → half-open → closed, or back to open. */
const USUAL_TRANSITIONS = [
  ['closed', 'open'],
  ['open', 'half-open'],
  ['half-open', 'closed'],
  ['half-open', 'open'],
] as const;

type Labels = 'breaker' | 'outcome';

/** The metrics of one registry and prefix, with the prom-client objects they registered. */
interface Created {
  readonly metrics: PrometheusMetrics;
  /** Each metric's name and object, to tell whether the registry still holds them. */
  readonly registered: ReadonlyArray<readonly [string, Metric]>;
}

const created = new WeakMap<Registry, Map<string, Created>>();

/**
 * Registers breakwater's metrics on a prom-client registry, once per registry and prefix: a second
 * call returns the same object (and its `buckets` are ignored) as long as the registry still holds
 * those metrics. After `register.clear()` (or the removal of one of them) the metrics are registered
 * anew, and breakers tracked before must be tracked again on the new object.
 *
 * - `breakwater_state{breaker, state}`: 1 for the breaker's current state, 0 for the others (read at scrape time).
 * - `breakwater_calls_total{breaker, outcome}`: calls by outcome (success, failure, neutral, timeout, rejected, limited: refused by `maxConcurrent`),
 *   each from 0 as soon as the breaker is tracked.
 * - `breakwater_call_duration_seconds{breaker, outcome}`: histogram of call durations (rejections, and calls
 *   whose duration is unknown, excluded).
 * - `breakwater_transitions_total{breaker, from, to}`: state transitions.
 * @throws {TypeError | RangeError} when `prefix` is not a valid metric name prefix, or `buckets` not an
 *   array of finite numbers in strictly increasing order.
 */
export function createPrometheusMetrics(options?: PrometheusOptions): PrometheusMetrics {
  const register = options?.register ?? defaultRegister;
  const prefix = options?.prefix ?? 'breakwater_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new TypeError(`breakwater: option "prefix" must be a valid Prometheus metric name prefix; got ${String(prefix)}`);
  }
  const buckets = checkBuckets(options?.buckets);
  let byPrefix = created.get(register);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    created.set(register, byPrefix);
  }
  const existing = byPrefix.get(prefix);
  if (existing !== undefined) {
    if (existing.registered.every(([name, metric]) => register.getSingleMetric(name) === metric)) return existing.metrics;
    // Cleared or partly removed: take out what is left of the old set, so that the new one can register.
    for (const [name, metric] of existing.registered) {
      if (register.getSingleMetric(name) === metric) register.removeSingleMetric(name);
    }
  }
  const fresh = build(register, prefix, buckets);
  byPrefix.set(prefix, fresh);
  return fresh.metrics;
}

/**
 * Shorthand for `createPrometheusMetrics(options).track(target)`.
 * @throws {TypeError | RangeError} as `createPrometheusMetrics` and `track` do.
 */
export function instrumentPrometheus(target: CircuitBreaker | BreakerRegistry, options?: PrometheusOptions): () => void {
  return createPrometheusMetrics(options).track(target);
}

function build(register: Registry, prefix: string, buckets: number[] | undefined): Created {
  const tracked = new TrackedBreakers({
    unnamed: 'breakwater: a breaker needs a `name` to be tracked (it is the metrics label)',
    duplicate: (name) =>
      `breakwater: a breaker named "${name}" is already tracked on these metrics (prefix "${prefix}"); give breakers distinct names, e.g. a registry's \`defaults.name\` prefixes its breakers' names`,
  });
  const registers = [register];

  const state = new Gauge<'breaker' | 'state'>({
    name: `${prefix}state`,
    help: 'Circuit state: 1 for the current state of the breaker, 0 for the others',
    labelNames: ['breaker', 'state'],
    registers,
    collect() {
      for (const [name, breaker] of tracked) {
        const current = breaker.state;
        for (const s of CIRCUIT_STATES) this.set({ breaker: name, state: s }, s === current ? 1 : 0);
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
    ...(buckets === undefined ? {} : { buckets }),
  });
  const transitions = new Counter<'breaker' | 'from' | 'to'>({
    name: `${prefix}transitions_total`,
    help: 'State transitions of the breaker',
    labelNames: ['breaker', 'from', 'to'],
    registers,
  });

  const open = (_breaker: CircuitBreaker, name: string): BreakerSink => {
    // Label objects built once per breaker, not per call.
    const labels = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, { breaker: name, outcome }])) as Record<
      Outcome,
      { breaker: string; outcome: string }
    >;
    // Every outcome's counter exists from the start at 0, so that rate() sees the first calls of each;
    // series are bound once: no per-call label hashing.
    const counters = {} as Record<Outcome, { inc(value?: number): void }>;
    for (const outcome of OUTCOMES) {
      counters[outcome] = calls.labels(labels[outcome]);
      counters[outcome].inc(0);
    }
    // Histogram series are bound on first use: no empty histograms for outcomes never seen.
    const histograms: Partial<Record<Outcome, { observe(value: number): void }>> = {};
    // The transitions of the usual cycle start at 0 too, so that increase() sees the first time a circuit opens.
    for (const [from, to] of USUAL_TRANSITIONS) transitions.inc({ breaker: name, from, to }, 0);
    return {
      call(outcome, seconds) {
        counters[outcome].inc();
        // A call the breaker could not time (or refused) has no duration to observe; it is still counted.
        if (seconds === undefined) return;
        histograms[outcome] ??= duration.labels(labels[outcome]);
        histograms[outcome].observe(seconds);
      },
      transition(from, to) {
        transitions.inc({ breaker: name, from, to });
      },
      detach() {
        for (const outcome of OUTCOMES) calls.remove(labels[outcome]);
        for (const outcome of TIMED_OUTCOMES) duration.remove(labels[outcome]);
        for (const s of CIRCUIT_STATES) {
          state.remove({ breaker: name, state: s });
          for (const t of CIRCUIT_STATES) transitions.remove({ breaker: name, from: s, to: t });
        }
      },
    };
  };

  return {
    metrics: {
      register,
      track: (target) => tracked.track(target, open),
    },
    registered: [
      [`${prefix}state`, state],
      [`${prefix}calls_total`, calls],
      [`${prefix}call_duration_seconds`, duration],
      [`${prefix}transitions_total`, transitions],
    ],
  };
}
