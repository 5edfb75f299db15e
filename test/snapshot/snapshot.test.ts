import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, countWindow, parseSnapshot, timeWindow } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.js';

const failing = () => Promise.reject(new Error('down'));

describe('toJSON / initialState', () => {
  it('is a versioned, JSON-safe snapshot in wall-clock time', async () => {
    const clock = new ManualClock(500);
    const breaker = new CircuitBreaker({ name: 'a', failureThreshold: 2, recoveryTimeout: 1000, clock });
    await breaker.execute(failing).catch(() => undefined);
    await breaker.execute(failing).catch(() => undefined);
    clock.advance(200);
    const snapshot = breaker.toJSON();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot).toEqual({
      version: 1,
      name: 'a',
      state: 'open',
      reason: 'failure-threshold',
      since: clock.wall + 500,
      openUntil: clock.wall + 1500,
      opens: 1,
      tracker: { kind: 'consecutive', failures: 2 },
    });
  });

  it('means the same in another process with another monotonic clock', async () => {
    const a = new ManualClock(10_000, 1_800_000_000_000);
    const source = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock: a });
    await source.execute(failing).catch(() => undefined);
    const text = JSON.stringify(source);
    // Another process: monotonic time near zero, wall clock 300 ms later.
    const b = new ManualClock(3, 1_800_000_010_300 - 3);
    const restored = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock: b, initialState: parseSnapshot(text) });
    expect(restored.state).toBe('open');
    const error = (await restored.execute(() => 1).catch((e: unknown) => e)) as CircuitOpenError;
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error.retryAfter).toBe(700);
    b.advance(700);
    expect(restored.state).toBe('half-open');
  });

  it('restores windowed counts and half-open without probes', async () => {
    const clock = new ManualClock();
    const opts = { failureRateThreshold: 0.5, window: countWindow(4), minimumCalls: 4, recoveryTimeout: 100, clock };
    const a = new CircuitBreaker(opts);
    await a.execute(failing).catch(() => undefined);
    await a.execute(() => 1);
    await a.execute(failing).catch(() => undefined);
    const b = new CircuitBreaker({ ...opts, initialState: a.toJSON() });
    expect(b.metrics().window).toEqual({ calls: 3, failures: 2, slowCalls: 0 });
    await b.execute(() => 1);
    expect(b.state).toBe('open');
    clock.advance(100);
    const half = new CircuitBreaker({ ...opts, initialState: b.toJSON() });
    expect(half.state).toBe('half-open');
    await half.execute(() => 1);
    expect(half.state).toBe('closed');
  });

  it('ignores tracker counts of another mode but keeps the state', () => {
    const clock = new ManualClock();
    const snapshot = new CircuitBreaker({ clock }).toJSON();
    const b = new CircuitBreaker({ failureRateThreshold: 0.5, window: countWindow(100), clock, initialState: snapshot });
    expect(b.state).toBe('closed');
    expect(b.metrics().window.calls).toBe(0);
  });

  it('restores forced-open and disabled', () => {
    const clock = new ManualClock();
    const a = new CircuitBreaker({ clock });
    a.forceOpen();
    expect(new CircuitBreaker({ clock, initialState: a.toJSON() }).state).toBe('forced-open');
    a.disable();
    expect(new CircuitBreaker({ clock, initialState: a.toJSON() }).state).toBe('disabled');
  });

  const valid = {
    version: 1,
    name: null,
    state: 'closed',
    reason: 'initial',
    since: 1,
    openUntil: null,
    opens: 0,
    tracker: { kind: 'consecutive', failures: 0 },
  };

  it.each([
    ['not JSON', '{oops', TypeError, /"initialState" must be a snapshot object or its JSON text/],
    ['an array', [], TypeError, /"initialState" must be an object/],
    ['null in JSON text', 'null', TypeError, /must be an object/],
    ['another version', { ...valid, version: 2 }, RangeError, /"initialState.version" must be 1; got 2/],
    ['an unknown state', { ...valid, state: 'ajar' }, TypeError, /"initialState.state" must be one of/],
    ['open without openUntil', { ...valid, state: 'open' }, TypeError, /"initialState.openUntil"/],
    ['a NaN time', { ...valid, since: Number.NaN }, RangeError, /"initialState.since"/],
    ['a string time', { ...valid, since: '1' }, TypeError, /"initialState.since" must be a number/],
    ['negative opens', { ...valid, opens: -1 }, RangeError, /"initialState.opens"/],
    ['fractional opens', { ...valid, opens: 1.5 }, RangeError, /"initialState.opens" must be an integer ≥ 0; got 1.5/],
    ['a bad name', { ...valid, name: 5 }, TypeError, /"initialState.name"/],
    ['a bad reason', { ...valid, reason: 'because' }, TypeError, /"initialState.reason"/],
    ['a bad tracker', { ...valid, tracker: { kind: 'ring' } }, TypeError, /"initialState.tracker.kind"/],
    ['bad outcomes', { ...valid, tracker: { kind: 'count', outcomes: '19' } }, TypeError, /outcomes/],
    ['bad buckets', { ...valid, tracker: { kind: 'time', buckets: {} } }, TypeError, /buckets/],
    ['a short bucket', { ...valid, tracker: { kind: 'time', buckets: [[1, 2]] } }, TypeError, /buckets\[0\]/],
    ['a bucket with more failures than calls', { ...valid, tracker: { kind: 'time', buckets: [[1, 1, 2, 0]] } }, RangeError, /no larger/],
  ])('refuses %s', (_, value, Kind, message) => {
    const build = () => new CircuitBreaker({ initialState: parseSnapshot(value) });
    expect(build).toThrow(Kind);
    expect(build).toThrow(message);
  });

  it('accepts a snapshot without name and reason, and a time tracker', () => {
    const { name: _n, reason: _r, ...bare } = valid;
    const b = new CircuitBreaker({ initialState: parseSnapshot(bare) });
    expect(b.toJSON().reason).toBe('restored');
    const timed = { ...valid, tracker: { kind: 'time', buckets: [[Date.now(), 3, 1, 0]] } };
    expect(
      new CircuitBreaker({
        failureRateThreshold: 0.5,
        window: timeWindow({ duration: 60_000 }),
        initialState: parseSnapshot(timed),
      }).metrics().window.calls,
    ).toBe(3);
  });

  it('hostile JSON cannot pollute prototypes', () => {
    const hostile = JSON.stringify({ ...valid }).replace(
      '{',
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},',
    );
    const b = new CircuitBreaker({ initialState: parseSnapshot(hostile) });
    expect(b.state).toBe('closed');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(b.toJSON())).toEqual(['version', 'name', 'state', 'reason', 'since', 'openUntil', 'opens', 'tracker']);
  });

  it('takes null as no snapshot (what a key-value store answers for a missing key)', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, initialState: null });
    expect(breaker.state).toBe('closed');
  });
});
