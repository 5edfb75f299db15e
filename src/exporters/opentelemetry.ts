/**
 * OpenTelemetry metrics and span events for breakwater breakers, through `@opentelemetry/api`
 * (an optional peer dependency). Works with whatever SDK the application set up; without one, the
 * API's no-op meter and tracer make it cost next to nothing.
 *
 * @example
 * ```ts
 * import { BreakerRegistry } from 'breakwater';
 * import { instrumentOpenTelemetry } from 'breakwater/opentelemetry';
 *
 * const breakers = new BreakerRegistry();
 * instrumentOpenTelemetry(breakers); // the global meter provider, span events on the active span
 * ```
 * @packageDocumentation
 */
import { type Attributes, type Meter, metrics, type ObservableResult, trace } from '@opentelemetry/api';
import { type BreakerRegistry, CIRCUIT_STATES, type CircuitBreaker } from 'breakwater';
import { type BreakerSink, checkBuckets, DEFAULT_BUCKETS, OUTCOMES, type Outcome, TrackedBreakers } from './adapter.js';

/** Options of `instrumentOpenTelemetry`. */
export interface OpenTelemetryOptions {
  /**
   * The meter the instruments are created on (default: `metrics.getMeter('breakwater')` from the global
   * provider — set the SDK up before instrumenting, since the API's global meter does not wait for one).
   */
  readonly meter?: Meter;
  /** Prefix of every instrument name (default `breakwater.`). */
  readonly prefix?: string;
  /** Add `breakwater.rejected` and `breakwater.state_change` events to the active span (default `true`). */
  readonly spanEvents?: boolean;
  /**
   * Bucket boundaries of the call-duration histogram, in seconds: finite numbers in strictly increasing
   * order (default the Prometheus exporter's: 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10).
   * They reach the SDK as the instrument's advice (`@opentelemetry/api` 1.7 or later): a View that sets
   * the histogram's aggregation overrides them, and a histogram already created on the meter (by an
   * earlier call with the same prefix) keeps its first boundaries.
   */
  readonly buckets?: readonly number[];
}

/** Attribute names used on metrics and span events. */
export const ATTRIBUTES = {
  /** The breaker's name, on every point and event. */
  breaker: 'breakwater.breaker',
  /** A call's outcome: success, failure, neutral, timeout, rejected or limited (refused by `maxConcurrent`). */
  outcome: 'breakwater.outcome',
  /** A circuit state, on the state gauge. */
  state: 'breakwater.state',
  /** The state a transition left. */
  from: 'breakwater.from',
  /** The state a transition entered. */
  to: 'breakwater.to',
  /** Why a transition happened (`failure-threshold`, `probe-succeeded`, …). */
  reason: 'breakwater.reason',
  /** Ms until the circuit admits a probe, on rejection events (absent while forced open). */
  retryAfter: 'breakwater.retry_after_ms',
} as const;

/** The breakers instrumented on each meter, by prefix: one name is reported once per meter and prefix. */
const instrumented = new WeakMap<Meter, Map<string, TrackedBreakers>>();

/**
 * Reports a breaker, or every breaker of a `BreakerRegistry` (those created later too; evicted ones
 * are dropped), as OpenTelemetry instruments:
 *
 * - `breakwater.calls` (counter): calls by `breakwater.outcome` (success, failure, neutral, timeout,
 *   rejected, limited); each outcome's series starts at 0 when the breaker is instrumented.
 * - `breakwater.call.duration` (histogram, seconds, boundaries from `buckets`): call durations by
 *   outcome, rejections and calls whose duration is unknown excluded.
 * - `breakwater.state` (observable gauge): 1 for the current `breakwater.state`, 0 for the others.
 *   A breaker that is dropped (or no longer reported) reads 0 for every state at the next collection,
 *   then is no longer observed.
 * - `breakwater.transitions` (counter): transitions by `breakwater.from` and `breakwater.to`.
 *
 * Every point carries `breakwater.breaker`, the breaker's name. With `spanEvents`, a rejection adds a
 * `breakwater.rejected` event and a transition a `breakwater.state_change` event to the span active then.
 *
 * Counters keep the series of a dropped breaker under cumulative temporality (the SDK's default): see
 * the guide for delta temporality or a View.
 *
 * Returns the function that stops reporting.
 * @throws {TypeError} when a breaker (of the registry, for a registry) has no `name`, or is already
 *   instrumented on this meter with this prefix. For a breaker a registry creates later, the error goes
 *   to the registry's listener-error reporting (`console.error`) and that breaker is not reported.
 * @throws {TypeError | RangeError} when `buckets` is not an array of finite numbers in strictly increasing order.
 */
