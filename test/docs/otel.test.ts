// guide.md OpenTelemetry recipe (guide.md:450-457) and the View block (guide.md:506-515), run with the SDK.
import {
  AggregationTemporality,
  createDenyListAttributesProcessor,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { instrumentOpenTelemetry } from '../../src/exporters/opentelemetry.js';
import { BreakerRegistry } from '../../src/index.js';

describe('guide: OpenTelemetry', () => {
  it('the View block sums calls over breakers; calls counter starts at 0 per outcome', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 1_000_000 });
    const dropBreaker = { attributesProcessors: [createDenyListAttributesProcessor(['breakwater.breaker'])] };
    const provider = new MeterProvider({
      readers: [reader],
      views: ['breakwater.calls', 'breakwater.call.duration', 'breakwater.transitions'].map((instrumentName) => ({
        instrumentName,
        ...dropBreaker,
      })),
    });
    const breakers = new BreakerRegistry({ defaults: { clock: { now: () => 0 } } });
    const stop = instrumentOpenTelemetry(breakers, { meter: provider.getMeter('checkout') });
    await breakers.get('a').execute(() => 1);
    await breakers.get('b').execute(() => 1);
    await reader.forceFlush();
    const metrics = exporter.getMetrics().at(-1)?.scopeMetrics[0]?.metrics ?? [];
    const calls = metrics.find((m) => m.descriptor.name === 'breakwater.calls')!;
    const success = calls.dataPoints.filter((d) => d.attributes['breakwater.outcome'] === 'success');
    expect(success).toHaveLength(1);
    expect(success[0]?.value).toBe(2);
    expect(success[0]?.attributes['breakwater.breaker']).toBeUndefined();
    const state = metrics.find((m) => m.descriptor.name === 'breakwater.state')!;
    expect(state.dataPoints.length).toBe(10);
    stop();
    await provider.shutdown();
  });
});
