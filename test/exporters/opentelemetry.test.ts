import {
  type Context,
  type ContextManager,
  context,
  metrics as otelMetrics,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InstrumentType,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ATTRIBUTES, instrumentOpenTelemetry } from '../../src/exporters/opentelemetry.js';
import { BreakerRegistry, CircuitBreaker } from '../../src/index.js';
import { eventSource } from '../helpers/event-source.js';

/**
 * Collects on demand. Gauges are read as deltas, so a series the breakers no longer observe is
 * gone from the next collection (cumulative storage would repeat its last value).
 */
class TestReader extends MetricReader {
  constructor() {
    super({
      aggregationTemporalitySelector: (type) =>
        type === InstrumentType.OBSERVABLE_GAUGE ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
    });
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** The SDK's defaults: cumulative temporality for every instrument (what the periodic exporting reader uses). */
class CumulativeReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** Every instrument read as deltas: a series nothing was recorded to since the last collection is left out. */
class DeltaReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** A synchronous context manager: enough to make a span active around synchronous code. */
class StackContextManager implements ContextManager {
  #current: Context = ROOT_CONTEXT;
  active(): Context {
    return this.#current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A) {
    const previous = this.#current;
    this.#current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#current = previous;
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#current = ROOT_CONTEXT;
    return this;
  }
}

/** Records the events added to it. */
function recordingSpan(): Span & { events: Array<{ name: string; attributes: unknown }> } {
  const events: Array<{ name: string; attributes: unknown }> = [];
  const spanContext: SpanContext = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
  };
  const span = {
    events,
    spanContext: () => spanContext,
    addEvent(name: string, attributes?: unknown) {
      events.push({ name, attributes });
      return span;
    },
    isRecording: () => true,
  };
  return span as unknown as Span & { events: typeof events };
}

function setup(reader: MetricReader = new TestReader()) {
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('test');
  const points = async (name: string) => {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []) as DataPoint<unknown>[];
  };
  const point = async (name: string, attributes: Record<string, string>) =>
    (await points(name)).find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))?.value;
  return { meter, points, point };
}

const clock = { t: 0, now: () => clock.t };
const fail = () => Promise.reject(new Error('down'));
const OUTCOMES = ['success', 'failure', 'neutral', 'timeout', 'rejected', 'limited'];
const STATES = ['closed', 'open', 'half-open', 'forced-open', 'disabled'];

beforeAll(() => {
  context.setGlobalContextManager(new StackContextManager());
});
afterAll(() => {
  context.disable();
});

