import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, CircuitOpenError, countWindow, exponentialBackoff, type StateChangeEvent, TimeoutError } from '../../src/index.js';
import { boom, ManualClock, memoryLogger } from '../helpers/clock.js';

const failing = () => Promise.reject(new Error('down'));
const ok =
  <T>(value: T) =>
  () =>
    Promise.resolve(value);

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await breaker.execute(failing).catch(() => undefined);
}

function setup(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ failureThreshold: 3, recoveryTimeout: 1000, clock, ...options });
  const changes: StateChangeEvent[] = [];
  breaker.on('stateChange', (e) => changes.push(e));
  return { clock, breaker, changes, path: () => changes.map((c) => `${c.from}>${c.to}`) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('1. consecutive failures open the circuit', () => {
  it('opens on the threshold-th consecutive failure, not before', async () => {
    const { breaker } = setup();
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('a success resets the count', async () => {
    const { breaker } = setup();
    await failTimes(breaker, 2);
    await breaker.execute(ok(1));
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('defaults to 5 failures and 60 s', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock });
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    clock.advance(59_999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
  });
});

describe('2. open rejects at once', () => {
  it('rejects with CircuitOpenError carrying retryAfter, without calling fn', async () => {
    const { breaker, clock } = setup({ name: 'quotes' });
    await failTimes(breaker, 3);
    clock.advance(400);
    const fn = vi.fn(ok(1));
    const error = await breaker.execute(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(Error);
    expect((error as CircuitOpenError).retryAfter).toBe(600);
    expect((error as CircuitOpenError).message).toBe('Circuit "quotes" is open');
    expect((error as CircuitOpenError).breaker).toBe('quotes');
    expect((error as CircuitOpenError).name).toBe('CircuitOpenError');
  });

  it('the rejection carries no stack frames (cheap to build)', async () => {
    const { breaker } = setup();
    await failTimes(breaker, 3);
    const error = (await breaker.execute(ok(1)).catch((e: unknown) => e)) as Error;
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBeGreaterThan(0);
  });
});

describe('3. state is derived from the clock', () => {
  it('reads half-open once the recovery time passed, and the event fires on that read', async () => {
    const { breaker, clock, path, changes } = setup();
    await failTimes(breaker, 3);
    clock.advance(999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(path()).toEqual(['closed>open']);
    expect(breaker.state).toBe('half-open');
    expect(path()).toEqual(['closed>open', 'open>half-open']);
    expect(changes[1]?.reason).toBe('recovery-timeout');
    expect(changes[1]?.at).toBe(clock.wallNow());
  });

  it('a late read still dates the transition at the moment it became due', async () => {
    const { breaker, clock, changes } = setup();
    await failTimes(breaker, 3);
    const openedAt = clock.wallNow();
    clock.advance(5000);
    expect(breaker.state).toBe('half-open');
    expect(changes[1]?.at).toBe(openedAt + 1000);
  });
});

describe('4. half-open admits bounded probes', () => {
  it('admits one probe, rejects others fast, and a success closes', async () => {
    const { breaker, clock, path } = setup();
    await failTimes(breaker, 3);
    clock.advance(1000);
    let release!: (v: string) => void;
    const probe = breaker.execute(() => new Promise<string>((r) => (release = r)));
    const other = vi.fn(ok('x'));
    const rejected = await breaker.execute(other).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(CircuitOpenError);
    expect(other).not.toHaveBeenCalled();
    release('fine');
    await expect(probe).resolves.toBe('fine');
    expect(breaker.state).toBe('closed');
    expect(path()).toEqual(['closed>open', 'open>half-open', 'half-open>closed']);
  });

  it('a failed probe reopens for a fresh recovery timeout', async () => {
    const { breaker, clock } = setup();
    await failTimes(breaker, 3);
    clock.advance(1000);
    await breaker.execute(failing).catch(() => undefined);
    expect(breaker.state).toBe('open');
    const error = (await breaker.execute(ok(1)).catch((e: unknown) => e)) as CircuitOpenError;
    expect(error.retryAfter).toBe(1000);
  });

  it('honours halfOpenProbes and successThreshold', async () => {
    const { breaker, clock } = setup({ halfOpenProbes: 2, successThreshold: 3 });
    await failTimes(breaker, 3);
    clock.advance(1000);
    const gates: Array<() => void> = [];
    const slowOk = () => new Promise<void>((r) => gates.push(r));
    const a = breaker.execute(slowOk);
    const b = breaker.execute(slowOk);
    await expect(breaker.execute(slowOk)).rejects.toBeInstanceOf(CircuitOpenError);
    gates[0]?.();
    gates[1]?.();
    await Promise.all([a, b]);
    expect(breaker.state).toBe('half-open');
    await breaker.execute(ok(1));
    expect(breaker.state).toBe('closed');
  });

  it('a probe that never settles cannot hold the circuit half-open (maxProbeWait)', async () => {
    const { breaker, clock, changes } = setup({ maxProbeWait: 5000 });
    await failTimes(breaker, 3);
    clock.advance(1000);
    let release!: () => void;
    const stuck = breaker.execute(() => new Promise<void>((r) => (release = r)));
    clock.advance(4999);
    expect(breaker.state).toBe('half-open');
    clock.advance(1);
    expect(breaker.state).toBe('open');
    expect(changes.at(-1)?.reason).toBe('probe-expired');
    clock.advance(1000);
    expect(breaker.state).toBe('half-open');
    // The old probe's late success belongs to an earlier trial: it must not close the circuit.
    release();
    await stuck;
    expect(breaker.state).toBe('half-open');
    await breaker.execute(ok(1));
    expect(breaker.state).toBe('closed');
  });

  it('a rejection while the probe is busy says when the trial will be decided', async () => {
    const { breaker, clock } = setup({ maxProbeWait: 5000 });
    await failTimes(breaker, 3);
    clock.advance(1000);
    void breaker.execute(() => new Promise(() => {}));
    clock.advance(2000);
    const error = (await breaker.execute(ok(1)).catch((e: unknown) => e)) as CircuitOpenError;
    expect(error.retryAfter).toBe(3000);
  });

  it('outcomes of calls admitted before the circuit opened do not count afterwards', async () => {
    const { breaker, clock } = setup();
    let release!: (v: number) => void;
    const slow = breaker.execute(() => new Promise<number>((r) => (release = r)));
    await failTimes(breaker, 3);
    clock.advance(1000);
    expect(breaker.state).toBe('half-open');
    release(7);
    await slow;
    expect(breaker.state).toBe('half-open');
  });
});

describe('5. neutral errors', () => {
  class NotFound extends Error {}
  const isFailure = (e: unknown) => !(e instanceof NotFound);

  it('are rethrown unchanged, neither count nor reset the run', async () => {
    const { breaker } = setup({ isFailure });
    const notFound = new NotFound('nope');
    await failTimes(breaker, 2);
    await expect(breaker.execute(() => Promise.reject(notFound))).rejects.toBe(notFound);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(breaker.metrics().neutral).toBe(1);
  });

  it('free the probe slot in half-open without deciding the trial', async () => {
    const { breaker, clock } = setup({ isFailure });
    await failTimes(breaker, 3);
    clock.advance(1000);
    await expect(breaker.execute(() => Promise.reject(new NotFound()))).rejects.toBeInstanceOf(NotFound);
    expect(breaker.state).toBe('half-open');
    await breaker.execute(ok(1));
    expect(breaker.state).toBe('closed');
  });

  it('a predicate that throws counts the error as a failure and is reported', async () => {
    const logger = memoryLogger();
    const { breaker } = setup({ failureThreshold: 1, logger, isFailure: () => boom('predicate') });
    await breaker.execute(failing).catch(() => undefined);
    expect(breaker.state).toBe('open');
    expect(logger.records.some((r) => r.record.event === 'breaker.predicateError')).toBe(true);
  });
});

describe('6. any fn, any value, any throw', () => {
  it('passes sync values through, undefined included', async () => {
    const { breaker } = setup();
    await expect(breaker.execute(() => undefined)).resolves.toBeUndefined();
    await expect(breaker.execute(() => 42)).resolves.toBe(42);
    await expect(breaker.execute(() => null)).resolves.toBeNull();
  });

  it('a sync throw counts like a rejection', async () => {
    const { breaker } = setup();
    for (let i = 0; i < 3; i++) await expect(breaker.execute(() => boom('sync'))).rejects.toThrow('sync');
    expect(breaker.state).toBe('open');
  });

  it('non-Error throws are rethrown as they are and counted', async () => {
    const { breaker } = setup();
    await expect(
      breaker.execute(() => {
        throw 'a string';
      }),
    ).rejects.toBe('a string');
    await expect(breaker.execute(() => Promise.reject(undefined))).rejects.toBeUndefined();
    await expect(breaker.execute(() => Promise.reject(null))).rejects.toBeNull();
    expect(breaker.state).toBe('open');
  });

  it('accepts thenables that are not promises', async () => {
    const { breaker } = setup();
    // A minimal foreign promise-like: only a then method.
    const thenable: PromiseLike<number> = Object.defineProperty({} as PromiseLike<number>, 'then', {
      value: (resolve: (v: number) => void) => resolve(5),
    });
    await expect(breaker.execute(() => thenable)).resolves.toBe(5);
  });
});

describe('7. timeout and caller signal', () => {
  it('timeout aborts fn signal, rejects with TimeoutError and counts as a failure', async () => {
    vi.useFakeTimers();
    const { breaker } = setup({ timeout: 100, failureThreshold: 1 });
    let seen: AbortSignal | undefined;
    const call = breaker.execute(({ signal }) => {
      seen = signal;
      return new Promise(() => {});
    });
    const settled = call.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    const error = await settled;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(100);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(error);
    expect(breaker.state).toBe('open');
    expect(breaker.metrics().timeouts).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a call that finishes in time clears its timer and a late rejection is swallowed', async () => {
    vi.useFakeTimers();
    const { breaker } = setup({ timeout: 100 });
    await expect(breaker.execute(ok('fast'))).resolves.toBe('fast');
    expect(vi.getTimerCount()).toBe(0);
    let rejectLate!: (e: Error) => void;
    const call = breaker.execute(() => new Promise((_, r) => (rejectLate = r))).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await call).toBeInstanceOf(TimeoutError);
    rejectLate(new Error('late'));
    await Promise.resolve();
    expect(breaker.metrics().failures).toBe(0);
  });

  it('a caller abort is passed on, rejects with the reason and is neutral', async () => {
    const { breaker } = setup({ failureThreshold: 1 });
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const call = breaker.execute(
      ({ signal }) => {
        seen = signal;
        return new Promise(() => {});
      },
      { signal: controller.signal },
    );
    const reason = new Error('user left');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(reason);
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics().neutral).toBe(1);
  });

  it('an already aborted signal rejects without calling fn', async () => {
    const { breaker } = setup();
    const fn = vi.fn(ok(1));
    const signal = AbortSignal.abort('gone');
    await expect(breaker.execute(fn, { signal })).rejects.toBe('gone');
    expect(fn).not.toHaveBeenCalled();
  });

  it('an already aborted signal is answered with its reason in every state: neutral, not rejected, no probe spent', async () => {
    const { breaker, clock } = setup({ failureThreshold: 1 });
    const fn = vi.fn(ok(1));
    const signal = AbortSignal.abort('gone');
    await expect(breaker.execute(failing)).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(fn, { signal })).rejects.toBe('gone');
    clock.advance(1000);
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(fn, { signal, fallback: (e) => (e === 'gone' ? -1 : 0) })).resolves.toBe(-1);
    // The probe slot is still free: the next call is the probe, and it closes the circuit.
    await expect(breaker.execute(fn)).resolves.toBe(1);
    expect(breaker.state).toBe('closed');
    breaker.forceOpen();
    await expect(breaker.execute(fn, { signal })).rejects.toBe('gone');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(breaker.metrics()).toMatchObject({ neutral: 3, rejected: 0 });
  });

  it('a caller signal without timeout still completes normally and detaches its listener', async () => {
    const { breaker } = setup();
    const controller = new AbortController();
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    await expect(breaker.execute(ok(3), { signal: controller.signal })).resolves.toBe(3);
    expect(remove).toHaveBeenCalled();
    await expect(breaker.execute(failing, { signal: controller.signal })).rejects.toThrow('down');
    await expect(breaker.execute(() => boom('sync'), { signal: controller.signal })).rejects.toThrow('sync');
    expect(breaker.metrics().failures).toBe(2);
  });

  it('without timeout or signal fn gets an undefined signal', async () => {
    const { breaker } = setup();
    await breaker.execute(({ signal }) => expect(signal).toBeUndefined());
  });
});

describe('9. listeners', () => {
  it('a throwing or rejecting listener is reported and the breaker carries on', async () => {
    const logger = memoryLogger();
    const { breaker } = setup({ logger, failureThreshold: 1 });
    breaker.on('stateChange', () => boom('listener'));
    breaker.on('stateChange', () => Promise.reject(new Error('async listener')));
    breaker.on('failure', () => boom('failure listener'));
    await breaker.execute(failing).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 0));
    expect(breaker.state).toBe('open');
    const reported = logger.records.filter((r) => r.record.event === 'breaker.listenerError');
    expect(reported.map((r) => (r.record.error as Error).message).sort()).toEqual(['async listener', 'failure listener', 'listener']);
  });

  it('without a logger, listener errors go to console.error', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { breaker } = setup({ failureThreshold: 1 });
    breaker.on('stateChange', () => boom('listener'));
    await breaker.execute(failing).catch(() => undefined);
    expect(spy).toHaveBeenCalledWith('breakwater: a "stateChange" listener threw', expect.any(Error));
    spy.mockRestore();
  });

  it('a logger that throws is contained', async () => {
    const throwing = { info: () => boom(), warn: () => boom(), error: () => boom() };
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock, logger: throwing });
    breaker.on('failure', () => boom('listener'));
    await expect(breaker.execute(failing)).rejects.toThrow('down');
  });

  it('on returns an idempotent unsubscribe', async () => {
    const { breaker } = setup();
    const seen: string[] = [];
    const off = breaker.on('success', () => seen.push('a'));
    breaker.on('success', () => seen.push('b'));
    await breaker.execute(ok(1));
    off();
    off();
    await breaker.execute(ok(1));
    expect(seen).toEqual(['a', 'b', 'b']);
  });

  it('refuses a listener that is not a function', () => {
    const { breaker } = setup();
    expect(() => breaker.on('success', 'nope' as never)).toThrow(TypeError);
  });

  it('emits exactly one outcome event per call, with durations', async () => {
    vi.useFakeTimers();
    const { breaker, clock } = setup({ timeout: 50, isFailure: (e) => e !== 'neutral', failureThreshold: 10 });
    const events: string[] = [];
    for (const type of ['success', 'failure', 'neutral', 'rejected', 'timeout'] as const) {
      breaker.on(type, (e) => events.push(`${type}:${'duration' in e ? e.duration : '-'}`));
    }
    await breaker.execute(() => {
      clock.advance(7);
      return 1;
    });
    await breaker.execute(failing).catch(() => undefined);
    await breaker.execute(() => Promise.reject('neutral')).catch(() => undefined);
    const t = breaker.execute(() => new Promise(() => {})).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(50);
    await t;
    breaker.forceOpen();
    await breaker.execute(ok(1)).catch(() => undefined);
    expect(events).toEqual(['success:7', 'failure:0', 'neutral:0', 'timeout:0', 'rejected:-']);
  });
});

