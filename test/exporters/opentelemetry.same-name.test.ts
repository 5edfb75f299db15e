// Two breakers with one name on one meter and prefix: the second is refused, so the first one's state is never hidden.
import { type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTES, instrumentOpenTelemetry } from '../../src/exporters/opentelemetry.js';
import { BreakerRegistry, CircuitBreaker } from '../../src/index.js';

/** The SDK's default: cumulative temporality. */
class CumulativeReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

async function stateOf(reader: MetricReader, breaker: string) {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'breakwater.state');
  return Object.fromEntries(
    ((metric?.dataPoints ?? []) as DataPoint<unknown>[])
      .filter((p) => p.attributes[ATTRIBUTES.breaker] === breaker)
      .map((p) => [p.attributes[ATTRIBUTES.state], p.value]),
  );
}

describe('breakwater/opentelemetry: two breakers with one name', () => {
  it('two registries with a common key (two createBreakerFetch clients, one origin): the forced-open circuit must not read closed', async () => {
    const reader = new CumulativeReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('t');
    const first = new BreakerRegistry();
    const second = new BreakerRegistry();
    instrumentOpenTelemetry(first, { meter });
    instrumentOpenTelemetry(second, { meter });
    first.get('https://api.example').forceOpen();
    // The second registry's breaker of the same name is refused (reported by its registry, as Prometheus does).
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      second.get('https://api.example');
    } finally {
      console.error = original;
    }
    expect(String((errors[0] as unknown[])?.[1] ?? errors[0])).toMatch(/a breaker named "https:\/\/api\.example" is already instrumented/);
    expect(await stateOf(reader, 'https://api.example')).toMatchObject({ 'forced-open': 1, closed: 0 });
  });

  it('refuses a second breaker of the same name directly, and takes the name again once the first stops', () => {
    const meter = new MeterProvider({ readers: [new CumulativeReader()] }).getMeter('t');
    const stop = instrumentOpenTelemetry(new CircuitBreaker({ name: 'pay' }), { meter });
    expect(() => instrumentOpenTelemetry(new CircuitBreaker({ name: 'pay' }), { meter })).toThrow(
      /a breaker named "pay" is already instrumented/,
    );
    expect(() => instrumentOpenTelemetry(new CircuitBreaker({ name: 'pay' }), { meter, prefix: 'other.' })).not.toThrow();
    stop();
    expect(() => instrumentOpenTelemetry(new CircuitBreaker({ name: 'pay' }), { meter })).not.toThrow();
  });
});