describe('breakwater/opentelemetry', () => {
  it('counts calls by outcome, records durations in seconds, observes the state and counts transitions', async () => {
    const { meter, point } = setup();
    clock.t = 0;
    const breaker = new CircuitBreaker({ name: 'users', failureThreshold: 1, recoveryTimeout: 1000, clock, timeout: 60_000 });
    instrumentOpenTelemetry(breaker, { meter });
    await breaker.execute(() => {
      clock.t += 500;
      return 1;
    });
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    await expect(breaker.execute(() => 1)).rejects.toThrow(/open/);
    const at = (outcome: string) => ({ [ATTRIBUTES.breaker]: 'users', [ATTRIBUTES.outcome]: outcome });
    expect(await point('breakwater.calls', at('success'))).toBe(1);
    expect(await point('breakwater.calls', at('failure'))).toBe(1);
    expect(await point('breakwater.calls', at('rejected'))).toBe(1);
    expect(((await point('breakwater.call.duration', at('success'))) as Histogram).sum).toBe(0.5);
    expect(await point('breakwater.state', { [ATTRIBUTES.breaker]: 'users', [ATTRIBUTES.state]: 'open' })).toBe(1);
    expect(await point('breakwater.state', { [ATTRIBUTES.breaker]: 'users', [ATTRIBUTES.state]: 'closed' })).toBe(0);
    expect(await point('breakwater.transitions', { [ATTRIBUTES.from]: 'closed', [ATTRIBUTES.to]: 'open' })).toBe(1);
    clock.t += 1000;
    expect(await point('breakwater.state', { [ATTRIBUTES.breaker]: 'users', [ATTRIBUTES.state]: 'half-open' })).toBe(1);
  });

  it('counts neutral errors and timeouts', async () => {
    const { meter, point } = setup();
    const breaker = new CircuitBreaker({ name: 'n', timeout: 5, isFailure: () => false });
    instrumentOpenTelemetry(breaker, { meter, prefix: 'app.' });
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    await expect(breaker.execute(() => new Promise(() => {}))).rejects.toThrow(/timed out/);
    expect(await point('app.calls', { [ATTRIBUTES.outcome]: 'neutral' })).toBe(1);
    expect(await point('app.calls', { [ATTRIBUTES.outcome]: 'timeout' })).toBe(1);
  });

  it('adds rejection and transition events to the active span', async () => {
    const { meter } = setup();
    const breaker = new CircuitBreaker({ name: 'pay', recoveryTimeout: 3000, clock });
    instrumentOpenTelemetry(breaker, { meter });
    const span = recordingSpan();
    await context.with(trace.setSpan(context.active(), span), async () => {
      breaker.forceOpen();
      const rejected = breaker.execute(() => 1);
      await expect(rejected).rejects.toThrow(/open/);
    });
    expect(span.events).toEqual([
      {
        name: 'breakwater.state_change',
        attributes: {
          [ATTRIBUTES.breaker]: 'pay',
          [ATTRIBUTES.from]: 'closed',
          [ATTRIBUTES.to]: 'forced-open',
          [ATTRIBUTES.reason]: 'forced-open',
        },
      },
      // Forced open: no finite retry-after to report.
      { name: 'breakwater.rejected', attributes: { [ATTRIBUTES.breaker]: 'pay' } },
    ]);
    const timed = new CircuitBreaker({ name: 'timed', failureThreshold: 1, recoveryTimeout: 3000, clock });
    instrumentOpenTelemetry(timed, { meter });
    clock.t = 0;
    await expect(timed.execute(fail)).rejects.toThrow('down');
    const second = recordingSpan();
    context.with(trace.setSpan(context.active(), second), () => {
      timed.execute(() => 1).catch(() => {});
    });
    expect(second.events).toEqual([
      { name: 'breakwater.rejected', attributes: { [ATTRIBUTES.breaker]: 'timed', [ATTRIBUTES.retryAfter]: 3000 } },
    ]);
  });

  it('counts calls refused by maxConcurrent as their own outcome, not as failures', async () => {
    const { meter, point } = setup();
    const breaker = new CircuitBreaker({ name: 'capped', maxConcurrent: 1 });
    instrumentOpenTelemetry(breaker, { meter });
    let release = () => {};
    const held = breaker.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(breaker.execute(() => 1)).rejects.toThrow(/maxConcurrent/);
    release();
    await held;
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'capped', [ATTRIBUTES.outcome]: 'limited' })).toBe(1);
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'capped', [ATTRIBUTES.outcome]: 'failure' })).toBe(0);
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'capped', [ATTRIBUTES.outcome]: 'success' })).toBe(1);
  });

  it('adds no span events when turned off or when no span is active', async () => {
    const { meter, point } = setup();
    const breaker = new CircuitBreaker({ name: 'quiet' });
    instrumentOpenTelemetry(breaker, { meter, spanEvents: false });
    const span = recordingSpan();
    await context.with(trace.setSpan(context.active(), span), async () => {
      breaker.forceOpen();
      await expect(breaker.execute(() => 1)).rejects.toThrow(/open/);
    });
    expect(span.events).toEqual([]);
    expect(await point('breakwater.calls', { [ATTRIBUTES.outcome]: 'rejected' })).toBe(1);
    const other = new CircuitBreaker({ name: 'no-span' });
    instrumentOpenTelemetry(other, { meter });
    other.forceOpen();
    await expect(other.execute(() => 1)).rejects.toThrow(/open/);
  });

  it('tracks a registry, later breakers too; an evicted breaker reads 0 once, then is gone; stop ends reporting', async () => {
    const { meter, point, points } = setup();
    const breakers = new BreakerRegistry({ maxSize: 2 });
    breakers.get('a');
    const stop = instrumentOpenTelemetry(breakers, { meter });
    await breakers.get('b').execute(() => 1);
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'b', [ATTRIBUTES.outcome]: 'success' })).toBe(1);
    expect(await point('breakwater.state', { [ATTRIBUTES.breaker]: 'a', [ATTRIBUTES.state]: 'closed' })).toBe(1);
    breakers.get('c'); // evicts a
    const stateOf = async (name: string) =>
      (await points('breakwater.state')).filter((p) => p.attributes[ATTRIBUTES.breaker] === name).map((p) => p.value);
    expect(await stateOf('a')).toEqual([0, 0, 0, 0, 0]);
    expect(await stateOf('a')).toEqual([]);
    stop();
    stop();
    await breakers.get('c').execute(() => 1);
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'c', [ATTRIBUTES.outcome]: 'success' })).toBe(0);
    // The collection just made read 0 for the breakers left; from now on nothing is observed.
    expect(await points('breakwater.state')).toEqual([]);
  });

  it('under cumulative temporality, ends the state of a dropped breaker on 0 rather than repeat its last state', async () => {
    const { meter, point } = setup(new CumulativeReader());
    const breakers = new BreakerRegistry({ maxSize: 1, defaults: { failureThreshold: 1, clock } });
    instrumentOpenTelemetry(breakers, { meter });
    await expect(breakers.get('a').execute(fail)).rejects.toThrow('down');
    const open = { [ATTRIBUTES.breaker]: 'a', [ATTRIBUTES.state]: 'open' };
    expect(await point('breakwater.state', open)).toBe(1);
    breakers.get('b'); // evicts a
    expect(await point('breakwater.state', open)).toBe(0);
    expect(await point('breakwater.state', open)).toBe(0);

    // Stopping does the same for every breaker still reported.
    const single = new CircuitBreaker({ name: 'single' });
    const stop = instrumentOpenTelemetry(single, { meter, prefix: 'one.' });
    single.forceOpen();
    const forced = { [ATTRIBUTES.breaker]: 'single', [ATTRIBUTES.state]: 'forced-open' };
    expect(await point('one.state', forced)).toBe(1);
    stop();
    expect(await point('one.state', forced)).toBe(0);
    expect(await point('one.state', forced)).toBe(0);
  });

  it('reports a breaker created again under a dropped name with its own state, not 0', async () => {
    const { meter, points } = setup();
    const breakers = new BreakerRegistry({ maxSize: 1 });
    instrumentOpenTelemetry(breakers, { meter });
    breakers.get('a');
    expect((await points('breakwater.state')).length).toBe(5);
    breakers.get('b'); // evicts a
    breakers.get('a').forceOpen(); // a new a, evicting b (never collected: nothing to end)
    const found = await points('breakwater.state');
    expect(found.map((p) => [p.attributes[ATTRIBUTES.breaker], p.attributes[ATTRIBUTES.state], p.value])).toEqual(
      STATES.map((s) => ['a', s, s === 'forced-open' ? 1 : 0]),
    );
  });

  it('uses the global meter by default and refuses unnamed breakers', async () => {
    const { meter } = setup();
    expect(() => instrumentOpenTelemetry(new CircuitBreaker(), { meter })).toThrow(/needs a `name`/);
    const reader = new TestReader();
    otelMetrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const breaker = new CircuitBreaker({ name: 'global' });
    const stop = instrumentOpenTelemetry(breaker);
    await breaker.execute(() => 1);
    const { resourceMetrics } = await reader.collect();
    const names = resourceMetrics.scopeMetrics.map((s) => s.scope.name);
    expect(names).toContain('breakwater');
    stop();
    otelMetrics.disable();
  });

  it('refuses to instrument a breaker twice on one meter and prefix', async () => {
    const { meter, point } = setup();
    const breakers = new BreakerRegistry();
    const users = breakers.get('users');
    const stopRegistry = instrumentOpenTelemetry(breakers, { meter });
    expect(() => instrumentOpenTelemetry(users, { meter })).toThrow(TypeError);
    expect(() => instrumentOpenTelemetry(users, { meter })).toThrow(
      'breakwater: the breaker "users" is already instrumented on this meter with prefix "breakwater."',
    );
    await users.execute(() => 1);
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'users', [ATTRIBUTES.outcome]: 'success' })).toBe(1);

    // Another prefix or another meter is another set of instruments.
    instrumentOpenTelemetry(users, { meter, prefix: 'other.' })();
    instrumentOpenTelemetry(users, { meter: new MeterProvider().getMeter('other') })();

    // A registry instrumented twice while empty: its later breakers are reported once, and the
    // registry reports the clash (it runs the exporters' listeners).
    stopRegistry();
    const later = new BreakerRegistry();
    instrumentOpenTelemetry(later, { meter });
    instrumentOpenTelemetry(later, { meter });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await later.get('x').execute(() => 1);
      expect(errors).toHaveBeenCalledTimes(1);
      const reported = errors.mock.calls[0]?.find((argument) => argument instanceof Error);
      expect(reported).toBeInstanceOf(TypeError);
      expect((reported as Error).message).toMatch(/"x" is already instrumented/);
    } finally {
      errors.mockRestore();
    }
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'x', [ATTRIBUTES.outcome]: 'success' })).toBe(1);
    expect(() => instrumentOpenTelemetry(later.get('x'), { meter })).toThrow(/"x" is already instrumented/);

    // Once stopped, the breaker can be instrumented again.
    instrumentOpenTelemetry(users, { meter });
    await users.execute(() => 1);
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'users', [ATTRIBUTES.outcome]: 'success' })).toBe(2);
  });

  it('buckets call durations in seconds: the default boundaries run from 5 ms to 10 s', async () => {
    const { meter, point } = setup();
    const breaker = new CircuitBreaker({ name: 'lat', clock });
    instrumentOpenTelemetry(breaker, { meter });
    clock.t = 0;
    const call = (ms: number) =>
      breaker.execute(() => {
        clock.t += ms;
        return 1;
      });
    await call(20);
    await call(3000);
    const histogram = (await point('breakwater.call.duration', { [ATTRIBUTES.outcome]: 'success' })) as Histogram;
    expect(histogram.buckets.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    expect(histogram.buckets.counts).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0]);

    instrumentOpenTelemetry(breaker, { meter, prefix: 'custom.', buckets: [0.1, 1] });
    await call(500);
    const custom = (await point('custom.call.duration', { [ATTRIBUTES.outcome]: 'success' })) as Histogram;
    expect(custom.buckets).toEqual({ boundaries: [0.1, 1], counts: [0, 1, 0] });
  });

  it('refuses buckets that are not an array of finite numbers in strictly increasing order', () => {
    const { meter } = setup();
    const breaker = new CircuitBreaker({ name: 'b' });
    const bad = (buckets: unknown) => () => instrumentOpenTelemetry(breaker, { meter, buckets: buckets as number[] });
    expect(bad([1, 0.1])).toThrow(RangeError);
    expect(bad([1, 0.1])).toThrow(
      'breakwater: option "buckets" must be an array of finite numbers in strictly increasing order; got [1, 0.1]',
    );
    expect(bad([0.5, 0.5])).toThrow(RangeError);
    expect(bad([0.1, Number.POSITIVE_INFINITY])).toThrow(/"buckets".*got \[0\.1, Infinity\]/);
    expect(bad([Number.NaN])).toThrow(/"buckets".*got \[NaN\]/);
    expect(bad([0.1, '1'])).toThrow(TypeError);
    expect(bad([0.1, '1'])).toThrow('breakwater: option "buckets" must be an array of numbers; got [0.1, "1"]');
    expect(bad('0.1')).toThrow('breakwater: option "buckets" must be an array of numbers; got "0.1"');
    expect(bad({ 0: 1 })).toThrow(/"buckets".*got {"0":1}/);
    // Refused before anything was instrumented.
    expect(() => instrumentOpenTelemetry(breaker, { meter })).not.toThrow();
  });

  it('starts every outcome of breakwater.calls at 0 when a breaker is instrumented', async () => {
    const { meter, points } = setup();
    instrumentOpenTelemetry(new CircuitBreaker({ name: 'fresh' }), { meter });
    const calls = await points('breakwater.calls');
    expect(calls.map((p) => [p.attributes[ATTRIBUTES.breaker], p.attributes[ATTRIBUTES.outcome], p.value])).toEqual(
      OUTCOMES.map((outcome) => ['fresh', outcome, 0]),
    );
    expect(await points('breakwater.call.duration')).toEqual([]);
  });

  it('counts a call with no valid duration without recording it', async () => {
    const { meter, point } = setup();
    const { breaker, emit } = eventSource('untimed');
    instrumentOpenTelemetry(breaker, { meter });
    emit('success', Number.NaN);
    emit('success', -1);
    emit('failure', Number.POSITIVE_INFINITY);
    emit('success', 20);
    const at = (outcome: string) => ({ [ATTRIBUTES.breaker]: 'untimed', [ATTRIBUTES.outcome]: outcome });
    expect(await point('breakwater.calls', at('success'))).toBe(3);
    expect(await point('breakwater.calls', at('failure'))).toBe(1);
    const histogram = (await point('breakwater.call.duration', at('success'))) as Histogram;
    expect([histogram.count, histogram.sum]).toEqual([1, 0.02]);
    expect(await point('breakwater.call.duration', at('failure'))).toBeUndefined();
  });

  it('counts a call already in flight when the breaker is instrumented, without a duration', async () => {
    const { meter, point } = setup();
    clock.t = 100_000;
    const breaker = new CircuitBreaker({ name: 'inflight', clock });
    let finish!: (value: number) => void;
    const call = breaker.execute(() => new Promise<number>((resolve) => (finish = resolve)));
    instrumentOpenTelemetry(breaker, { meter });
    clock.t += 50;
    finish(1);
    await call;
    const at = { [ATTRIBUTES.breaker]: 'inflight', [ATTRIBUTES.outcome]: 'success' };
    expect(await point('breakwater.calls', at)).toBe(1);
    expect(await point('breakwater.call.duration', at)).toBeUndefined();
    await breaker.execute(() => {
      clock.t += 20;
      return 1;
    });
    expect(((await point('breakwater.call.duration', at)) as Histogram).sum).toBe(0.02);
  });

  it("keeps a dropped breaker's counter series under cumulative temporality; delta temporality ends them", async () => {
    const namesIn = async (points: (name: string) => Promise<DataPoint<unknown>[]>) =>
      new Set((await points('breakwater.calls')).map((p) => p.attributes[ATTRIBUTES.breaker]));
    const churn = async (meter: ReturnType<typeof setup>['meter']) => {
      const breakers = new BreakerRegistry({ maxSize: 1 });
      instrumentOpenTelemetry(breakers, { meter });
      for (const key of ['a', 'b', 'c']) await breakers.get(key).execute(() => 1);
    };
    const cumulative = setup(new CumulativeReader());
    await churn(cumulative.meter);
    expect(await namesIn(cumulative.points)).toEqual(new Set(['a', 'b', 'c']));

    const delta = setup(new DeltaReader());
    await churn(delta.meter);
    expect(await namesIn(delta.points)).toEqual(new Set(['a', 'b', 'c'])); // what happened since the last collection
    expect(await namesIn(delta.points)).toEqual(new Set());
  });
});