describe('11. no timers while idle', () => {
  it('creates no timer for calls without timeout, nor while open or half-open', async () => {
    vi.useFakeTimers();
    const { breaker, clock } = setup();
    await breaker.execute(ok(1));
    await failTimes(breaker, 3);
    expect(breaker.state).toBe('open');
    clock.advance(1000);
    expect(breaker.state).toBe('half-open');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('11. no handles left behind (real timers)', () => {
  it('idle, open and half-open breakers hold no timers; a timed call holds one only while in flight', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const breakers = Array.from({ length: 100 }, () => new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 0, timeout: 1000 }));
    for (const b of breakers) await b.execute(failing).catch(() => undefined);
    expect(breakers.every((b) => b.state === 'half-open')).toBe(true);
    expect(timers()).toBe(before);
    let release!: () => void;
    const inFlight = breakers[0]?.execute(() => new Promise<void>((r) => (release = r)));
    expect(timers()).toBe(before + 1);
    release();
    await inFlight;
    expect(timers()).toBe(before);
  });
});

describe('result-based failure', () => {
  it('counts a resolved value as a failure and still returns it', async () => {
    const { breaker } = setup({ isResultFailure: (r) => (r as { status: number }).status >= 500 });
    const changes: unknown[] = [];
    breaker.on('failure', (e) => changes.push(e.fromResult));
    for (let i = 0; i < 3; i++) await expect(breaker.execute(ok({ status: 503 }))).resolves.toEqual({ status: 503 });
    expect(breaker.state).toBe('open');
    expect(changes).toEqual([true, true, true]);
  });
});

describe('fallback', () => {
  it('replaces errors, CircuitOpenError included, and is typed', async () => {
    const { breaker } = setup({ failureThreshold: 1 });
    const seen: unknown[] = [];
    const fallback = (e: unknown) => {
      seen.push(e);
      return 'cached';
    };
    await expect(breaker.execute(failing, { fallback })).resolves.toBe('cached');
    await expect(breaker.execute(ok('live'), { fallback })).resolves.toBe('cached');
    expect(seen[1]).toBeInstanceOf(CircuitOpenError);
  });

  it('a fallback that throws rejects with its error', async () => {
    const { breaker } = setup({ failureThreshold: 1 });
    await breaker.execute(failing).catch(() => undefined);
    await expect(breaker.execute(ok(1), { fallback: () => boom('fallback') })).rejects.toThrow('fallback');
  });

  it('wrap keeps parameters and applies its fallback', async () => {
    const { breaker } = setup({ failureThreshold: 1 });
    const add = breaker.wrap((a: number, b: number) => a + b);
    await expect(add(2, 3)).resolves.toBe(5);
    const risky = breaker.wrap((x: number) => (x > 0 ? Promise.reject(new Error('no')) : Promise.resolve(x)), {
      fallback: () => -1,
    });
    await expect(risky(1)).resolves.toBe(-1);
    expect(breaker.state).toBe('open');
    await expect(add(1, 1)).rejects.toBeInstanceOf(CircuitOpenError);
  });
});

describe('manual control', () => {
  it('a stateChange listener may change the state it is told about', async () => {
    const { breaker, clock } = setup({ failureThreshold: 1, maxProbeWait: 10 });
    breaker.on('stateChange', ({ to }) => {
      if (to === 'half-open') breaker.forceOpen();
    });
    await failTimes(breaker, 1);
    clock.advance(5000);
    expect(breaker.state).toBe('forced-open');
  });

  it('forceOpen holds the circuit open past the recovery time until close', async () => {
    const { breaker, clock, path } = setup();
    breaker.forceOpen();
    breaker.forceOpen();
    clock.advance(1_000_000);
    const error = (await breaker.execute(ok(1)).catch((e: unknown) => e)) as CircuitOpenError;
    expect(error.retryAfter).toBe(Number.POSITIVE_INFINITY);
    expect(breaker.state).toBe('forced-open');
    breaker.close();
    expect(breaker.state).toBe('closed');
    expect(path()).toEqual(['closed>forced-open', 'forced-open>closed']);
  });

  it('disable passes every call through, measured but never opening', async () => {
    const { breaker } = setup();
    breaker.disable();
    breaker.disable();
    await failTimes(breaker, 10);
    expect(breaker.state).toBe('disabled');
    expect(breaker.metrics().failures).toBe(10);
    breaker.close();
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it('close forgets recorded failures; reset also zeroes counters', async () => {
    const { breaker, path } = setup();
    await failTimes(breaker, 2);
    breaker.close();
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics()).toMatchObject({ failures: 0, successes: 0, rejected: 0 });
    expect(path()).toEqual(['closed>open', 'open>closed']);
  });
});

describe('metrics', () => {
  it('counts every outcome and reports rates and since', async () => {
    vi.useFakeTimers();
    const { breaker, clock } = setup({ slowCallDuration: 10, timeout: 1000, failureThreshold: 10, isFailure: (e) => e !== 'n' });
    await breaker.execute(() => {
      clock.advance(20);
      return 1;
    });
    await breaker.execute(ok(1));
    await breaker.execute(failing).catch(() => undefined);
    await breaker.execute(() => Promise.reject('n')).catch(() => undefined);
    const m = breaker.metrics();
    expect(m).toMatchObject({ state: 'closed', successes: 2, failures: 1, neutral: 1, slowCalls: 1, timeouts: 0, rejected: 0 });
    expect(m.failureRate).toBeCloseTo(1 / 3);
    expect(m.slowCallRate).toBeCloseTo(1 / 3);
    expect(m.since).toBe(clock.wall);
    expect(m.retryAfter).toBe(0);
    expect(m.name).toBeUndefined();
  });

  it('is zero for a fresh breaker', () => {
    const { breaker } = setup();
    expect(breaker.metrics()).toMatchObject({ failureRate: 0, slowCallRate: 0 });
  });
});

describe('logging', () => {
  it('records transitions and rejections as structured records', async () => {
    const logger = memoryLogger();
    const { breaker, clock } = setup({ logger, name: 'api', failureThreshold: 1 });
    await breaker.execute(failing).catch(() => undefined);
    await breaker.execute(ok(1)).catch(() => undefined);
    clock.advance(1000);
    await breaker.execute(ok(1));
    expect(logger.records.map((r) => [r.level, r.record.event, r.record.to ?? null])).toEqual([
      ['warn', 'breaker.stateChange', 'open'],
      ['warn', 'breaker.rejected', null],
      ['info', 'breaker.stateChange', 'half-open'],
      ['info', 'breaker.stateChange', 'closed'],
    ]);
    expect(logger.records[0]?.record).toMatchObject({ breaker: 'api', from: 'closed', reason: 'failure-threshold', retryAfter: 1000 });
    expect(logger.records[0]?.message).toBe('Circuit "api" closed → open (failure-threshold)');
  });
});

describe('recovery backoff', () => {
  it('grows exponentially with a cap and resets when the circuit closes', async () => {
    const { breaker, clock } = setup({ failureThreshold: 1, backoff: exponentialBackoff({ multiplier: 2, maxDelay: 3000 }) });
    const openFor = async () => ((await breaker.execute(ok(1)).catch((e: unknown) => e)) as CircuitOpenError).retryAfter;
    await failTimes(breaker, 1);
    expect(await openFor()).toBe(1000);
    clock.advance(1000);
    await failTimes(breaker, 1);
    expect(await openFor()).toBe(2000);
    clock.advance(2000);
    await failTimes(breaker, 1);
    expect(await openFor()).toBe(3000);
    clock.advance(3000);
    await breaker.execute(ok(1));
    await failTimes(breaker, 1);
    expect(await openFor()).toBe(1000);
  });

  it('accepts a function of the attempt; a bad result falls back to recoveryTimeout', async () => {
    const { breaker, clock } = setup({ failureThreshold: 1, backoff: (attempt) => (attempt === 1 ? 50 : Number.NaN) });
    await failTimes(breaker, 1);
    clock.advance(50);
    expect(breaker.state).toBe('half-open');
    await failTimes(breaker, 1);
    clock.advance(999);
    expect(breaker.state).toBe('open');
  });

  it('jitter shortens the delay by up to the given fraction', async () => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { breaker } = setup({ failureThreshold: 1, backoff: exponentialBackoff({ jitter: 0.2 }) });
    await failTimes(breaker, 1);
    const error = (await breaker.execute(ok(1)).catch((e: unknown) => e)) as CircuitOpenError;
    expect(error.retryAfter).toBe(900);
    spy.mockRestore();
  });

  it('fixed backoff keeps the recovery timeout', async () => {
    const { breaker, clock } = setup({ failureThreshold: 1, backoff: undefined });
    await failTimes(breaker, 1);
    clock.advance(1000);
    await failTimes(breaker, 1);
    const error = (await breaker.execute(ok(1)).catch((e: unknown) => e)) as CircuitOpenError;
    expect(error.retryAfter).toBe(1000);
  });
});

describe('default clock', () => {
  it('works without an injected clock', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 0 });
    await breaker.execute(failing).catch(() => undefined);
    expect(breaker.state).toBe('half-open');
    expect(breaker.name).toBeUndefined();
    expect(breaker.toJSON().since).toBeGreaterThan(1_600_000_000_000);
  });
});

