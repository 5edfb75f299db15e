import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { BreakerRegistry, CircuitBreaker } from '../../src/index.js';
import { createPrometheusMetrics, instrumentPrometheus } from '../../src/prometheus/index.js';

const clock = { t: 0, now: () => clock.t };
afterEach(() => {
  clock.t = 0;
});

async function value(register: Registry, metric: string, labels: Record<string, string | number>): Promise<number | undefined> {
  const found = (await register.getMetricsAsJSON()).find((m) => m.name === metric);
  const values = (found?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

const fail = () => Promise.reject(new Error('down'));

describe('breakwater/prometheus', () => {
  it('counts calls by outcome, times them, and reports the state and transitions', async () => {
    const register = new Registry();
    const breaker = new CircuitBreaker({
      name: 'users',
      failureThreshold: 2,
      recoveryTimeout: 1000,
      clock,
      isFailure: (e) => (e as Error).message !== 'not found',
    });
    instrumentPrometheus(breaker, { register });
    await breaker.execute(() => {
      clock.t += 250;
      return 'ok';
    });
    await expect(breaker.execute(() => Promise.reject(new Error('not found')))).rejects.toThrow();
    await expect(breaker.execute(fail)).rejects.toThrow();
    await expect(breaker.execute(fail)).rejects.toThrow();
    await expect(breaker.execute(() => 1)).rejects.toThrow(/open/);

    expect(await value(register, 'breakwater_calls_total', { breaker: 'users', outcome: 'success' })).toBe(1);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'users', outcome: 'neutral' })).toBe(1);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'users', outcome: 'failure' })).toBe(2);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'users', outcome: 'rejected' })).toBe(1);
    expect(await value(register, 'breakwater_call_duration_seconds', { breaker: 'users', outcome: 'success', le: 0.25 })).toBe(1);
    expect(await value(register, 'breakwater_call_duration_seconds', { breaker: 'users', outcome: 'success', le: 0.1 })).toBe(0);
    expect(await value(register, 'breakwater_transitions_total', { breaker: 'users', from: 'closed', to: 'open' })).toBe(1);
    expect(await value(register, 'breakwater_state', { breaker: 'users', state: 'open' })).toBe(1);
    expect(await value(register, 'breakwater_state', { breaker: 'users', state: 'closed' })).toBe(0);
    // The state is read at scrape time: half-open once the recovery time is over, without a call.
    clock.t += 1000;
    expect(await value(register, 'breakwater_state', { breaker: 'users', state: 'half-open' })).toBe(1);
    expect(await value(register, 'breakwater_transitions_total', { breaker: 'users', from: 'open', to: 'half-open' })).toBe(1);
  });

  it('counts timeouts', async () => {
    const register = new Registry();
    const breaker = new CircuitBreaker({ name: 'slow', timeout: 5 });
    instrumentPrometheus(breaker, { register, buckets: [0.001, 1] });
    await expect(breaker.execute(() => new Promise(() => {}))).rejects.toThrow(/timed out/);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'slow', outcome: 'timeout' })).toBe(1);
    expect(await value(register, 'breakwater_call_duration_seconds', { breaker: 'slow', outcome: 'timeout', le: 1 })).toBe(1);
  });

  it('tracks every breaker of a registry, later ones too, and drops evicted ones with their series', async () => {
    const register = new Registry();
    const breakers = new BreakerRegistry({ maxSize: 2 });
    await breakers.get('a').execute(() => 1);
    const stop = createPrometheusMetrics({ register, prefix: 'app_' }).track(breakers);
    await breakers.get('a').execute(() => 1);
    await breakers.get('b').execute(() => 1);
    expect(await value(register, 'app_calls_total', { breaker: 'a', outcome: 'success' })).toBe(1);
    expect(await value(register, 'app_calls_total', { breaker: 'b', outcome: 'success' })).toBe(1);
    breakers.get('c'); // evicts a
    expect(await value(register, 'app_calls_total', { breaker: 'a', outcome: 'success' })).toBeUndefined();
    expect(await value(register, 'app_state', { breaker: 'a', state: 'closed' })).toBeUndefined();
    expect(await value(register, 'app_state', { breaker: 'c', state: 'closed' })).toBe(1);
    stop();
    await breakers.get('b').execute(() => 1);
    breakers.get('d');
    expect(await value(register, 'app_calls_total', { breaker: 'b', outcome: 'success' })).toBeUndefined();
    expect(await value(register, 'app_state', { breaker: 'd', state: 'closed' })).toBeUndefined();
  });

  it('stops reporting a breaker when untracked, and lets its name be tracked again', async () => {
    const register = new Registry();
    const metrics = createPrometheusMetrics({ register });
    const first = new CircuitBreaker({ name: 'x' });
    const stop = metrics.track(first);
    stop();
    stop();
    await first.execute(() => 1);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'x', outcome: 'success' })).toBeUndefined();
    const second = new CircuitBreaker({ name: 'x' });
    metrics.track(second);
    await second.execute(() => 1);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'x', outcome: 'success' })).toBe(1);
  });

  it('returns the same metrics for the same registry and prefix; uses the global registry by default', async () => {
    const register = new Registry();
    expect(createPrometheusMetrics({ register })).toBe(createPrometheusMetrics({ register }));
    expect(createPrometheusMetrics({ register, prefix: 'other_' })).not.toBe(createPrometheusMetrics({ register }));
    const global = createPrometheusMetrics();
    const { register: defaultRegister } = await import('prom-client');
    expect(global.register).toBe(defaultRegister);
    expect(createPrometheusMetrics()).toBe(global);
  });

  it('refuses unnamed and duplicate breakers, and bad prefixes', () => {
    const metrics = createPrometheusMetrics({ register: new Registry() });
    expect(() => metrics.track(new CircuitBreaker())).toThrow(/needs a `name`/);
    metrics.track(new CircuitBreaker({ name: 'dup' }));
    expect(() => metrics.track(new CircuitBreaker({ name: 'dup' }))).toThrow(/"dup" is already tracked/);
    expect(() => createPrometheusMetrics({ register: new Registry(), prefix: 'bad-prefix' })).toThrow(/"prefix"/);
  });
});
