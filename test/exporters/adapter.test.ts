// The one event adapter behind both exporters: following breakers and registries, the names it refuses,
// the sink calls it makes, and the one list of states both exporters report.
import { type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { type BreakerSink, TrackedBreakers } from '../../src/exporters/adapter.js';
import { ATTRIBUTES, instrumentOpenTelemetry } from '../../src/exporters/opentelemetry.js';
import { instrumentPrometheus } from '../../src/exporters/prometheus.js';
import {
  BreakerRegistry,
  CIRCUIT_STATES,
  CircuitBreaker,
  CircuitOpenError,
  type CircuitState,
  TRANSITION_REASONS,
  type TransitionReason,
} from '../../src/index.js';

// The core's lists name every state and every reason: a state or reason added to the types and not to the
// lists fails the type check here.
type Missing<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : Exclude<All, Listed>;
const everyState: Missing<CircuitState, (typeof CIRCUIT_STATES)[number]> = true;
const everyReason: Missing<TransitionReason, (typeof TRANSITION_REASONS)[number]> = true;

const refusals = {
  unnamed: 'no name',
  duplicate: (name: string, same: boolean) => `${name} taken${same ? ' by itself' : ''}`,
};

type Recorded =
  | { kind: 'call'; name: string; outcome: string; seconds: number | undefined }
  | { kind: 'transition'; name: string; from: CircuitState; to: CircuitState; reason: TransitionReason }
  | { kind: 'rejected'; name: string; retryAfter: number }
  | { kind: 'detach'; name: string };

/** A sink that writes down every call the adapter makes on it. */
function recorder(options?: { rejected?: boolean }) {
  const log: Recorded[] = [];
  const opened: string[] = [];
  const open = (_breaker: CircuitBreaker, name: string): BreakerSink => {
    opened.push(name);
    return {
      call: (outcome, seconds) => log.push({ kind: 'call', name, outcome, seconds }),
      transition: (from, to, reason) => log.push({ kind: 'transition', name, from, to, reason }),
      rejected: options?.rejected === false ? undefined : (error) => log.push({ kind: 'rejected', name, retryAfter: error.retryAfter }),
      detach: () => log.push({ kind: 'detach', name }),
    };
  };
  return { log, opened, open };
}

const clock = { t: 0, now: () => clock.t };
const fail = () => Promise.reject(new Error('down'));

describe('exporters: the event adapter', () => {
  it('the core lists every circuit state and transition reason once', () => {
    expect([everyState, everyReason]).toEqual([true, true]);
    expect(new Set(CIRCUIT_STATES).size).toBe(CIRCUIT_STATES.length);
    expect(new Set(TRANSITION_REASONS).size).toBe(TRANSITION_REASONS.length);
  });

  it('turns call, rejection and transition events into sink calls, durations in seconds', async () => {
    clock.t = 0;
    const breaker = new CircuitBreaker({
      name: 'b',
      failureThreshold: 2,
      recoveryTimeout: 1000,
      clock,
      isFailure: (e) => (e as Error).message !== 'not found',
    });
    const { log, open } = recorder();
    new TrackedBreakers(refusals).track(breaker, open);
    await breaker.execute(() => {
      clock.t += 250;
      return 1;
    });
    await expect(breaker.execute(() => Promise.reject(new Error('not found')))).rejects.toThrow();
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    await expect(breaker.execute(() => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(log).toEqual([
      { kind: 'call', name: 'b', outcome: 'success', seconds: 0.25 },
      { kind: 'call', name: 'b', outcome: 'neutral', seconds: 0 },
      { kind: 'call', name: 'b', outcome: 'failure', seconds: 0 },
      // The transition is told before the call that caused it ends.
      { kind: 'transition', name: 'b', from: 'closed', to: 'open', reason: 'failure-threshold' },
      { kind: 'call', name: 'b', outcome: 'failure', seconds: 0 },
      { kind: 'call', name: 'b', outcome: 'rejected', seconds: undefined },
      { kind: 'rejected', name: 'b', retryAfter: 1000 },
    ]);
    for (const entry of log) if (entry.kind === 'transition') expect(TRANSITION_REASONS).toContain(entry.reason);
  });

  it('counts a timeout with its duration, and a rejection alone when the sink takes no rejection detail', async () => {
    const breaker = new CircuitBreaker({ name: 't', timeout: 5, failureThreshold: 1 });
    const { log, open } = recorder({ rejected: false });
    new TrackedBreakers(refusals).track(breaker, open);
    await expect(breaker.execute(() => new Promise(() => {}))).rejects.toThrow(/timed out/);
    await expect(breaker.execute(() => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    const calls = log.filter((e) => e.kind === 'call');
    expect(calls.map((e) => e.outcome)).toEqual(['timeout', 'rejected']);
    expect(calls[0]?.seconds).toBeGreaterThanOrEqual(0.004);
    expect(log.some((e) => e.kind === 'rejected')).toBe(false);
  });

  it('gives a call it could not time no duration', async () => {
    clock.t = 0;
    const breaker = new CircuitBreaker({ name: 'inflight', clock });
    let finish!: (value: number) => void;
    const call = breaker.execute(() => new Promise<number>((resolve) => (finish = resolve)));
    const { log, open } = recorder();
    new TrackedBreakers(refusals).track(breaker, open);
    clock.t += 50;
    finish(1);
    await call;
    expect(log).toEqual([{ kind: 'call', name: 'inflight', outcome: 'success', seconds: undefined }]);
  });

  it('follows a registry: its breakers now and later, each detached when the registry drops it, all when stopped', async () => {
    const breakers = new BreakerRegistry({ maxSize: 2 });
    const a = breakers.get('a');
    const tracked = new TrackedBreakers(refusals);
    const { log, opened, open } = recorder();
    const stop = tracked.track(breakers, open);
    expect(opened).toEqual(['a']);
    await breakers.get('b').execute(() => 1);
    expect(opened).toEqual(['a', 'b']);
    expect([...tracked].map(([name]) => name)).toEqual(['a', 'b']);

    breakers.get('c'); // evicts a
    expect(log.filter((e) => e.kind === 'detach')).toEqual([{ kind: 'detach', name: 'a' }]);
    expect([...tracked].map(([name]) => name)).toEqual(['b', 'c']);
    const before = log.length;
    await a.execute(() => 1); // no longer followed
    expect(log.length).toBe(before);

    stop();
    stop();
    expect(
      log
        .filter((e) => e.kind === 'detach')
        .map((e) => e.name)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    expect(tracked.size).toBe(0);
    await breakers.get('c').execute(() => 1);
    breakers.get('d');
    expect(log.length).toBe(before + 2);
    expect(opened).toEqual(['a', 'b', 'c']);
  });

  it('refuses a breaker without a name, and keeps nothing of it', () => {
    const tracked = new TrackedBreakers(refusals);
    const { opened, open } = recorder();
    expect(() => tracked.track(new CircuitBreaker(), open)).toThrow(new TypeError('no name'));
    expect(opened).toEqual([]);
    expect(tracked.size).toBe(0);
  });

  it('refuses a second breaker of one name on one sink (the same breaker too); other sinks and a freed name take it', async () => {
    const tracked = new TrackedBreakers(refusals);
    const { log, open } = recorder();
    const first = new CircuitBreaker({ name: 'pay' });
    const stop = tracked.track(first, open);
    expect(() => tracked.track(new CircuitBreaker({ name: 'pay' }), open)).toThrow(new TypeError('pay taken'));
    expect(() => tracked.track(first, open)).toThrow(new TypeError('pay taken by itself'));
    // Another sink is another set of names.
    const other = recorder();
    new TrackedBreakers(refusals).track(first, other.open);
    await first.execute(() => 1);
    expect(log.filter((e) => e.kind === 'call')).toHaveLength(1);
    expect(other.log.filter((e) => e.kind === 'call')).toHaveLength(1);

    stop();
    const second = new CircuitBreaker({ name: 'pay' });
    const stopSecond = tracked.track(second, open);
    // A stale stop function does not detach the breaker that holds the name now.
    stop();
    await second.execute(() => 1);
    expect(log.filter((e) => e.kind === 'call')).toHaveLength(2);
    stopSecond();
    expect(tracked.size).toBe(0);
  });

  it('a registry whose breaker name is taken: refused at track time with its breakers let go; reported later by the registry', async () => {
    const tracked = new TrackedBreakers(refusals);
    const { log, open } = recorder();
    tracked.track(new CircuitBreaker({ name: 'b' }), open);
    const clashing = new BreakerRegistry();
    clashing.get('a');
    clashing.get('b');
    expect(() => tracked.track(clashing, open)).toThrow(new TypeError('b taken'));
    expect(log).toEqual([{ kind: 'detach', name: 'a' }]);
    expect([...tracked].map(([name]) => name)).toEqual(['b']);

    const later = new BreakerRegistry();
    tracked.track(later, open);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await later.get('b').execute(() => 1); // the registry keeps the breaker and reports the refusal
      expect(errors).toHaveBeenCalledTimes(1);
      expect(errors.mock.calls[0]?.find((argument) => argument instanceof Error)).toEqual(new TypeError('b taken'));
    } finally {
      errors.mockRestore();
    }
    expect(later.has('b')).toBe(true);
    expect(log.filter((e) => e.kind === 'call')).toEqual([]);
  });

  it('frees the name when the sink cannot be opened', () => {
    const tracked = new TrackedBreakers(refusals);
    const breaker = new CircuitBreaker({ name: 'x' });
    expect(() =>
      tracked.track(breaker, () => {
        throw new Error('no room');
      }),
    ).toThrow('no room');
    expect(tracked.size).toBe(0);
    const { opened, open } = recorder();
    tracked.track(breaker, open);
    expect(opened).toEqual(['x']);
  });
});

/** Collects on demand, with the SDK's default cumulative temporality. */
class Reader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** What each exporter reports for one breaker: calls by outcome, transitions by from and to, the state gauge. */
async function reports(register: Registry, reader: MetricReader, name: string) {
  const prometheus = {
    calls: {} as Record<string, number>,
    transitions: {} as Record<string, number>,
    state: {} as Record<string, number>,
  };
  for (const metric of await register.getMetricsAsJSON()) {
    for (const v of metric.values as Array<{ labels: Record<string, string>; value: number }>) {
      if (v.labels.breaker !== name) continue;
      if (metric.name === 'breakwater_calls_total') prometheus.calls[v.labels.outcome as string] = v.value;
      if (metric.name === 'breakwater_transitions_total' && v.value > 0)
        prometheus.transitions[`${v.labels.from}>${v.labels.to}`] = v.value;
      if (metric.name === 'breakwater_state') prometheus.state[v.labels.state as string] = v.value;
    }
  }
  const otel = { calls: {} as Record<string, number>, transitions: {} as Record<string, number>, state: {} as Record<string, number> };
  const { resourceMetrics } = await reader.collect();
  for (const metric of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
    for (const p of metric.dataPoints as DataPoint<number>[]) {
      const at = p.attributes;
      if (at[ATTRIBUTES.breaker] !== name) continue;
      if (metric.descriptor.name === 'breakwater.calls') otel.calls[at[ATTRIBUTES.outcome] as string] = p.value;
      if (metric.descriptor.name === 'breakwater.transitions') otel.transitions[`${at[ATTRIBUTES.from]}>${at[ATTRIBUTES.to]}`] = p.value;
      if (metric.descriptor.name === 'breakwater.state') otel.state[at[ATTRIBUTES.state] as string] = p.value;
    }
  }
  return { prometheus, otel };
}

describe('exporters: Prometheus and OpenTelemetry see the same events', () => {
  it('for any run of calls, both report the outcomes and transitions the breaker emitted, and one state out of CIRCUIT_STATES', async () => {
    type Step = 'ok' | 'fail' | 'neutral' | 'wait' | 'force' | 'close';
    const step = fc.constantFrom<Step>('ok', 'fail', 'fail', 'neutral', 'wait', 'force', 'close');
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const time = { t: 0, now: () => time.t };
        const breakers = new BreakerRegistry({
          defaults: { failureThreshold: 2, recoveryTimeout: 100, clock: time, isFailure: (e) => (e as Error).message !== 'neutral' },
        });
        const register = new Registry();
        const reader = new Reader();
        const meter = new MeterProvider({ readers: [reader] }).getMeter('same');
        const stops = [instrumentPrometheus(breakers, { register }), instrumentOpenTelemetry(breakers, { meter, spanEvents: false })];
        const breaker = breakers.get('svc');
        // What the breaker itself emitted, counted apart from both exporters.
        const emitted = { calls: {} as Record<string, number>, transitions: {} as Record<string, number> };
        for (const outcome of ['success', 'failure', 'neutral', 'timeout', 'rejected', 'limited'] as const) {
          emitted.calls[outcome] = 0;
          breaker.on(outcome, () => {
            emitted.calls[outcome] = (emitted.calls[outcome] ?? 0) + 1;
          });
        }
        breaker.on('stateChange', ({ from, to }) => {
          emitted.transitions[`${from}>${to}`] = (emitted.transitions[`${from}>${to}`] ?? 0) + 1;
        });
        for (const s of steps) {
          if (s === 'wait') time.t += 100;
          else if (s === 'force') breaker.forceOpen();
          else if (s === 'close') breaker.close();
          else {
            await breaker
              .execute(() => (s === 'ok' ? 1 : Promise.reject(new Error(s === 'fail' ? 'down' : 'neutral'))))
              .catch(() => undefined);
          }
        }
        const current = breaker.state; // a recovery time that is over turns the circuit half-open as it is read
        const { prometheus, otel } = await reports(register, reader, 'svc');
        expect(prometheus.calls).toEqual(emitted.calls);
        expect(otel.calls).toEqual(emitted.calls);
        expect(prometheus.transitions).toEqual(emitted.transitions);
        expect(otel.transitions).toEqual(emitted.transitions);
        const expected = Object.fromEntries(CIRCUIT_STATES.map((s) => [s, s === current ? 1 : 0]));
        expect(prometheus.state).toEqual(expected);
        expect(otel.state).toEqual(expected);
        for (const stop of stops) stop();
      }),
      { numRuns: 40 },
    );
  });
});
