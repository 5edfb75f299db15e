import { describe, expect, it } from 'vitest';
import { CIRCUIT_STATES, CircuitBreaker, CircuitOpenError, countWindow, parseSnapshot, timeWindow } from '../../src/index.js';
import { isSnapshot, markChecked } from '../../src/snapshot/brand.js';
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

describe('parseSnapshot: every field it carries', () => {
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

  it('gives null for null and undefined (no snapshot)', () => {
    expect(parseSnapshot(null)).toBeNull();
    expect(parseSnapshot(undefined)).toBeNull();
  });

  it('copies name, state, reason, times, opens and the tracker of an open snapshot', () => {
    expect(parseSnapshot({ ...valid, name: 'api', state: 'open', reason: 'failure-threshold', since: 5, openUntil: 9, opens: 2 })).toEqual({
      version: 1,
      name: 'api',
      state: 'open',
      reason: 'failure-threshold',
      since: 5,
      openUntil: 9,
      opens: 2,
      tracker: { kind: 'consecutive', failures: 0 },
    });
  });

  it('takes a missing or null name as null', () => {
    const { name: _n, ...unnamed } = valid;
    expect(parseSnapshot(unnamed)?.name).toBeNull();
    expect(parseSnapshot({ ...valid, name: null })?.name).toBeNull();
  });

  it('keeps openUntil only for an open circuit, and needs none otherwise', () => {
    expect(parseSnapshot({ ...valid, openUntil: 7 })?.openUntil).toBeNull();
    const { openUntil: _o, ...without } = valid;
    expect(parseSnapshot(without)?.openUntil).toBeNull();
  });

  it('copies each kind of tracker', () => {
    expect(parseSnapshot({ ...valid, tracker: { kind: 'consecutive', failures: 3, extra: 1 } })?.tracker).toEqual({
      kind: 'consecutive',
      failures: 3,
    });
    expect(parseSnapshot({ ...valid, tracker: { kind: 'count', outcomes: '0123' } })?.tracker).toEqual({ kind: 'count', outcomes: '0123' });
    expect(parseSnapshot({ ...valid, tracker: { kind: 'time', buckets: [[1, 2, 1, 1]] } })?.tracker).toEqual({
      kind: 'time',
      buckets: [[1, 2, 1, 1]],
    });
  });

  it('accepts a bucket whose failures and slow calls equal its calls', () => {
    expect(parseSnapshot({ ...valid, tracker: { kind: 'time', buckets: [[1, 2, 2, 2]] } })?.tracker).toEqual({
      kind: 'time',
      buckets: [[1, 2, 2, 2]],
    });
  });

  it('restores a consecutive-mode snapshot with its run of failures', async () => {
    const clock = new ManualClock();
    const a = new CircuitBreaker({ failureThreshold: 3, clock });
    await a.execute(failing).catch(() => undefined);
    await a.execute(failing).catch(() => undefined);
    const b = new CircuitBreaker({ failureThreshold: 3, clock, initialState: parseSnapshot(JSON.stringify(a)) });
    expect(b.metrics().window.failures).toBe(2);
    await b.execute(failing).catch(() => undefined);
    expect(b.state).toBe('open');
  });

  const message = (option: string, expected: string, got: string) => `breakwater: option "${option}" must be ${expected}; got ${got}`;
  const long = 'x'.repeat(200);

  it.each([
    ['a number', 5, TypeError, message('initialState', 'an object', '5')],
    ['a string in JSON text', '"text"', TypeError, message('initialState', 'an object', '"text"')],
    [
      'long text that is not JSON',
      `{${long}`,
      TypeError,
      message('initialState', 'a snapshot object or its JSON text', `"{${'x'.repeat(78)}`),
    ],
    ['a missing since', { ...valid, since: undefined }, TypeError, message('initialState.since', 'a number ≥ 0', 'undefined')],
    ['a missing opens', { ...valid, opens: undefined }, TypeError, message('initialState.opens', 'an integer ≥ 0', 'undefined')],
    ['a negative openUntil', { ...valid, openUntil: -1 }, RangeError, message('initialState.openUntil', 'a number ≥ 0', '-1')],
    [
      'open without openUntil',
      { ...valid, state: 'open' },
      TypeError,
      message('initialState.openUntil', 'a time when state is "open"', 'null'),
    ],
    ['a bad name', { ...valid, name: 5 }, TypeError, message('initialState.name', 'a string or null', '5')],
    [
      'an unknown state',
      { ...valid, state: 'ajar' },
      TypeError,
      message('initialState.state', `one of ${CIRCUIT_STATES.join(', ')}`, '"ajar"'),
    ],
    ['a tracker that is no object', { ...valid, tracker: 5 }, TypeError, message('initialState.tracker', 'an object', '5')],
    [
      'a negative run of failures',
      { ...valid, tracker: { kind: 'consecutive', failures: -1 } },
      RangeError,
      message('initialState.tracker.failures', 'an integer ≥ 0', '-1'),
    ],
    [
      'outcomes that are no string',
      { ...valid, tracker: { kind: 'count', outcomes: 12 } },
      TypeError,
      message('initialState.tracker.outcomes', 'a string of digits 0–3', '12'),
    ],
    [
      'outcomes with another digit',
      { ...valid, tracker: { kind: 'count', outcomes: '14' } },
      TypeError,
      message('initialState.tracker.outcomes', 'a string of digits 0–3', '"14"'),
    ],
    [
      'more outcomes than any count window holds',
      { ...valid, tracker: { kind: 'count', outcomes: '0'.repeat(1_000_001) } },
      RangeError,
      message('initialState.tracker.outcomes', 'at most 1000000 digits', '"1000001 digits"'),
    ],
    [
      'buckets that are no array',
      { ...valid, tracker: { kind: 'time', buckets: {} } },
      TypeError,
      message('initialState.tracker.buckets', 'an array', '{}'),
    ],
    [
      'more buckets than any time window has',
      { ...valid, tracker: { kind: 'time', buckets: Array.from({ length: 1001 }, () => [1, 0, 0, 0]) } },
      RangeError,
      message('initialState.tracker.buckets', 'at most 1000 buckets', '"1001 buckets"'),
    ],
    [
      'a bucket that is no array',
      { ...valid, tracker: { kind: 'time', buckets: [5] } },
      TypeError,
      message('initialState.tracker.buckets[0]', 'an array [start, calls, failures, slow]', '5'),
    ],
    [
      'a short bucket',
      { ...valid, tracker: { kind: 'time', buckets: [[1, 2, 0]] } },
      TypeError,
      message('initialState.tracker.buckets[0]', 'an array [start, calls, failures, slow]', '[1, 2, 0]'),
    ],
    [
      'a long bucket',
      { ...valid, tracker: { kind: 'time', buckets: [[1, 2, 0, 0, 0]] } },
      TypeError,
      message('initialState.tracker.buckets[0]', 'an array [start, calls, failures, slow]', '[1, 2, 0, 0, 0]'),
    ],
    [
      'a bucket with a bad start',
      {
        ...valid,
        tracker: {
          kind: 'time',
          buckets: [
            [1, 0, 0, 0],
            [-1, 0, 0, 0],
          ],
        },
      },
      RangeError,
      message('initialState.tracker.buckets[1][0]', 'a number ≥ 0', '-1'),
    ],
    [
      'a bucket with bad calls',
      { ...valid, tracker: { kind: 'time', buckets: [[1, -1, 0, 0]] } },
      RangeError,
      message('initialState.tracker.buckets[0][1]', 'an integer ≥ 0', '-1'),
    ],
    [
      'a bucket with bad failures',
      { ...valid, tracker: { kind: 'time', buckets: [[1, 1, 0.5, 0]] } },
      RangeError,
      message('initialState.tracker.buckets[0][2]', 'an integer ≥ 0', '0.5'),
    ],
    [
      'a bucket with bad slow calls',
      { ...valid, tracker: { kind: 'time', buckets: [[1, 1, 0, '1']] } },
      TypeError,
      message('initialState.tracker.buckets[0][3]', 'an integer ≥ 0', '"1"'),
    ],
    [
      'a bucket with more slow calls than calls',
      { ...valid, tracker: { kind: 'time', buckets: [[1, 1, 0, 2]] } },
      RangeError,
      message('initialState.tracker.buckets[0]', 'counts no larger than its calls', '[1, 1, 0, 2]'),
    ],
  ])('refuses %s with its exact error', (_, value, Kind, text) => {
    const parse = () => parseSnapshot(value);
    expect(parse).toThrow(Kind);
    expect(parse).toThrow(new Kind(text));
  });
});