export function instrumentOpenTelemetry(target: CircuitBreaker | BreakerRegistry, options?: OpenTelemetryOptions): () => void {
  const meter = options?.meter ?? metrics.getMeter('breakwater');
  const prefix = options?.prefix ?? 'breakwater.';
  const spanEvents = options?.spanEvents ?? true;
  const buckets = checkBuckets(options?.buckets) ?? [...DEFAULT_BUCKETS];
  let byPrefix = instrumented.get(meter);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    instrumented.set(meter, byPrefix);
  }
  let followed = byPrefix.get(prefix);
  if (followed === undefined) {
    followed = new TrackedBreakers({
      unnamed: 'breakwater: a breaker needs a `name` to be instrumented (it is the metrics attribute)',
      duplicate: (name, same) =>
        same
          ? `breakwater: the breaker "${name}" is already instrumented on this meter with prefix "${prefix}" (through its registry, say); its calls would be counted twice`
          : // Its state and counts would merge with the other's under one attribute set: an open circuit could read closed.
            `breakwater: a breaker named "${name}" is already instrumented on this meter with prefix "${prefix}"; give breakers distinct names, e.g. a registry's \`defaults.name\` prefixes its breakers' names`,
    });
    byPrefix.set(prefix, followed);
  }
  /** The breakers this call reports, and whether a collection has observed their state yet. */
  const tracked = new Map<CircuitBreaker, { observed: boolean }>();
  /** Names of dropped breakers whose state was observed: they read 0 at the next collection. */
  const retired = new Set<string>();

  const calls = meter.createCounter(`${prefix}calls`, { description: 'Calls through the breaker by outcome', unit: '{call}' });
  const duration = meter.createHistogram(`${prefix}call.duration`, {
    description: 'Duration of calls through the breaker (rejected calls excluded)',
    unit: 's',
    advice: { explicitBucketBoundaries: buckets },
  });
  const transitions = meter.createCounter(`${prefix}transitions`, {
    description: 'State transitions of the breaker',
    unit: '{transition}',
  });
  const state = meter.createObservableGauge(`${prefix}state`, { description: 'Circuit state: 1 for the current state, 0 for the others' });
  let stopped = false;
  const observe = (result: ObservableResult) => {
    if (retired.size > 0) {
      // A cumulative reader repeats a series' last value while it is not observed: end it on 0. A breaker
      // tracked again under the same name in the meantime is observed below instead.
      const current = new Set<string | undefined>();
      for (const breaker of tracked.keys()) current.add(breaker.name);
      for (const name of retired) {
        if (!current.has(name)) for (const s of CIRCUIT_STATES) result.observe(0, { [ATTRIBUTES.breaker]: name, [ATTRIBUTES.state]: s });
      }
      retired.clear();
    }
    for (const [breaker, entry] of tracked) {
      entry.observed = true;
      const current = breaker.state;
      for (const s of CIRCUIT_STATES) result.observe(s === current ? 1 : 0, { [ATTRIBUTES.breaker]: breaker.name, [ATTRIBUTES.state]: s });
    }
    // Not from inside the callback: the SDK is iterating over the callbacks.
    if (stopped) queueMicrotask(() => state.removeCallback(observe));
  };
  state.addCallback(observe);

  const open = (breaker: CircuitBreaker, name: string): BreakerSink => {
    const entry = { observed: false };
    tracked.set(breaker, entry);
    // Attribute objects built once per breaker, not per call.
    const attributes = {} as Record<Outcome, Attributes>;
    for (const outcome of OUTCOMES) {
      attributes[outcome] = { [ATTRIBUTES.breaker]: name, [ATTRIBUTES.outcome]: outcome };
      // Every outcome's series exists from the start, so that a rate sees the first calls of each.
      calls.add(0, attributes[outcome]);
    }
    return {
      call(outcome, seconds) {
        calls.add(1, attributes[outcome]);
        // A call the breaker could not time (or refused) has no duration to record; it is still counted.
        if (seconds !== undefined) duration.record(seconds, attributes[outcome]);
      },
      transition(from, to, reason) {
        transitions.add(1, { [ATTRIBUTES.breaker]: name, [ATTRIBUTES.from]: from, [ATTRIBUTES.to]: to });
        if (spanEvents) {
          trace.getActiveSpan()?.addEvent('breakwater.state_change', {
            [ATTRIBUTES.breaker]: name,
            [ATTRIBUTES.from]: from,
            [ATTRIBUTES.to]: to,
            [ATTRIBUTES.reason]: reason,
          });
        }
      },
      // Without span events, a rejection is only counted.
      rejected: spanEvents
        ? (error) => {
            const span = trace.getActiveSpan();
            if (span === undefined) return;
            span.addEvent('breakwater.rejected', {
              [ATTRIBUTES.breaker]: name,
              // Forced open has no end: leave the attribute out rather than export Infinity.
              ...(Number.isFinite(error.retryAfter) ? { [ATTRIBUTES.retryAfter]: error.retryAfter } : {}),
            });
          }
        : undefined,
      detach() {
        tracked.delete(breaker);
        if (entry.observed) retired.add(name);
      },
    };
  };

  let stopTarget: () => void;
  try {
    stopTarget = followed.track(target, open);
  } catch (error) {
    state.removeCallback(observe);
    throw error;
  }
  return () => {
    if (stopped) return;
    stopped = true;
    stopTarget();
    // The callback stays for one more collection when a dropped breaker's state must still read 0.
    if (retired.size === 0) state.removeCallback(observe);
  };
}
