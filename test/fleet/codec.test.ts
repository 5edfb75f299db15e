import { describe, expect, it } from 'vitest';
import { initialCircuit } from '../../src/core/rules.js';
import { decodeCircuit, decodeTracker, encodeCircuit, settingsDigest } from '../../src/fleet/codec.js';
import { resolveOptions } from '../../src/options/validate.js';

describe('fleet codec', () => {
  it('round-trips a circuit', () => {
    const c = {
      ...initialCircuit(12.5),
      state: 'open' as const,
      openUntil: 99.25,
      opens: 2,
      generation: 7,
      reason: 'probe-failed' as const,
    };
    expect(decodeCircuit(encodeCircuit(c))).toEqual(c);
  });

  it.each([
    ['', 'not JSON'],
    ['{"state":"open"}', 'not an array'],
    ['["open",0,"initial",0,0,0,0,0]', 'too short'],
    ['["ajar",0,"initial",0,0,0,0,0,0]', 'unknown state'],
    ['["open",0,"because",0,0,0,0,0,0]', 'unknown reason'],
    ['["open","0","initial",0,0,0,0,0,0]', 'a time that is not a number'],
    ['["open",0,"initial",null,0,0,0,0,0]', 'a null open-until'],
    ['["open",0,"initial",0,0,0,0,"x",0]', 'a probe deadline that is not a number'],
    ['["open",0,"initial",0,-1,0,0,0,0]', 'a negative count'],
    ['["open",0,"initial",0,0,1.5,0,0,0]', 'a fractional count'],
    ['["open",0,"initial",0,0,0,"1",0,0]', 'a count that is a string'],
    ['["open",0,"initial",0,0,0,0,0,-2]', 'a negative generation'],
  ])('refuses %s (%s)', (text) => {
    expect(decodeCircuit(text)).toBeUndefined();
  });

  it('reads a tracker snapshot, or nothing for absent or malformed text', () => {
    expect(decodeTracker('{"kind":"consecutive","failures":2}')).toEqual({ kind: 'consecutive', failures: 2 });
    expect(decodeTracker('')).toBeUndefined();
    expect(decodeTracker('{')).toBeUndefined();
    expect(decodeTracker('{"kind":"count","outcomes":"9"}')).toBeUndefined();
  });

  it('digests the settings that decide transitions, and only those', () => {
    const base = settingsDigest(resolveOptions({ failureThreshold: 5 }));
    expect(base).toMatch(/^[0-9a-f]{8}$/);
    expect(settingsDigest(resolveOptions({ failureThreshold: 5, name: 'x', timeout: 10 }))).toBe(base);
    expect(settingsDigest(resolveOptions({ failureThreshold: 6 }))).not.toBe(base);
    expect(settingsDigest(resolveOptions({ backoff: () => 5 }))).toBe(settingsDigest(resolveOptions({ backoff: () => 7 })));
    expect(settingsDigest(resolveOptions({ failureRateThreshold: 0.5 }))).not.toBe(
      settingsDigest(resolveOptions({ failureRateThreshold: 0.6 })),
    );
  });
});