describe('toJSON and restoring across modes', () => {
  it('writes openUntil only while open', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
    expect(breaker.toJSON().openUntil).toBeNull();
    await breaker.execute(failing).catch(() => undefined);
    expect(breaker.toJSON().openUntil).toBe(clock.wall + 100);
    clock.advance(100);
    expect(breaker.toJSON()).toMatchObject({ state: 'half-open', openUntil: null });
  });

  const modes = {
    consecutive: () => ({ failureThreshold: 5 }),
    count: () => ({ failureRateThreshold: 0.9, minimumCalls: 5, window: countWindow(10) }),
    time: () => ({ failureRateThreshold: 0.9, minimumCalls: 5, window: timeWindow({ duration: 1000 }) }),
  };
  const names = Object.keys(modes) as (keyof typeof modes)[];
  const pairs = names.flatMap((from) => names.filter((to) => to !== from).map((to) => [from, to] as const));

  it.each(pairs)('a %s snapshot restored in %s mode keeps the state, not the counts', async (from, to) => {
    const clock = new ManualClock();
    const source = new CircuitBreaker({ ...modes[from](), clock });
    await source.execute(failing).catch(() => undefined);
    await source.execute(failing).catch(() => undefined);
    source.forceOpen();
    const restored = new CircuitBreaker({ ...modes[to](), clock, initialState: parseSnapshot(JSON.stringify(source)) });
    expect(restored.state).toBe('forced-open');
    expect(restored.metrics().window).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
  });
});

describe('the mark of a checked snapshot', () => {
  it('is what a breaker asks of initialState: an unchecked object is refused', () => {
    const plain = JSON.parse(JSON.stringify(new CircuitBreaker().toJSON()));
    expect(() => new CircuitBreaker({ initialState: plain })).toThrow(
      new TypeError(
        `breakwater: option "initialState" must be a snapshot from parseSnapshot() or toJSON(); got ${JSON.stringify(plain).slice(0, 80)}`,
      ),
    );
  });

  it('is the global symbol breakwater.snapshot, shared by every copy of breakwater', () => {
    const checked = parseSnapshot(JSON.stringify(new CircuitBreaker().toJSON()));
    expect(Object.getOwnPropertySymbols(checked)).toEqual([Symbol.for('breakwater.snapshot')]);
    const byAnotherCopy = Object.defineProperty({ ...(checked as object), state: 'forced-open' }, Symbol.for('breakwater.snapshot'), {
      value: true,
    });
    expect(new CircuitBreaker({ initialState: byAnotherCopy as never }).state).toBe('forced-open');
  });

  it('is looked for on objects only', () => {
    for (const value of [null, undefined, 5, 'text', {}, []]) expect(isSnapshot(value)).toBe(false);
    expect(isSnapshot(markChecked({}))).toBe(true);
  });
});