describe('user code that misbehaves never reaches the caller as the wrong error', () => {
  const failing = () => Promise.reject(new Error('down'));
  const throwingBackoff = () => {
    throw new Error('backoff bug');
  };

  it('a backoff function that throws: reported, the recovery timeout applies, every path settles', async () => {
    vi.useFakeTimers();
    const logger = memoryLogger();
    const { breaker, clock } = setup({ failureThreshold: 1, timeout: 100, backoff: throwingBackoff, logger });
    // Fast path, timed path, and a timeout that opens the circuit inside the timer callback.
    await expect(breaker.execute(failing)).rejects.toThrow('down');
    expect(breaker.metrics().retryAfter).toBe(1000);
    breaker.close();
    await expect(breaker.execute(failing, { signal: new AbortController().signal })).rejects.toThrow('down');
    breaker.close();
    const hung = breaker.execute(() => new Promise(() => {})).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await hung).toBeInstanceOf(TimeoutError);
    expect(breaker.state).toBe('open');
    clock.advance(1000);
    expect(breaker.state).toBe('half-open');
    const reports = logger.records.filter((r) => r.record.option === 'backoff');
    expect(reports).toHaveLength(3);
    expect(reports[0]).toMatchObject({ level: 'error', record: { event: 'breaker.predicateError' } });
  });

  it('execute() with something that is not a function rejects with a TypeError and counts nothing', async () => {
    const { breaker } = setup({ failureThreshold: 1 });
    await expect(breaker.execute(Promise.resolve(1) as never)).rejects.toThrow(
      new TypeError('breakwater: execute() needs a function; got object'),
    );
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics()).toMatchObject({ failures: 0, neutral: 0 });
  });

  it('a signal that is not an AbortSignal is refused as a neutral call: the probe slot is freed', async () => {
    const { breaker, clock } = setup({ failureThreshold: 1 });
    await expect(breaker.execute(failing)).rejects.toThrow('down');
    clock.advance(1000);
    const fn = vi.fn(() => 1);
    await expect(breaker.execute(fn, { signal: {} as AbortSignal })).rejects.toThrow(/"signal" of execute\(\) must be an AbortSignal/);
    expect(fn).not.toHaveBeenCalled();
    await expect(breaker.execute(() => 2)).resolves.toBe(2);
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics().neutral).toBe(1);
  });

  it('isResultFailure fails a value only on true; isFailure spares an error only on false', async () => {
    const { breaker } = setup({
      isResultFailure: ((r: { error?: string }) => r.error) as never,
      isFailure: (() => undefined) as never,
    });
    await breaker.execute(() => ({ data: 1 }));
    await breaker.execute(() => ({ error: 'x' }));
    expect(breaker.metrics()).toMatchObject({ successes: 2, failures: 0 });
    await expect(breaker.execute(failing)).rejects.toThrow('down');
    expect(breaker.metrics().failures).toBe(1);
  });
});

