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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakerRegistry, CircuitBreaker } from '../../src/index.js';
import { ATTRIBUTES, instrumentOpenTelemetry } from '../../src/opentelemetry/index.js';

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

function setup() {
  const reader = new TestReader();
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

  it('tracks a registry, later breakers too, and drops evicted ones; stop ends reporting', async () => {
    const { meter, point, points } = setup();
    const breakers = new BreakerRegistry({ maxSize: 2 });
    breakers.get('a');
    const stop = instrumentOpenTelemetry(breakers, { meter });
    await breakers.get('b').execute(() => 1);
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'b' })).toBe(1);
    expect(await point('breakwater.state', { [ATTRIBUTES.breaker]: 'a', [ATTRIBUTES.state]: 'closed' })).toBe(1);
    breakers.get('c'); // evicts a
    const states = await points('breakwater.state');
    expect(states.filter((p) => p.attributes[ATTRIBUTES.breaker] === 'a').length).toBe(0);
    stop();
    stop();
    await breakers.get('c').execute(() => 1);
    expect(await point('breakwater.calls', { [ATTRIBUTES.breaker]: 'c' })).toBeUndefined();
    expect(await points('breakwater.state')).toEqual([]);
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
});
