import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock, turnClock } from '../../src/core/clock.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.resetModules();
});

/** The clock module as a runtime without (parts of) `performance` loads it. */
async function loadClock(): Promise<typeof import('../../src/core/clock.js')> {
  vi.resetModules();
  return import('../../src/core/clock.js');
}

describe('systemClock', () => {
  it('reads performance.now, and the wall clock from Date.now', () => {
    vi.spyOn(performance, 'now').mockReturnValue(42.5);
    vi.spyOn(Date, 'now').mockReturnValue(1_800_000_000_000);
    expect(systemClock.now()).toBe(42.5);
    expect(systemClock.wallNow?.()).toBe(1_800_000_000_000);
  });

  it('reads Date.now where there is no performance', async () => {
    vi.stubGlobal('performance', undefined);
    const { systemClock: clock } = await loadClock();
    vi.spyOn(Date, 'now').mockReturnValue(7);
    expect(clock.now()).toBe(7);
  });

  it('reads Date.now where performance has no now', async () => {
    vi.stubGlobal('performance', {});
    const { systemClock: clock } = await loadClock();
    vi.spyOn(Date, 'now').mockReturnValue(8);
    expect(clock.now()).toBe(8);
  });
});

describe('turnClock', () => {
  it('reads exactly every time where there is no setImmediate', async () => {
    vi.stubGlobal('setImmediate', undefined);
    const { turnClock: clock } = await loadClock();
    const now = vi.spyOn(performance, 'now').mockReturnValueOnce(1).mockReturnValueOnce(2);
    expect([clock.now(), clock.now()]).toEqual([1, 2]);
    expect(now).toHaveBeenCalledTimes(2);
  });

  it('keeps one reading for the rest of the turn', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    vi.spyOn(performance, 'now').mockReturnValueOnce(1).mockReturnValueOnce(2);
    expect([turnClock.now(), turnClock.now()]).toEqual([1, 1]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(turnClock.now()).toBe(2);
  });
});