describe('durations and slow calls', () => {
  it('a call already in flight when the first duration listener subscribes reports NaN, not a time from nothing', async () => {
    const { breaker, clock } = setup();
    clock.advance(50_000);
    let release!: (v: number) => void;
    const call = breaker.execute(() => new Promise<number>((r) => (release = r)));
    clock.advance(10);
    const durations: number[] = [];
    breaker.on('success', (e) => durations.push(e.duration));
    release(1);
    await call;
    await breaker.execute(() => {
      clock.advance(7);
      return 2;
    });
    expect(durations).toEqual([Number.NaN, 7]);
  });

  it('a call cut off by the timeout is slow when the timeout is at least slowCallDuration', async () => {
    vi.useFakeTimers();
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({
      slowCallRateThreshold: 0.5,
      slowCallDuration: 1000,
      minimumCalls: 2,
      window: countWindow(10),
      timeout: 5000,
      clock,
    });
    for (let i = 0; i < 2; i++) {
      const call = breaker.execute(() => new Promise(() => {})).catch((e: unknown) => e);
      clock.advance(5000);
      await vi.advanceTimersByTimeAsync(5000);
      expect(await call).toBeInstanceOf(TimeoutError);
    }
    expect(breaker.metrics()).toMatchObject({ slowCalls: 2, timeouts: 2, state: 'open' });
  });
});
