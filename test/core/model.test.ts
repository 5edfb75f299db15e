/**
 * Model-based test: random sequences of calls (settling at once or later, concurrently), clock
 * advances, timeouts and manual controls run against the real breaker and against a small model:
 * the pure rules of src/transitions.ts applied in order to plain data, with a brute-force tracker.
 * After every step the state, the admissions, the counters and the transitions seen must agree.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Rules } from '../../src/core/rules.js';
import * as T from '../../src/core/rules.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  CircuitOpenError,
  countWindow,
  exponentialBackoff,
  TimeoutError,
  timeWindow,
} from '../../src/index.js';
import { RecountTracker, type RecountWindow } from '../helpers/recount-tracker.js';

class NeutralError extends Error {}
type Result = 'success' | 'failure' | 'neutral';
type Action =
  | { type: 'call'; result: Result; hold: boolean }
  | { type: 'settle'; index: number; result: Result }
  | { type: 'advance'; ms: number }
  | { type: 'forceOpen' | 'close' | 'disable' | 'reset' | 'read' };

const result = fc.constantFrom<Result>('success', 'failure', 'failure', 'neutral');
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('call' as const), result, hold: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('settle' as const), index: fc.nat(), result }) },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 60, max: 400 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Action>({ type: 'forceOpen' }, { type: 'close' }, { type: 'disable' }, { type: 'reset' }, { type: 'read' }),
  },
);

const config = fc.record({
  mode: fc.oneof(
    fc.record({ type: fc.constant('consecutive' as const), threshold: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ type: fc.constant('count' as const), size: fc.integer({ min: 1, max: 6 }), minimumCalls: fc.integer({ min: 1, max: 4 }) }),
    fc.record({
      type: fc.constant('time' as const),
      duration: fc.integer({ min: 50, max: 500 }),
      minimumCalls: fc.integer({ min: 1, max: 4 }),
    }),
  ),
  halfOpenProbes: fc.integer({ min: 1, max: 2 }),
  successThreshold: fc.integer({ min: 1, max: 2 }),
  timeout: fc.option(fc.constant(50), { nil: undefined }),
  backoff: fc.boolean(),
});
type Config = typeof config extends fc.Arbitrary<infer C> ? C : never;

function breakerOptions(c: Config): CircuitBreakerOptions {
  const mode =
    c.mode.type === 'consecutive'
      ? { failureThreshold: c.mode.threshold }
      : c.mode.type === 'count'
        ? { failureRateThreshold: 0.5, window: countWindow(c.mode.size), minimumCalls: c.mode.minimumCalls }
        : {
            failureRateThreshold: 0.5,
            window: timeWindow({ duration: c.mode.duration, buckets: 5 }),
            minimumCalls: c.mode.minimumCalls,
          };
  return {
    ...mode,
    recoveryTimeout: 100,
    maxProbeWait: 300,
    halfOpenProbes: c.halfOpenProbes,
    successThreshold: c.successThreshold,
    timeout: c.timeout,
    backoff: c.backoff ? exponentialBackoff({ maxDelay: 350 }) : undefined,
    isFailure: (e) => !(e instanceof NeutralError),
    clock: { now: () => Date.now() },
  };
}

function recountWindow(c: Config): RecountWindow {
  const rule = {
    failureRateThreshold: 0.5,
    slowCallRateThreshold: undefined,
    minimumCalls: 'minimumCalls' in c.mode ? c.mode.minimumCalls : 1,
  };
  if (c.mode.type === 'consecutive') return { type: 'consecutive', threshold: c.mode.threshold };
  if (c.mode.type === 'count')
    return { type: 'count', size: c.mode.size, rule: { ...rule, minimumCalls: Math.min(rule.minimumCalls, c.mode.size) } };
  return { type: 'time', duration: c.mode.duration, buckets: 5, rule };
}

/** The model: plain data stepped by the pure rules. */
class Model {
  circuit: T.Circuit;
  tracker: RecountTracker;
  transitions: string[] = [];
  counts = { successes: 0, failures: 0, neutral: 0, rejected: 0, timeouts: 0 };
  pending: { id: number; probe: boolean; generation: number; deadline: number }[] = [];
  constructor(
    readonly rules: Rules,
    window: RecountWindow,
    readonly timeout: number | undefined,
  ) {
    this.circuit = T.initialCircuit(0);
    this.tracker = new RecountTracker(window);
  }
  apply(next: T.Circuit): void {
    if (next.generation !== this.circuit.generation) this.transitions.push(`${this.circuit.state}>${next.state}`);
    this.circuit = next;
  }
  advance(now: number): void {
    for (let next = T.advance(this.circuit, now, this.rules); next !== this.circuit; next = T.advance(this.circuit, now, this.rules))
      this.apply(next);
  }
  settle(call: { probe: boolean; generation: number }, outcome: T.Outcome, now: number): void {
    this.advance(now);
    this.apply(T.settle(this.circuit, this.tracker, outcome, false, call.probe, call.generation, now, this.rules));
  }
}

const OUTCOME: Record<Result, T.Outcome> = { success: T.SUCCESS, failure: T.FAILURE, neutral: T.NEUTRAL };

