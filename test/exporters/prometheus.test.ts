import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPrometheusMetrics, instrumentPrometheus } from '../../src/exporters/prometheus.js';
import { BreakerRegistry, CircuitBreaker } from '../../src/index.js';
import { eventSource } from '../helpers/event-source.js';

const clock = { t: 0, now: () => clock.t };
afterEach(() => {
  clock.t = 0;
});

/** The value of one series; `metric` may be a histogram's `_bucket`, `_sum` or `_count` series. */
async function value(register: Registry, metric: string, labels: Record<string, string | number>): Promise<number | undefined> {
  const base = metric.replace(/_(bucket|sum|count)$/, '');
  const found = (await register.getMetricsAsJSON()).find((m) => m.name === metric || m.name === base);
  const values = (found?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
  return values.find((v) => (v.metricName ?? found?.name) === metric && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

/** The series of one metric (a histogram's buckets, sums and counts included). */
async function series(register: Registry, metric: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const found = (await register.getMetricsAsJSON()).find((m) => m.name === metric);
  return (found?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number }>;
}

const fail = () => Promise.reject(new Error('down'));

describe('breakwater/prometheus', () => {
  it('counts calls refused by maxConcurrent as their own outcome, not as failures', async () => {
    const register = new Registry();
    const breaker = new CircuitBreaker({ name: 'capped', maxConcurrent: 1 });
    instrumentPrometheus(breaker, { register });
    let release = () => {};
    const held = breaker.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(breaker.execute(() => 1)).rejects.toThrow(/maxConcurrent/);
    release();
    await held;
    expect(await value(register, 'breakwater_calls_total', { breaker: 'capped', outcome: 'limited' })).toBe(1);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'capped', outcome: 'failure' })).toBe(0);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'capped', outcome: 'success' })).toBe(1);
  });

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
    expect(await value(register, 'breakwater_call_duration_seconds_bucket', { breaker: 'users', outcome: 'success', le: 0.25 })).toBe(1);
    expect(await value(register, 'breakwater_call_duration_seconds_bucket', { breaker: 'users', outcome: 'success', le: 0.1 })).toBe(0);
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
    expect(await value(register, 'breakwater_call_duration_seconds_bucket', { breaker: 'slow', outcome: 'timeout', le: 1 })).toBe(1);
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

  it('leaves a breaker tracked again alone when the stop function of its earlier tracking is called again', async () => {
    const register = new Registry();
    const metrics = createPrometheusMetrics({ register });
    const breaker = new CircuitBreaker({ name: 'again' });
    const stop = metrics.track(breaker);
    stop();
    metrics.track(breaker);
    stop();
    await breaker.execute(() => 1);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'again', outcome: 'success' })).toBe(1);
    expect(await value(register, 'breakwater_state', { breaker: 'again', state: 'closed' })).toBe(1);
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

  it('refuses buckets that are not an array of finite numbers in strictly increasing order', () => {
    const register = new Registry();
    const bad = (buckets: unknown) => () => createPrometheusMetrics({ register, buckets: buckets as number[] });
    expect(bad([1, 0.1])).toThrow(RangeError);
    expect(bad([1, 0.1])).toThrow(
      'breakwater: option "buckets" must be an array of finite numbers in strictly increasing order; got [1, 0.1]',
    );
    expect(bad([0.1, 0.1])).toThrow(RangeError);
    expect(bad([0.1, Number.POSITIVE_INFINITY])).toThrow(/"buckets".*got \[0\.1, Infinity\]/);
    expect(bad([Number.NaN])).toThrow(/"buckets".*got \[NaN\]/);
    expect(bad([0.1, '1'])).toThrow(TypeError);
    expect(bad([0.1, '1'])).toThrow('breakwater: option "buckets" must be an array of numbers; got [0.1, "1"]');
    expect(bad('0.1,1')).toThrow('breakwater: option "buckets" must be an array of numbers; got "0.1,1"');
    expect(bad(null)).toThrow(/"buckets".*got null/);
    // Checked even when the registry already has the metrics (whose buckets then stay as they are).
    createPrometheusMetrics({ register });
    expect(bad([1, 0.1])).toThrow(RangeError);
  });

  it('takes buckets in increasing order; an empty array leaves only +Inf', async () => {
    const register = new Registry();
    const breaker = new CircuitBreaker({ name: 'b', clock });
    instrumentPrometheus(breaker, { register, buckets: [0.1, 1] });
    await breaker.execute(() => {
      clock.t += 500;
      return 1;
    });
    expect(await value(register, 'breakwater_call_duration_seconds_bucket', { breaker: 'b', outcome: 'success', le: 0.1 })).toBe(0);
    expect(await value(register, 'breakwater_call_duration_seconds_bucket', { breaker: 'b', outcome: 'success', le: 1 })).toBe(1);

    const bare = new Registry();
    const other = new CircuitBreaker({ name: 'bare' });
    instrumentPrometheus(other, { register: bare, buckets: [] });
    await other.execute(() => 1);
    const buckets = (await series(bare, 'breakwater_call_duration_seconds')).filter((v) => 'le' in v.labels);
    expect(buckets.map((v) => [v.labels.le, v.value])).toEqual([['+Inf', 1]]);
  });

  it('starts every outcome of calls_total at 0 when a breaker is tracked; histograms appear on first use', async () => {
    const register = new Registry();
    const breaker = new CircuitBreaker({ name: 'fresh', failureThreshold: 1 });
    const stop = instrumentPrometheus(breaker, { register });
    for (const outcome of ['success', 'failure', 'neutral', 'timeout', 'rejected', 'limited']) {
      expect(await value(register, 'breakwater_calls_total', { breaker: 'fresh', outcome })).toBe(0);
    }
    expect(await series(register, 'breakwater_call_duration_seconds')).toEqual([]);
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    await expect(breaker.execute(() => 1)).rejects.toThrow(/open/);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'fresh', outcome: 'failure' })).toBe(1);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'fresh', outcome: 'rejected' })).toBe(1);
    expect(await value(register, 'breakwater_call_duration_seconds_count', { breaker: 'fresh', outcome: 'failure' })).toBe(1);
    expect(await value(register, 'breakwater_call_duration_seconds_count', { breaker: 'fresh', outcome: 'success' })).toBeUndefined();
    stop();
    expect(await series(register, 'breakwater_calls_total')).toEqual([]);
  });

  it('counts a call with no valid duration without observing it', async () => {
    const register = new Registry();
    const { breaker, emit } = eventSource('untimed');
    instrumentPrometheus(breaker, { register });
    emit('success', Number.NaN);
    emit('success', -1);
    emit('failure', Number.POSITIVE_INFINITY);
    emit('success', 20);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'untimed', outcome: 'success' })).toBe(3);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'untimed', outcome: 'failure' })).toBe(1);
    expect(await value(register, 'breakwater_call_duration_seconds_count', { breaker: 'untimed', outcome: 'success' })).toBe(1);
    expect(await value(register, 'breakwater_call_duration_seconds_sum', { breaker: 'untimed', outcome: 'success' })).toBe(0.02);
    expect(await value(register, 'breakwater_call_duration_seconds_count', { breaker: 'untimed', outcome: 'failure' })).toBeUndefined();
  });

  it('counts a call already in flight when the breaker is tracked, without a duration', async () => {
    const register = new Registry();
    clock.t = 100_000;
    const breaker = new CircuitBreaker({ name: 'inflight', clock });
    let finish!: (value: number) => void;
    const call = breaker.execute(() => new Promise<number>((resolve) => (finish = resolve)));
    instrumentPrometheus(breaker, { register });
    clock.t += 50;
    finish(1);
    await call;
    expect(await value(register, 'breakwater_calls_total', { breaker: 'inflight', outcome: 'success' })).toBe(1);
    expect(await value(register, 'breakwater_call_duration_seconds_count', { breaker: 'inflight', outcome: 'success' })).toBeUndefined();
    await breaker.execute(() => {
      clock.t += 20;
      return 1;
    });
    expect(await value(register, 'breakwater_call_duration_seconds_sum', { breaker: 'inflight', outcome: 'success' })).toBe(0.02);
  });

  it('registers the metrics anew once the registry no longer holds them', async () => {
    const register = new Registry();
    const first = createPrometheusMetrics({ register });
    register.clear();
    const second = createPrometheusMetrics({ register });
    expect(second).not.toBe(first);
    const breaker = new CircuitBreaker({ name: 'c' });
    second.track(breaker);
    await breaker.execute(() => 1);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'c', outcome: 'success' })).toBe(1);
    expect(createPrometheusMetrics({ register })).toBe(second);

    // One metric removed: the rest of the set is replaced too, with no clash on their names.
    register.removeSingleMetric('breakwater_state');
    const third = createPrometheusMetrics({ register });
    expect(third).not.toBe(second);
    const names = (await register.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual([
      'breakwater_call_duration_seconds',
      'breakwater_calls_total',
      'breakwater_state',
      'breakwater_transitions_total',
    ]);
    third.track(breaker);
    expect(await value(register, 'breakwater_state', { breaker: 'c', state: 'closed' })).toBe(1);
  });

  it('does not report a later registry breaker whose name is already tracked, and says so through the registry', async () => {
    const register = new Registry();
    const metrics = createPrometheusMetrics({ register });
    const first = new BreakerRegistry(); // two clients keyed by origin, say
    const second = new BreakerRegistry();
    metrics.track(first);
    metrics.track(second);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await first.get('https://api.example').execute(() => 1);
      await second.get('https://api.example').execute(() => 1);
      expect(errors).toHaveBeenCalledTimes(1);
      const reported = errors.mock.calls[0]?.find((argument) => argument instanceof Error);
      expect(reported).toBeInstanceOf(TypeError);
      expect((reported as Error).message).toMatch(/"https:\/\/api\.example" is already tracked.*`defaults\.name`/);
    } finally {
      errors.mockRestore();
    }
    expect(second.has('https://api.example')).toBe(true);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'https://api.example', outcome: 'success' })).toBe(1);
    // At track time, a clash with a breaker already in the registry is a TypeError.
    expect(() => metrics.track(second)).toThrow(/"https:\/\/api\.example" is already tracked/);

    // Distinct names (a registry's `defaults.name` prefixes its breakers') keep both apart.
    const named = new BreakerRegistry({ defaults: { name: 'billing' } });
    metrics.track(named);
    await named.get('https://api.example').execute(() => 1);
    expect(await value(register, 'breakwater_calls_total', { breaker: 'billing:https://api.example', outcome: 'success' })).toBe(1);
  });
});
