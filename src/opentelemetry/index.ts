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
import type { BreakerRegistry, CircuitBreaker, CircuitState } from 'breakwater';

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
}

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'forced-open', 'disabled'];
const OUTCOMES = ['success', 'failure', 'neutral', 'timeout', 'rejected'] as const;
const TIMED_OUTCOMES = ['success', 'failure', 'neutral', 'timeout'] as const;

/** Attribute names used on metrics and span events. */
export const ATTRIBUTES = {
  /** The breaker's name, on every point and event. */
  breaker: 'breakwater.breaker',
  /** A call's outcome: success, failure, neutral, timeout or rejected. */
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

/**
 * Reports a breaker, or every breaker of a `BreakerRegistry` (those created later too; evicted ones
 * are dropped), as OpenTelemetry instruments:
 *
 * - `breakwater.calls` (counter): calls by `breakwater.outcome` (success, failure, neutral, timeout, rejected).
 * - `breakwater.call.duration` (histogram, seconds): call durations by outcome, rejections excluded.
 * - `breakwater.state` (observable gauge): 1 for the current `breakwater.state`, 0 for the others.
 * - `breakwater.transitions` (counter): transitions by `breakwater.from` and `breakwater.to`.
 *
 * Every point carries `breakwater.breaker`, the breaker's name. With `spanEvents`, a rejection adds a
 * `breakwater.rejected` event and a transition a `breakwater.state_change` event to the span active then.
 *
 * Returns the function that stops reporting.
 * @throws {TypeError} when a breaker has no `name`.
 */
export function instrumentOpenTelemetry(target: CircuitBreaker | BreakerRegistry, options?: OpenTelemetryOptions): () => void {
  const meter = options?.meter ?? metrics.getMeter('breakwater');
  const prefix = options?.prefix ?? 'breakwater.';
  const spanEvents = options?.spanEvents ?? true;
  const tracked = new Set<CircuitBreaker>();

  const calls = meter.createCounter(`${prefix}calls`, { description: 'Calls through the breaker by outcome', unit: '{call}' });
  const duration = meter.createHistogram(`${prefix}call.duration`, {
    description: 'Duration of calls through the breaker (rejected calls excluded)',
    unit: 's',
  });
  const transitions = meter.createCounter(`${prefix}transitions`, {
    description: 'State transitions of the breaker',
    unit: '{transition}',
  });
  const state = meter.createObservableGauge(`${prefix}state`, { description: 'Circuit state: 1 for the current state, 0 for the others' });
  const observe = (result: ObservableResult) => {
    for (const breaker of tracked) {
      const current = breaker.state;
      for (const s of STATES) result.observe(s === current ? 1 : 0, { [ATTRIBUTES.breaker]: breaker.name, [ATTRIBUTES.state]: s });
    }
  };
  state.addCallback(observe);

  const trackBreaker = (breaker: CircuitBreaker): (() => void) => {
    const name = breaker.name;
    if (name === undefined) throw new TypeError('breakwater: a breaker needs a `name` to be instrumented (it is the metrics attribute)');
    tracked.add(breaker);
    // Attribute objects built once per breaker, not per call.
    const attributes = {} as Record<(typeof OUTCOMES)[number], Attributes>;
    for (const outcome of OUTCOMES) attributes[outcome] = { [ATTRIBUTES.breaker]: name, [ATTRIBUTES.outcome]: outcome };
    const timed = (outcome: (typeof TIMED_OUTCOMES)[number]) => (event: { duration: number }) => {
      calls.add(1, attributes[outcome]);
      duration.record(event.duration / 1000, attributes[outcome]);
    };
    const offs = [
      ...TIMED_OUTCOMES.map((outcome) => breaker.on(outcome, timed(outcome))),
      breaker.on('rejected', ({ error }) => {
        calls.add(1, attributes.rejected);
        if (!spanEvents) return;
        const span = trace.getActiveSpan();
        if (span === undefined) return;
        span.addEvent('breakwater.rejected', {
          [ATTRIBUTES.breaker]: name,
          // Forced open has no end: leave the attribute out rather than export Infinity.
          ...(Number.isFinite(error.retryAfter) ? { [ATTRIBUTES.retryAfter]: error.retryAfter } : {}),
        });
      }),
      breaker.on('stateChange', ({ from, to, reason }) => {
        transitions.add(1, { [ATTRIBUTES.breaker]: name, [ATTRIBUTES.from]: from, [ATTRIBUTES.to]: to });
        if (spanEvents) {
          trace.getActiveSpan()?.addEvent('breakwater.state_change', {
            [ATTRIBUTES.breaker]: name,
            [ATTRIBUTES.from]: from,
            [ATTRIBUTES.to]: to,
            [ATTRIBUTES.reason]: reason,
          });
        }
      }),
    ];
    return () => {
      for (const off of offs) off();
      tracked.delete(breaker);
    };
  };

  const stopTarget =
    typeof (target as BreakerRegistry).peek === 'function'
      ? (target as BreakerRegistry).watch(trackBreaker)
      : trackBreaker(target as CircuitBreaker);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    stopTarget();
    state.removeCallback(observe);
  };
}
