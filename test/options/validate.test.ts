import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitBreakerOptions, countWindow, exponentialBackoff, timeWindow } from '../../src/index.js';

const build = (options: unknown) => () => new CircuitBreaker(options as CircuitBreakerOptions);

describe('invalid options throw at construction, naming the option and the value', () => {
  it.each([
    ['failureThreshold', 0, RangeError, /"failureThreshold".*got 0/],
    ['failureThreshold', -1, RangeError, /got -1/],
    ['failureThreshold', Number.NaN, RangeError, /got NaN/],
    ['failureThreshold', 2.5, RangeError, /an integer ≥ 1; got 2.5/],
    ['failureThreshold', '5', TypeError, /got "5"/],
    ['recoveryTimeout', -1, RangeError, /"recoveryTimeout".*got -1/],
    ['recoveryTimeout', Number.NaN, RangeError, /got NaN/],
    ['recoveryTimeout', Number.POSITIVE_INFINITY, RangeError, /got Infinity/],
    ['recoveryTimeout', '1000', TypeError, /^breakwater: option "recoveryTimeout" must be a number ≥ 0; got "1000"$/],
    ['timeout', '1000', TypeError, /^breakwater: option "timeout" must be a number > 0 and ≤ 2147483647; got "1000"$/],
    ['isFailure', 'yes', TypeError, /"isFailure" must be a function; got "yes"/],
    ['isResultFailure', 1, TypeError, /"isResultFailure"/],
    ['timeout', 0, RangeError, /"timeout" must be a number > 0 and ≤ 2147483647; got 0/],
    ['timeout', -5, RangeError, /got -5/],
    ['timeout', Number.NaN, RangeError, /got NaN/],
    ['halfOpenProbes', 0, RangeError, /"halfOpenProbes"/],
    ['successThreshold', 1.5, RangeError, /"successThreshold"/],
    ['maxProbeWait', 0, RangeError, /"maxProbeWait"/],
    ['slowCallDuration', -1, RangeError, /"slowCallDuration"/],
    ['name', '', TypeError, /"name" must be a non-empty string/],
    ['name', 5, TypeError, /"name"/],
    ['clock', { now: 5 }, TypeError, /"clock"/],
    ['clock', { now: () => 0, wallNow: 1 }, TypeError, /"clock"/],
    ['logger', console.log, TypeError, /"logger" must be an object with info, warn and error methods; got a function/],
    ['backoff', 'exp', TypeError, /"backoff" must be a function; got "exp"/],
    ['backoff', { type: 'exponential' }, TypeError, /"backoff" must be a function/],
    ['maxConcurrent', 0, RangeError, /"maxConcurrent" must be an integer ≥ 1; got 0/],
    ['maxConcurrent', 1.5, RangeError, /"maxConcurrent"/],
    ['maxConcurrent', '5', TypeError, /"maxConcurrent"/],
    ['initialState', { version: 1, state: 'closed' }, TypeError, /"initialState" must be a snapshot from parseSnapshot\(\) or toJSON\(\)/],
    ['initialState', '{"version":1}', TypeError, /"initialState" must be a snapshot from parseSnapshot\(\)/],
    ['window', { type: 'count', size: 10 }, TypeError, /"window" must be countWindow\(size\) or timeWindow/],
    ['timeout', 2 ** 31, RangeError, /"timeout" must be a number > 0 and ≤ 2147483647; got 2147483648/],
    ['logger', null, TypeError, /^breakwater: option "logger" must be an object with info, warn and error methods; got null$/],
    ['clock', null, TypeError, /^breakwater: option "clock" must be an object with a now\(\) method; got null$/],
    [
      'logger',
      Object.assign(() => undefined, { info() {}, warn() {}, error() {} }),
      TypeError,
      /^breakwater: option "logger" must be an object with info, warn and error methods; got a function$/,
    ],
    [
      'name',
      [Number.NaN, Number.POSITIVE_INFINITY, 'x'],
      TypeError,
      /^breakwater: option "name" must be a non-empty string; got \[NaN, Infinity, "x"\]$/,
    ],
    ['name', { id: 7 }, TypeError, /; got \{"id":7\}$/],
    ['name', 12, TypeError, /; got 12$/],
    [
      'isFailure',
      Error,
      TypeError,
      /^breakwater: option "isFailure" must be a function that judges the value, not a class; use \(error\) => error instanceof Error$/,
    ],
  ])('%s = %o', (option, value, Kind, message) => {
    const f = build({ [option]: value });
    expect(f).toThrow(Kind);
    expect(f).toThrow(message);
  });

  it.each([
    [{ failureRateThreshold: 0 }, RangeError, /"failureRateThreshold"/],
    [{ failureRateThreshold: 1.5 }, RangeError, /≤ 1/],
    [{ failureRateThreshold: 0.5, window: null }, TypeError, /"window"/],
    [{ failureRateThreshold: 0.5, window: { type: 'sliding' } }, TypeError, /"window" must be countWindow/],
    [{ failureRateThreshold: 0.5, window: countWindow(10), minimumCalls: 0 }, RangeError, /"minimumCalls"/],
    [{ failureRateThreshold: 0.5, failureThreshold: 3 }, TypeError, /cannot be combined/],
    [
      { failureThreshold: 3, window: countWindow(10) },
      TypeError,
      /^breakwater: "failureThreshold" \(consecutive mode\) cannot be combined with rate options: choose one mode$/,
    ],
    [{ failureThreshold: 3, minimumCalls: 5 }, TypeError, /^breakwater: "failureThreshold" \(consecutive mode\) cannot be combined/],
    [{ window: countWindow(10) }, TypeError, /needs "failureRateThreshold" or "slowCallRateThreshold"/],
    [{ failureRateThreshold: 0.5 }, TypeError, /rate mode needs .*a "window": countWindow\(size\)/],
    [{ minimumCalls: 5 }, TypeError, /rate mode needs/],
    [{ slowCallRateThreshold: 0.5, window: countWindow(10) }, TypeError, /needs "slowCallDuration"/],
  ])('rate options %o', (options, Kind, message) => {
    expect(build(options)).toThrow(Kind);
    expect(build(options)).toThrow(message);
  });

  it.each([
    ['countWindow(0)', () => countWindow(0), RangeError, /"window.size" must be an integer ≥ 1 and ≤ 1000000; got 0/],
    ['countWindow()', () => countWindow(undefined as never), TypeError, /"window.size"/],
    ['timeWindow({ duration: 0 })', () => timeWindow({ duration: 0 }), RangeError, /"window.duration"/],
    ['timeWindow({})', () => timeWindow({} as never), TypeError, /"window.duration" must be a number > 0; got undefined/],
    ['timeWindow buckets 0.5', () => timeWindow({ duration: 10, buckets: 0.5 }), RangeError, /"window.buckets"/],
    [
      'timeWindow bucket typo',
      () => timeWindow({ duration: 10, bucket: 5 } as never),
      TypeError,
      /unknown window option "bucket" \(did you mean "buckets"\?\)/,
    ],
    ['exponentialBackoff multiplier', () => exponentialBackoff({ multiplier: 0.5 }), RangeError, /"backoff.multiplier"/],
    ['exponentialBackoff jitter', () => exponentialBackoff({ jitter: 2 }), RangeError, /"backoff.jitter"/],
    [
      'exponentialBackoff maxDelay',
      () => exponentialBackoff({ maxDelay: -1 }),
      RangeError,
      /^breakwater: option "backoff.maxDelay" must be a number ≥ 0; got -1$/,
    ],
    ['exponentialBackoff(5)', () => exponentialBackoff(5 as never), TypeError, /^breakwater: option "backoff" must be an object; got 5$/],
    [
      'exponentialBackoff(null)',
      () => exponentialBackoff(null as never),
      TypeError,
      /^breakwater: option "backoff" must be an object; got null$/,
    ],
    [
      'exponentialBackoff typo',
      () => exponentialBackoff({ maxdelay: 5 } as never),
      TypeError,
      /unknown backoff option "maxdelay" \(did you mean "maxDelay"\?\)/,
    ],
    [
      'exponentialBackoff maxDelay < recoveryTimeout',
      () => new CircuitBreaker({ backoff: exponentialBackoff({ maxDelay: 10 }) }),
      RangeError,
      /"backoff.maxDelay" must be ≥ recoveryTimeout \(60000\); got 10/,
    ],
  ])('strategy %s', (_, make, Kind, message) => {
    expect(make).toThrow(Kind);
    expect(make).toThrow(message);
  });

  it('refuses a class as a predicate, with the predicate to write instead', () => {
    class RequestError extends Error {}
    expect(build({ isFailure: RequestError })).toThrow(
      new TypeError(
        'breakwater: option "isFailure" must be a function that judges the value, not a class; use (error) => error instanceof RequestError',
      ),
    );
    expect(build({ isFailure: TypeError })).toThrow(/use \(error\) => error instanceof TypeError/);
    expect(build({ isResultFailure: class Bad {} })).toThrow(/"isResultFailure" must be a function that judges the value, not a class/);
    expect(() => new CircuitBreaker({ isFailure: (e) => e instanceof RequestError })).not.toThrow();
    // A class without a name: the message names a placeholder.
    const [anonymous] = [class extends Error {}];
    expect(build({ isFailure: anonymous })).toThrow(/use \(error\) => error instanceof MyError$/);
  });

  it('takes a function whose body speaks of a class for a predicate, not for a class', () => {
    const isFailure = (error: unknown) => (error as { class?: string }).class === 'fatal';
    expect(() => new CircuitBreaker({ isFailure })).not.toThrow();
  });

  it('refuses unknown option names and suggests the closest one', () => {
    expect(build({ failureTreshold: 5 })).toThrow(
      new TypeError('breakwater: unknown option "failureTreshold" (did you mean "failureThreshold"?)'),
    );
    expect(build({ recoverytimeout: 5 })).toThrow(/did you mean "recoveryTimeout"/);
    expect(build({ zzzzzzzzzzz: 1 })).toThrow(new TypeError('breakwater: unknown option "zzzzzzzzzzz"'));
  });

  it('suggests a name up to 3 edits away, counting every letter of the unknown one', () => {
    expect(build({ nameXYZ: 1 })).toThrow(new TypeError('breakwater: unknown option "nameXYZ" (did you mean "name"?)'));
    expect(build({ nameWXYZ: 1 })).toThrow(new TypeError('breakwater: unknown option "nameWXYZ"'));
    // A changed first letter is one edit: 3 in all from "clock".
    expect(build({ xlockxx: 1 })).toThrow(new TypeError('breakwater: unknown option "xlockxx" (did you mean "clock"?)'));
  });

  it('suggests the first of two equally close names, in the order the options are listed', () => {
    // "stock" is 2 edits from both "clock" and "store"; "clock" comes first.
    expect(build({ stock: 1 })).toThrow(new TypeError('breakwater: unknown option "stock" (did you mean "clock"?)'));
  });

  it('refuses a non-object', () => {
    expect(build(5)).toThrow(/"options" must be an object; got 5/);
    expect(build(null)).toThrow(new TypeError('breakwater: option "options" must be an object; got null'));
  });

  it('accepts undefined values as "not given" and an omitted options object', () => {
    expect(() => new CircuitBreaker({ timeout: undefined, failureThreshold: undefined })).not.toThrow();
    expect(() => new CircuitBreaker()).not.toThrow();
    // Options whose check refuses `undefined` as a value.
    expect(() => new CircuitBreaker({ name: undefined, window: undefined, store: undefined, initialState: undefined })).not.toThrow();
  });

  it('accepts a clock with now() alone or with wallNow() too, and uses it', async () => {
    let t = 1_000;
    const clock = { now: () => t };
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 100 });
    await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    t += 99;
    expect(breaker.state).toBe('open');
    t += 1;
    expect(breaker.state).toBe('half-open');
    expect(() => new CircuitBreaker({ clock: { now: () => 0, wallNow: () => 0 } })).not.toThrow();
  });

  it('describes an exponential backoff by what it was made with', () => {
    const backoff = exponentialBackoff({ multiplier: 3, maxDelay: 9_000, jitter: 0.5 }) as unknown as { toJSON(): unknown };
    expect(backoff.toJSON()).toEqual({ type: 'exponential', multiplier: 3, maxDelay: 9_000, jitter: 0.5 });
    const defaults = exponentialBackoff() as unknown as { toJSON(): unknown };
    expect(defaults.toJSON()).toEqual({ type: 'exponential', multiplier: 2, maxDelay: undefined, jitter: 0 });
  });

  it('accepts a backoff whose longest delay equals the recovery time', () => {
    expect(() => new CircuitBreaker({ recoveryTimeout: 5_000, backoff: exponentialBackoff({ maxDelay: 5_000 }) })).not.toThrow();
    expect(() => new CircuitBreaker({ recoveryTimeout: 5_000, backoff: exponentialBackoff({ maxDelay: 4_999 }) })).toThrow(
      new RangeError('breakwater: option "backoff.maxDelay" must be ≥ recoveryTimeout (5000); got 4999'),
    );
  });

  it('refuses the fleet options without a store, naming the option and the value', () => {
    expect(build({ syncInterval: 500 })).toThrow(new TypeError('breakwater: option "syncInterval" only applies with a "store"; got 500'));
    expect(build({ onStoreError: 'open' })).toThrow(
      new TypeError('breakwater: option "onStoreError" only applies with a "store"; got "open"'),
    );
    expect(build({ syncInterval: null })).toThrow(new TypeError('breakwater: option "syncInterval" only applies with a "store"; got null'));
  });

  it('refuses anything but a shared store as "store"', () => {
    const message =
      'breakwater: option "store" must be a shared store: RedisStore (breakwater/redis), sharedStore() or a SharedStore subclass';
    expect(build({ name: 's', store: null })).toThrow(new TypeError(`${message}; got null`));
    expect(build({ name: 's', store: { read() {} } })).toThrow(new TypeError(`${message}; got {}`));
  });

  it('accepts every valid rate setup', () => {
    expect(() => new CircuitBreaker({ failureRateThreshold: 0.5, window: countWindow(100) })).not.toThrow();
    expect(
      () =>
        new CircuitBreaker({
          failureRateThreshold: 1,
          slowCallRateThreshold: 0.2,
          slowCallDuration: 100,
          window: timeWindow({ duration: 10_000 }),
          minimumCalls: 5,
        }),
    ).not.toThrow();
    expect(() => new CircuitBreaker({ backoff: exponentialBackoff({ multiplier: 3, maxDelay: 120_000, jitter: 0.1 }) })).not.toThrow();
  });
});
