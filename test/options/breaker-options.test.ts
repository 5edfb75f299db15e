import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { JOIN } from '../../src/core/fleet-link.js';
import { CircuitBreaker, type CircuitBreakerOptions, countWindow } from '../../src/index.js';
import { choosesRate, modeOf, RATE_OPTIONS, resolveOptions } from '../../src/options/breaker-options.js';

/** What the options check takes for a shared store: an object carrying its engine under `JOIN`. */
const store = { [JOIN]: () => undefined } as unknown as CircuitBreakerOptions['store'];
const snapshot = new CircuitBreaker({ name: 'source' }).toJSON();

describe('resolveOptions', () => {
  it('gives every breaker settings of one shape, whatever options are given', () => {
    const keys = Object.keys(resolveOptions({}));
    expect(Object.keys(resolveOptions({ name: 'a', initialState: snapshot, timeout: 100 }))).toEqual(keys);
    expect(Object.keys(resolveOptions({ name: 'b', initialState: null }))).toEqual(keys);
    expect(keys).not.toContain('initialState');
  });

  it('keeps the defaults of options given as undefined', () => {
    const s = resolveOptions({ clock: undefined, failureThreshold: undefined, recoveryTimeout: undefined });
    expect(s.clock).toBe(systemClock);
    expect(s.failureThreshold).toBe(5);
    expect(s.recoveryTimeout).toBe(60_000);
  });

  it('keeps the store and the fleet options as given, for the store to check', () => {
    const s = resolveOptions({ name: 'f', store, syncInterval: 250, onStoreError: 'fail-open' });
    expect(s.store).toBe(store);
    expect(s.syncInterval).toBe(250);
    expect(s.onStoreError).toBe('fail-open');
    // Checked by the store's engine, not here.
    expect(resolveOptions({ name: 'f', store, syncInterval: 'often' as never }).syncInterval).toBe('often');
  });

  it('refuses a snapshot to start from with a store (the store holds the state), but takes none', () => {
    expect(() => resolveOptions({ name: 'f', store, initialState: snapshot })).toThrow(
      new TypeError(`breakwater: option "initialState" does not apply with a "store"; got ${JSON.stringify(snapshot).slice(0, 80)}`),
    );
    expect(() => resolveOptions({ name: 'f', store, initialState: null })).not.toThrow();
  });

  it('waits for a probe at least a minute, or the call timeout when longer', () => {
    expect(resolveOptions({}).maxProbeWait).toBe(60_000);
    expect(resolveOptions({ timeout: 1_000 }).maxProbeWait).toBe(60_000);
    expect(resolveOptions({ timeout: 90_000 }).maxProbeWait).toBe(90_000);
    expect(resolveOptions({ timeout: 90_000, maxProbeWait: 5 }).maxProbeWait).toBe(5);
  });

  it('caps the minimum number of calls at the size of a count window', () => {
    expect(resolveOptions({ failureRateThreshold: 0.5, window: countWindow(4) }).minimumCalls).toBe(4);
    expect(resolveOptions({ failureRateThreshold: 0.5, window: countWindow(40), minimumCalls: 20 }).minimumCalls).toBe(20);
  });
});

describe('modeOf', () => {
  it('is rate mode with a window, consecutive mode without', () => {
    expect(modeOf(resolveOptions({}))).toBe('consecutive');
    expect(modeOf(resolveOptions({ failureThreshold: 2 }))).toBe('consecutive');
    expect(modeOf(resolveOptions({ failureRateThreshold: 0.5, window: countWindow(10) }))).toBe('rate');
  });
});

describe('choosesRate', () => {
  it('is true as soon as any one rate option is set', () => {
    const values = { failureRateThreshold: 0.5, slowCallRateThreshold: 0.5, window: countWindow(10), minimumCalls: 5 };
    for (const option of RATE_OPTIONS) expect(choosesRate({ [option]: values[option] })).toBe(true);
  });

  it('is false with no rate option, or with rate options left undefined', () => {
    expect(choosesRate({})).toBe(false);
    expect(choosesRate({ failureThreshold: 3, timeout: 100 })).toBe(false);
    expect(choosesRate({ failureRateThreshold: undefined, window: undefined })).toBe(false);
  });
});
