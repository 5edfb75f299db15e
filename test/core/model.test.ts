/**
 * Model-based test: random sequences of calls (settling at once or later, concurrently), clock
 * advances, timeouts and manual controls run against the real breaker and against a reference
 * breaker written again from the documented rules, with a brute-force tracker.
 * After every step the state, the admissions, the counters and the transitions seen must agree.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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
      // Exactly the recovery timeout and the probe wait as well: the edges are where the rules differ.
      ms: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constantFrom(100, 300), fc.integer({ min: 60, max: 400 })),
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

type State = 'closed' | 'open' | 'half-open' | 'forced-open' | 'disabled';
type Settings = { halfOpenProbes: number; successThreshold: number; backoff: boolean };
const RECOVERY = 100;
const MAX_PROBE_WAIT = 300;
const MAX_DELAY = 350;

/**
 * The reference breaker: the documented rules (docs/guide.md, "States" and "Outcomes"), written again
 * from the prose and nothing else, the slow and obvious way. It shares no code with src/core, so a
 * change to a rule there fails this test instead of changing its expectations with it.
 */
class Reference {
  state: State = 'closed';
  /** Bumped on every change of state: a call admitted before one does not count after it. */
  era = 0;
  transitions: string[] = [];
  /** How many times in a row the circuit opened without closing in between (the backoff attempt). */
  attempt = 0;
  reopensAt = 0;
  probesInFlight = 0;
  probeSuccesses = 0;
  /** The trial's deadline while a probe is in flight. */
  trialEndsAt: number | undefined;
  counts = { successes: 0, failures: 0, neutral: 0, rejected: 0, timeouts: 0 };
  pending: { id: number; probe: boolean; era: number; deadline: number }[] = [];
  readonly window: RecountTracker;

  constructor(
    readonly settings: Settings,
    window: RecountWindow,
  ) {
    this.window = new RecountTracker(window);
  }

  private enter(state: State): void {
    this.transitions.push(`${this.state}>${state}`);
    this.state = state;
    this.era++;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.trialEndsAt = undefined;
    if (state === 'closed') this.attempt = 0;
  }

  /** Opens at `at`: the first opening waits the recovery timeout, each failed trial after it longer (with backoff). */
  private trip(at: number): void {
    this.attempt = this.state === 'half-open' ? this.attempt + 1 : 1;
    this.enter('open');
    const wait = this.settings.backoff ? Math.min(MAX_DELAY, RECOVERY * 2 ** (this.attempt - 1)) : RECOVERY;
    this.reopensAt = at + wait;
  }

  private close(): void {
    this.window.reset();
    if (this.state !== 'closed') this.enter('closed');
  }

  /** What time alone does, each step at its own moment: open → half-open, an overdue trial → open. */
  catchUp(now: number): void {
    for (;;) {
      if (this.state === 'open' && now >= this.reopensAt) this.enter('half-open');
      else if (this.state === 'half-open' && this.trialEndsAt !== undefined && now >= this.trialEndsAt) this.trip(this.trialEndsAt);
      else return;
    }
  }

  admit(now: number): 'pass' | 'probe' | 'reject' {
    this.catchUp(now);
    if (this.state === 'closed' || this.state === 'disabled') return 'pass';
    if (this.state !== 'half-open' || this.probesInFlight >= this.settings.halfOpenProbes) return 'reject';
    if (this.probesInFlight === 0) this.trialEndsAt = now + MAX_PROBE_WAIT;
    this.probesInFlight++;
    return 'probe';
  }

  settle(call: { probe: boolean; era: number }, result: Result, now: number): void {
    this.catchUp(now);
    if (call.era !== this.era) return;
    if (call.probe) {
      if (result === 'failure') this.trip(now);
      else {
        this.probesInFlight--;
        if (result === 'success') this.probeSuccesses++;
        if (this.probeSuccesses >= this.settings.successThreshold) this.close();
        else if (this.probesInFlight === 0) this.trialEndsAt = undefined;
      }
      return;
    }
    if (this.state !== 'closed' || result === 'neutral') return;
    if (this.window.record(result === 'failure', false, now)) this.trip(now);
  }

  control(op: 'forceOpen' | 'close' | 'disable' | 'reset', now: number): void {
    this.catchUp(now);
    if (op === 'forceOpen' && this.state !== 'forced-open') this.enter('forced-open');
    if (op === 'disable' && this.state !== 'disabled') this.enter('disabled');
    if (op === 'close' || op === 'reset') this.close();
    if (op === 'reset') this.counts = { successes: 0, failures: 0, neutral: 0, rejected: 0, timeouts: 0 };
  }
}

async function run(c: Config, actions: Action[]): Promise<void> {
  vi.setSystemTime(0);
  const breaker = new CircuitBreaker(breakerOptions(c));
  const model = new Reference(c, recountWindow(c));
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
  const finishModel = (call: Reference['pending'][number], r: Result) => {
    model.pending = model.pending.filter((p) => p !== call);
    model.counts[r === 'success' ? 'successes' : r === 'failure' ? 'failures' : 'neutral']++;
    model.settle(call, r, now);
  };

  for (const a of actions) {
    if (a.type === 'call') {
      const admit = model.admit(now);
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
        const call = {
          id,
          probe: admit === 'probe',
          era: model.era,
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
      const call = live[a.index % live.length] as Reference['pending'][number];
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
        model.settle(call, 'failure', now);
      }
      now = end;
    } else if (a.type !== 'read') {
      model.control(a.type, now);
      breaker[a.type]();
    }
    model.catchUp(now);
    expect(breaker.state).toBe(model.state);
    expect(seen).toEqual(model.transitions);
    const m = breaker.metrics();
    expect({ successes: m.successes, failures: m.failures, neutral: m.neutral, rejected: m.rejected, timeouts: m.timeouts }).toEqual(
      model.counts,
    );
    if (c.mode.type !== 'consecutive') {
      const w = model.window.stats(now);
      expect(m.window).toEqual({ calls: w.calls, failures: w.failures, slowCalls: 0 });
    }
  }
  // Let whatever is still held settle, so nothing is left pending between runs.
  for (const id of [...held.keys()]) settleReal(id, 'neutral');
  await vi.advanceTimersByTimeAsync(1000);
}

describe('the breaker agrees with the reference written from the documented rules', () => {
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
