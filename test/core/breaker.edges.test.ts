/**
 * The breaker's details that a caller, a listener or a logger can see: which predicate judges what, what each
 * event carries, when a call is timed and counted slow, where a timeout's hint and a late probe go, what the
 * logs say, and the paths an aborted caller or the concurrency cap take in every state.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  CircuitOpenError,
  ConcurrencyLimitError,
  countWindow,
  TimeoutError,
} from '../../src/index.js';
import { ManualClock, memoryLogger } from '../helpers/clock.js';

const down = () => Promise.reject(new Error('down'));

function held() {
  let release!: (value: string) => void;
  const call = () =>
    new Promise<string>((resolve) => {
      release = resolve;
    });
  return { call, release: (value = 'ok') => release(value) };
}

function breakerOn(clock: ManualClock, options: CircuitBreakerOptions = {}) {
  return new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock, ...options });
}

describe('the predicates judge their own kind of ending', () => {
  it('isResultFailure sees values only, isFailure errors only', async () => {
    const isResultFailure = vi.fn((value: unknown) => value !== 'ok');
    const isFailure = vi.fn(() => false);
    const breaker = breakerOn(new ManualClock(), { isResultFailure, isFailure });
    await breaker.execute(() => 'ok');
    await breaker.execute(down).catch(() => undefined);
    expect(isResultFailure.mock.calls).toEqual([['ok']]);
    expect(isFailure.mock.calls).toHaveLength(1);
    expect(isFailure.mock.calls[0]?.[0 as never]).toBeInstanceOf(Error);
    expect(breaker.metrics()).toMatchObject({ successes: 1, neutral: 1, failures: 0, state: 'closed' });
  });

  it('a predicate that throws makes the call a failure and is reported under its own name', async () => {
    const logger = memoryLogger();
    const clock = new ManualClock();
    const throwing = () => {
      throw new Error('predicate bug');
    };
    const a = breakerOn(clock, { failureThreshold: 2, logger, isResultFailure: throwing });
    await a.execute(() => 'ok');
    expect(a.metrics()).toMatchObject({ failures: 1, successes: 0 });
    const b = breakerOn(clock, { failureThreshold: 2, logger, isFailure: throwing });
    await b.execute(down).catch(() => undefined);
    expect(b.metrics()).toMatchObject({ failures: 1, neutral: 0 });
    expect(logger.records.map((r) => [r.level, r.record.event, r.record.option])).toEqual([
      ['error', 'breaker.predicateError', 'isResultFailure'],
      ['error', 'breaker.predicateError', 'isFailure'],
    ]);
  });

  it('without a logger, a throwing predicate is told on the console with its error', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const bug = new Error('predicate bug');
      const breaker = breakerOn(new ManualClock(), {
        name: 'billing',
        isFailure: () => {
          throw bug;
        },
      });
      await breaker.execute(down).catch(() => undefined);
      expect(error.mock.calls).toEqual([['breakwater "billing": isFailure threw', bug]]);
    } finally {
      error.mockRestore();
    }
  });
});

describe('what each call event carries', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('success, failure, neutral and timeout: their own fields, and the time the call took', async () => {
    const events: [string, unknown][] = [];
    const breaker = new CircuitBreaker({
      name: 'api',
      failureThreshold: 10,
      timeout: 50,
      slowCallDuration: 20,
      isFailure: (e) => !(e instanceof RangeError),
      clock: { now: () => Date.now() },
    });
    for (const name of ['success', 'failure', 'neutral', 'timeout'] as const) breaker.on(name, (e) => events.push([name, e]));
    const later = (ms: number, settle: () => unknown) => () => new Promise((resolve) => setTimeout(resolve, ms)).then(settle);
    const fromResult = new CircuitBreaker({ failureThreshold: 10, isResultFailure: () => true, clock: { now: () => Date.now() } });
    fromResult.on('failure', (e) => events.push(['failure', e]));
    const bad = new Error('bad');
    const neutral = new RangeError('neutral');

    const run = async (p: Promise<unknown>, ms: number) => {
      const done = p.catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(ms);
      return done;
    };
    await run(breaker.execute(later(30, () => 'v')), 30);
    await run(
      breaker.execute(
        later(10, () => {
          throw bad;
        }),
      ),
      10,
    );
    await run(
      breaker.execute(
        later(25, () => {
          throw neutral;
        }),
      ),
      25,
    );
    const timedOut = await run(
      breaker.execute(() => new Promise(() => undefined)),
      50,
    );
    await run(fromResult.execute(later(5, () => 'flagged')), 5);

    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(events).toEqual([
      ['success', { name: 'api', duration: 30, slow: true }],
      ['failure', { name: 'api', duration: 10, slow: false, error: bad, fromResult: false }],
      ['neutral', { name: 'api', duration: 25, error: neutral }],
      ['timeout', { name: 'api', duration: 50, error: timedOut }],
      ['failure', { name: undefined, duration: 5, slow: false, error: 'flagged', fromResult: true }],
    ]);
    expect(breaker.metrics()).toMatchObject({ slowCalls: 2, successes: 1, failures: 1, neutral: 1, timeouts: 1 });
  });

  it('any one call-event listener is enough for the call to be timed', async () => {
    for (const name of ['success', 'failure', 'neutral', 'timeout'] as const) {
      const breaker = new CircuitBreaker({
        failureThreshold: 10,
        timeout: 40,
        isFailure: (e) => !(e instanceof RangeError),
        clock: { now: () => Date.now() },
      });
      const durations: number[] = [];
      breaker.on(name, (e) => durations.push(e.duration));
      const ending = {
        success: () => 'v',
        failure: () => Promise.reject(new Error('x')),
        neutral: () => Promise.reject(new RangeError('n')),
      };
      const done = breaker
        .execute(() =>
          name === 'timeout'
            ? new Promise(() => undefined)
            : new Promise((resolve) => setTimeout(resolve, 15)).then(ending[name] as () => unknown),
        )
        .catch(() => undefined);
      await vi.advanceTimersByTimeAsync(40);
      await done;
      expect([name, durations]).toEqual([name, [name === 'timeout' ? 40 : 15]]);
    }
  });

  it('a timeout reads the time even when nothing else needs it, and its hint is never asked for', async () => {
    const retryAfterHint = vi.fn(() => 5);
    const breaker = new CircuitBreaker({
      recoveryTimeout: 1_000,
      timeout: 30,
      slowCallDuration: 30,
      slowCallRateThreshold: 1,
      failureRateThreshold: 1,
      window: countWindow(1),
      retryAfterHint,
      clock: { now: () => Date.now() },
    });
    const done = breaker.execute(() => new Promise(() => undefined)).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(30);
    expect(await done).toBeInstanceOf(TimeoutError);
    expect(retryAfterHint).not.toHaveBeenCalled();
    expect(breaker.metrics()).toMatchObject({ state: 'open', retryAfter: 1_000, slowCalls: 1, timeouts: 1 });
  });
});

describe('slow calls', () => {
  it('are counted without any listener, from exactly slowCallDuration', async () => {
    const clock = new ManualClock();
    const breaker = breakerOn(clock, { failureThreshold: 10, slowCallDuration: 20 });
    const take = async (ms: number) => {
      await breaker.execute(async () => {
        clock.advance(ms);
        return 'ok';
      });
    };
    await take(19);
    expect(breaker.metrics().slowCalls).toBe(0);
    await take(20);
    expect(breaker.metrics().slowCalls).toBe(1);
  });

  it('a neutral call is never slow, however long it took', async () => {
    const clock = new ManualClock();
    const breaker = breakerOn(clock, { failureThreshold: 10, slowCallDuration: 20, isFailure: () => false });
    await breaker
      .execute(async () => {
        clock.advance(500);
        throw new Error('neutral');
      })
      .catch(() => undefined);
    expect(breaker.metrics()).toMatchObject({ neutral: 1, slowCalls: 0 });
  });

  it('keep being timed after the last call-event listener goes', async () => {
    const clock = new ManualClock();
    const breaker = breakerOn(clock, { failureThreshold: 10, slowCallDuration: 20 });
    breaker.on('success', () => undefined)();
    await breaker.execute(async () => {
      clock.advance(30);
      return 'ok';
    });
    expect(breaker.metrics().slowCalls).toBe(1);
  });
});

describe('metrics rates', () => {
  it('consecutive mode: timeouts count among the judged calls and the failures', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const clock = new ManualClock();
      const breaker = breakerOn(clock, { failureThreshold: 10, timeout: 10, slowCallDuration: 5 });
      await breaker.execute(async () => {
        clock.advance(5);
        return 'ok';
      });
      await breaker.execute(down).catch(() => undefined);
      const timing = breaker.execute(() => new Promise(() => undefined)).catch(() => undefined);
      await vi.advanceTimersByTimeAsync(10);
      await timing;
      const m = breaker.metrics();
      expect(m).toMatchObject({ successes: 1, failures: 1, timeouts: 1 });
      expect(m.failureRate).toBeCloseTo(2 / 3);
      expect(m.slowCallRate).toBeCloseTo(1 / 3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rate mode: the rates are the window’s, not the counters since the start', async () => {
    const breaker = breakerOn(new ManualClock(), {
      failureThreshold: undefined,
      failureRateThreshold: 0.9,
      window: countWindow(2),
      minimumCalls: 2,
    });
    await breaker.execute(down).catch(() => undefined);
    await breaker.execute(down).catch(() => undefined);
    await breaker.execute(() => 'ok').catch(() => undefined);
    expect(breaker.state).toBe('open');
    breaker.close();
    for (const _ of [1, 2, 3, 4]) await breaker.execute(() => 'ok');
    await breaker.execute(down).catch(() => undefined);
    // Since the start: 3 failures of 7 judged calls; the window of 2: 1 of 2.
    expect(breaker.metrics()).toMatchObject({ failureRate: 0.5, window: { calls: 2, failures: 1, slowCalls: 0 } });
  });
});

describe('a late probe', () => {
  it('that succeeds after maxProbeWait finds the trial expired: the circuit reopens, however the state was read', async () => {
    const clock = new ManualClock();
    const breaker = breakerOn(clock, { maxProbeWait: 50 });
    const changes: string[] = [];
    breaker.on('stateChange', (e) => changes.push(`${e.from}>${e.to}:${e.reason}`));
    await breaker.execute(down).catch(() => undefined);
    clock.advance(100);
    const probe = held();
    const running = breaker.execute(probe.call);
    clock.advance(60);
    // Nothing reads the state between the deadline and the probe's success.
    probe.release();
    await running;
    expect(changes).toEqual(['closed>open:failure-threshold', 'open>half-open:recovery-timeout', 'half-open>open:probe-expired']);
    expect(breaker.state).toBe('open');
  });
});

describe('an aborted caller and the concurrency cap, in every state', () => {
  const aborted = () => AbortSignal.abort(new Error('gave up'));

  it('disabled: calls past the cap are limited, an aborted caller is answered with its own reason', async () => {
    const breaker = breakerOn(new ManualClock(), { maxConcurrent: 1 });
    breaker.disable();
    const first = held();
    const running = breaker.execute(first.call);
    await expect(breaker.execute(() => 'x')).rejects.toBeInstanceOf(ConcurrencyLimitError);
    await expect(breaker.execute(() => 'x', { signal: aborted() })).rejects.toThrow('gave up');
    first.release();
    await running;
    expect(breaker.metrics()).toMatchObject({ limited: 1, neutral: 1, successes: 1 });
  });

  it('closed: the same', async () => {
    const breaker = breakerOn(new ManualClock(), { maxConcurrent: 1 });
    const first = held();
    const running = breaker.execute(first.call);
    await expect(breaker.execute(() => 'x')).rejects.toBeInstanceOf(ConcurrencyLimitError);
    await expect(breaker.execute(() => 'x', { signal: aborted() })).rejects.toThrow('gave up');
    first.release();
    await running;
    expect(breaker.metrics()).toMatchObject({ limited: 1, neutral: 1, successes: 1 });
  });

  it('half-open with a free probe slot but the cap reached: limited, and the slot stays free', async () => {
    const clock = new ManualClock();
    const breaker = breakerOn(clock, { maxConcurrent: 1, halfOpenProbes: 2, successThreshold: 2 });
    await breaker.execute(down).catch(() => undefined);
    clock.advance(100);
    const probe = held();
    const running = breaker.execute(probe.call);
    await expect(breaker.execute(() => 'x')).rejects.toBeInstanceOf(ConcurrencyLimitError);
    probe.release();
    await running;
    // The limited call took no slot: one more probe success closes.
    await breaker.execute(() => 'ok');
    expect(breaker.state).toBe('closed');
  });

  it('half-open with every slot taken: an aborted caller gets its own reason, not a rejection, and takes no slot', async () => {
    const clock = new ManualClock();
    const breaker = breakerOn(clock);
    await breaker.execute(down).catch(() => undefined);
    clock.advance(100);
    const probe = held();
    const running = breaker.execute(probe.call);
    await expect(breaker.execute(() => 'x', { signal: aborted() })).rejects.toThrow('gave up');
    await expect(breaker.execute(() => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    probe.release();
    await running;
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics()).toMatchObject({ neutral: 1, rejected: 1 });
  });

  it('disabled: a call takes no probe slot and leaves the snapshot as it was', async () => {
    const clock = new ManualClock();
    const breaker = breakerOn(clock);
    breaker.disable();
    const before = breaker.toJSON();
    await breaker.execute(() => 'ok');
    await breaker.execute(down).catch(() => undefined);
    expect(breaker.toJSON()).toEqual(before);
  });
});

describe('names, manual controls and logs', () => {
  it('name reads the option', () => {
    expect(new CircuitBreaker({ name: 'pricing' }).name).toBe('pricing');
    expect(new CircuitBreaker().name).toBeUndefined();
  });

  it('close() and reset() each give their own reason; reset() also zeroes the counters', async () => {
    const clock = new ManualClock();
    const breaker = breakerOn(clock);
    const reasons: string[] = [];
    breaker.on('stateChange', (e) => reasons.push(`${e.to}:${e.reason}:${e.source}`));
    await breaker.execute(down).catch(() => undefined);
    breaker.close();
    await breaker.execute(down).catch(() => undefined);
    breaker.reset();
    expect(reasons).toEqual([
      'open:failure-threshold:local',
      'closed:closed-manually:local',
      'open:failure-threshold:local',
      'closed:reset:local',
    ]);
    expect(breaker.metrics()).toMatchObject({ failures: 0, successes: 0, lastFailureAt: null });
  });

  it('transitions are logged: opening as a warning with the time to wait, the rest as information', async () => {
    const clock = new ManualClock();
    const logger = memoryLogger();
    const breaker = breakerOn(clock, { name: 'api', logger });
    await breaker.execute(down).catch(() => undefined);
    clock.advance(40);
    breaker.forceOpen();
    breaker.close();
    const transitions = logger.records.filter((r) => r.record.event === 'breaker.stateChange');
    expect(transitions.map((r) => [r.level, r.message, r.record.retryAfter])).toEqual([
      ['warn', 'Circuit "api" closed → open (failure-threshold)', 100],
      ['warn', 'Circuit "api" open → forced-open (forced-open)', undefined],
      ['info', 'Circuit "api" forced-open → closed (closed-manually)', undefined],
    ]);
    expect(transitions[0]?.record).toMatchObject({
      breaker: 'api',
      from: 'closed',
      to: 'open',
      reason: 'failure-threshold',
      source: 'local',
    });
  });

  it('a transition logged while open and a little time later says how long is left', async () => {
    const clock = new ManualClock();
    const logger = memoryLogger();
    const breaker = breakerOn(clock, { logger, recoveryTimeout: 100, maxProbeWait: 30 });
    await breaker.execute(down).catch(() => undefined);
    clock.advance(100);
    const probe = held();
    const running = breaker.execute(probe.call);
    clock.advance(50);
    // The trial expired at 130 and reopened until 230; read at 150: 80 ms left.
    expect(breaker.state).toBe('open');
    probe.release();
    await running;
    const reopened = logger.records.filter((r) => r.record.event === 'breaker.stateChange').at(-1);
    expect(reopened?.record).toMatchObject({ to: 'open', reason: 'probe-expired', retryAfter: 80 });
  });

  it('rejections are logged as a count, one call or many', async () => {
    const clock = new ManualClock();
    const logger = memoryLogger();
    const breaker = breakerOn(clock, { logger, recoveryTimeout: 10_000 });
    await breaker.execute(down).catch(() => undefined);
    await breaker.execute(() => 'x').catch(() => undefined);
    for (const _ of [1, 2]) await breaker.execute(() => 'x').catch(() => undefined);
    clock.advance(1_000);
    await breaker.execute(() => 'x').catch(() => undefined);
    const rejected = logger.records.filter((r) => r.record.event === 'breaker.rejected');
    expect(rejected.map((r) => r.message)).toEqual(['Circuit is open: 1 call rejected', 'Circuit is open: 3 calls rejected']);
  });
});
