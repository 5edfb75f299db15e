/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4), written from
 * `breaker.metrics()` and the monitor's event tallies. (breakwater's Prometheus integration
 * does this for prom-client users; the example keeps it dependency-free and readable.)
 */
import type { CircuitBreaker, CircuitState } from '../../src/index.js';
import { DURATION_BUCKETS, type Monitor } from './monitor.js';

/** The content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'forced-open', 'disabled'];

/** Escapes a label value as the exposition format requires. */
export const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

const labels = (pairs: Record<string, string>): string =>
  `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;

/** Renders every metric family, each with its HELP and TYPE lines. */
export function renderMetrics(breaker: CircuitBreaker, monitor: Monitor): string {
  const m = breaker.metrics();
  const breakerName = m.name ?? 'breaker';
  const b = { breaker: breakerName };
  const out: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter' | 'histogram', help: string) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };

  family('breakwater_state', 'gauge', 'Current circuit state: 1 for the state the circuit is in, 0 for the others.');
  for (const state of STATES) out.push(`breakwater_state${labels({ ...b, state })} ${m.state === state ? 1 : 0}`);

  family(
    'breakwater_calls_total',
    'counter',
    'Calls through the breaker by outcome (rejected: failed fast, limited: over the cap of calls in flight; neither called the upstream).',
  );
  const outcomes: Record<string, number> = {
    success: m.successes,
    failure: m.failures,
    timeout: m.timeouts,
    neutral: m.neutral,
    rejected: m.rejected,
    limited: m.limited,
  };
  for (const [outcome, value] of Object.entries(outcomes)) out.push(`breakwater_calls_total${labels({ ...b, outcome })} ${value}`);

  family('breakwater_calls_in_flight', 'gauge', 'Calls to the upstream in flight now (MAX_CONCURRENT caps them).');
  out.push(`breakwater_calls_in_flight${labels(b)} ${m.inFlight}`);

  family('breakwater_consecutive_failures', 'gauge', 'Counted failures in a row (the circuit opens at the failure threshold).');
  out.push(`breakwater_consecutive_failures${labels(b)} ${m.window.failures}`);

  family(
    'breakwater_retry_after_seconds',
    'gauge',
    'Seconds until a call may get through: until the probe while open, until the probe is decided while half-open, 0 when closed.',
  );
  out.push(`breakwater_retry_after_seconds${labels(b)} ${Number.isFinite(m.retryAfter) ? m.retryAfter / 1000 : '+Inf'}`);

  family('breakwater_transitions_total', 'counter', 'State transitions since start.');
  for (const [key, value] of monitor.transitionCounts) {
    const [from = '', to = ''] = key.split('→');
    out.push(`breakwater_transitions_total${labels({ ...b, from, to })} ${value}`);
  }

  family('breakwater_call_duration_seconds', 'histogram', 'Duration of calls that reached the upstream, by outcome.');
  for (const [outcome, h] of monitor.histograms) {
    DURATION_BUCKETS.forEach((le, i) => {
      out.push(`breakwater_call_duration_seconds_bucket${labels({ ...b, outcome, le: String(le) })} ${h.counts[i]}`);
    });
    out.push(`breakwater_call_duration_seconds_bucket${labels({ ...b, outcome, le: '+Inf' })} ${h.count}`);
    out.push(`breakwater_call_duration_seconds_sum${labels({ ...b, outcome })} ${h.sum}`);
    out.push(`breakwater_call_duration_seconds_count${labels({ ...b, outcome })} ${h.count}`);
  }
  return `${out.join('\n')}\n`;
}