async function run(c: Config, actions: Action[]): Promise<void> {
  vi.setSystemTime(0);
  const options = breakerOptions(c);
  const breaker = new CircuitBreaker(options);
  const rules: Rules = {
    recoveryTimeout: 100,
    maxProbeWait: 300,
    halfOpenProbes: c.halfOpenProbes,
    successThreshold: c.successThreshold,
    backoff: options.backoff ?? undefined,
  };
  const model = new Model(rules, recountWindow(c), c.timeout);
  const seen: string[] = [];
  breaker.on('stateChange', (e) => seen.push(`${e.from}>${e.to}`));
  const held = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let now = 0;
  let nextId = 0;

  const settleReal = (id: number, r: Result) => {
    const h = held.get(id);
    held.delete(id);
    if (r === 'success') h?.resolve('ok');
    else h?.reject(r === 'neutral' ? new NeutralError() : new Error('down'));
  };
  const finishModel = (call: Model['pending'][number], r: Result) => {
    model.pending = model.pending.filter((p) => p !== call);
    model.counts[r === 'success' ? 'successes' : r === 'failure' ? 'failures' : 'neutral']++;
    model.settle(call, OUTCOME[r], now);
  };

  for (const a of actions) {
    if (a.type === 'call') {
      model.advance(now);
      const admit = T.admission(model.circuit, rules);
      const id = nextId++;
      let called = false;
      const promise = breaker.execute(() => {
        called = true;
        if (!a.hold) return a.result === 'success' ? 'ok' : Promise.reject(a.result === 'neutral' ? new NeutralError() : new Error('down'));
        return new Promise((resolve, reject) => held.set(id, { resolve, reject }));
      });
      const outcome = promise.then(
        () => 'success',
        (e: unknown) => (e instanceof CircuitOpenError ? 'rejected' : e instanceof TimeoutError ? 'timeout' : 'error'),
      );
      expect(called).toBe(admit !== 'reject');
      if (admit === 'reject') {
        model.counts.rejected++;
        expect(await outcome).toBe('rejected');
      } else {
        if (admit === 'probe') model.apply(T.admitProbe(model.circuit, now, rules));
        const call = {
          id,
          probe: admit === 'probe',
          generation: model.circuit.generation,
          deadline: c.timeout === undefined ? Number.POSITIVE_INFINITY : now + c.timeout,
        };
        model.pending.push(call);
        if (!a.hold) {
          finishModel(call, a.result);
          await outcome;
        }
      }
    } else if (a.type === 'settle') {
      const live = model.pending;
      if (live.length === 0) continue;
      const call = live[a.index % live.length] as Model['pending'][number];
      settleReal(call.id, a.result);
      finishModel(call, a.result);
      await vi.advanceTimersByTimeAsync(0);
    } else if (a.type === 'advance') {
      const end = now + a.ms;
      // Timeouts fire in deadline order, each at its own moment.
      const due = model.pending.filter((p) => p.deadline <= end).sort((x, y) => x.deadline - y.deadline || x.id - y.id);
      await vi.advanceTimersByTimeAsync(a.ms);
      for (const call of due) {
        now = call.deadline;
        model.pending = model.pending.filter((p) => p !== call);
        held.delete(call.id);
        model.counts.timeouts++;
        model.settle(call, T.FAILURE, now);
      }
      now = end;
    } else if (a.type !== 'read') {
      model.advance(now);
      if (a.type === 'forceOpen') model.apply(T.forceOpen(model.circuit, now));
      if (a.type === 'disable') model.apply(T.disable(model.circuit, now));
      if (a.type === 'close' || a.type === 'reset')
        model.apply(T.close(model.circuit, model.tracker, now, a.type === 'close' ? 'closed-manually' : 'reset'));
      if (a.type === 'reset') model.counts = { successes: 0, failures: 0, neutral: 0, rejected: 0, timeouts: 0 };
      breaker[a.type]();
    }
    model.advance(now);
    expect(breaker.state).toBe(model.circuit.state);
    expect(seen).toEqual(model.transitions);
    const m = breaker.metrics();
    expect({ successes: m.successes, failures: m.failures, neutral: m.neutral, rejected: m.rejected, timeouts: m.timeouts }).toEqual(
      model.counts,
    );
    if (c.mode.type !== 'consecutive') {
      const w = model.tracker.stats(now);
      expect(m.window).toEqual({ calls: w.calls, failures: w.failures, slowCalls: 0 });
    }
  }
  // Let whatever is still held settle, so nothing is left pending between runs.
  for (const id of [...held.keys()]) settleReal(id, 'neutral');
  await vi.advanceTimersByTimeAsync(1000);
}

describe('the breaker agrees with the pure model', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('for random sequences of calls, probes, timeouts, clock advances and manual controls', async () => {
    await fc.assert(
      fc.asyncProperty(config, fc.array(action, { minLength: 1, maxLength: 60 }), (c, actions) => run(c, actions)),
      { numRuns: Number(process.env.MODEL_RUNS ?? 1000) },
    );
  });
});
