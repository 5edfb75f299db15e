import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConsecutiveTracker } from '../../src/trackers/consecutive.js';
import { CountWindowTracker, countWindow } from '../../src/trackers/count-window.js';
import { TimeWindowTracker, timeWindow } from '../../src/trackers/time-window.js';
import { type RateRule, rateTripped } from '../../src/trackers/tracker.js';
import { RecountTracker } from '../helpers/recount-tracker.js';

const runs = { numRuns: 1000 };
const outcome = fc.record({
  failed: fc.boolean(),
  slow: fc.boolean(),
  gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5000 })),
});
const rule = fc.record({
  failureRateThreshold: fc.option(fc.double({ min: 0.01, max: 1, noNaN: true }), { nil: undefined }),
  slowCallRateThreshold: fc.option(fc.double({ min: 0.01, max: 1, noNaN: true }), { nil: undefined }),
  minimumCalls: fc.integer({ min: 1, max: 20 }),
}) as fc.Arbitrary<RateRule>;

describe('windows agree with a brute-force recount', () => {
  it('count window: rates and trip decisions for any sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), rule, fc.array(outcome, { maxLength: 120 }), (size, r, seq) => {
        const real = new CountWindowTracker(size, r);
        const model = new RecountTracker({ type: 'count', size, rule: r });
        for (const o of seq) {
          expect(real.record(o.failed, o.slow)).toBe(model.record(o.failed, o.slow, 0));
          expect(real.stats()).toEqual(model.stats(0));
        }
      }),
      runs,
    );
  });

  it('time window: rates and trip decisions for any sequence and any idle gaps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 2000 }),
        fc.integer({ min: 1, max: 12 }),
        rule,
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.array(outcome, { maxLength: 120 }),
        (duration, buckets, r, start, seq) => {
          const real = new TimeWindowTracker(duration, buckets, r);
          const model = new RecountTracker({ type: 'time', duration, buckets, rule: r });
          let now = start;
          for (const o of seq) {
            now += o.gap;
            expect(real.record(o.failed, o.slow, now)).toBe(model.record(o.failed, o.slow, now));
            expect(real.stats(now)).toEqual(model.stats(now));
          }
          // Reading later expires what fell out of the window, without any record.
          now += duration / 2;
          expect(real.stats(now)).toEqual(model.stats(now));
          now += duration;
          expect(real.stats(now).calls).toBe(0);
        },
      ),
      runs,
    );
  });

  it('consecutive: trips on the threshold-th failure in a row', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.array(fc.boolean(), { maxLength: 60 }), (threshold, seq) => {
        const real = new ConsecutiveTracker(threshold);
        const model = new RecountTracker({ type: 'consecutive', threshold });
        for (const failed of seq) {
          expect(real.record(failed)).toBe(model.record(failed, false, 0));
          expect(real.stats().failures).toBe(model.stats(0).failures);
        }
      }),
      runs,
    );
  });
});

describe('snapshots of the trackers round-trip', () => {
  const identity = (t: number) => t;

  it('count window keeps order and forgets past its size', () => {
    const r: RateRule = { failureRateThreshold: 0.5, slowCallRateThreshold: undefined, minimumCalls: 1 };
    const a = new CountWindowTracker(4, r);
    for (const [f, s] of [
      [true, false],
      [false, true],
      [true, true],
      [false, false],
      [true, false],
    ] as const)
      a.record(f, s);
    const snap = a.toJSON();
    expect(snap).toEqual({ kind: 'count', outcomes: '2301' });
    const b = new CountWindowTracker(3, r);
    b.restore(snap);
    expect(b.stats()).toMatchObject({ calls: 3, failures: 2, slowCalls: 1 });
    b.restore({ kind: 'consecutive', failures: 3 });
    expect(b.stats().calls).toBe(3);
    a.reset();
    expect(a.toJSON()).toEqual({ kind: 'count', outcomes: '' });
  });

  it('time window moves buckets through wall time, drops stale ones and keeps future ones as the newest', () => {
    const r: RateRule = { failureRateThreshold: 0.5, slowCallRateThreshold: undefined, minimumCalls: 100 };
    const a = new TimeWindowTracker(1000, 10, r);
    a.record(true, false, 50);
    a.record(false, true, 150);
    a.record(true, true, 950);
    const snap = a.toJSON(999, (t) => t + 10_000);
    expect(snap).toEqual({
      kind: 'time',
      buckets: [
        [10_000, 1, 1, 0],
        [10_100, 1, 0, 1],
        [10_900, 1, 1, 1],
      ],
    });
    const b = new TimeWindowTracker(1000, 10, r);
    b.restore(snap, 5000, (w) => w - 10_000 + 4000);
    expect(b.stats(5000)).toMatchObject({ calls: 2, failures: 1, slowCalls: 2 });
    b.restore({ kind: 'count', outcomes: '1' }, 5000, identity);
    expect(b.stats(5000).calls).toBe(2);
    // From a host whose clock runs ahead (or a store clock that stepped back): counted now, as a record would be.
    const future = { kind: 'time', buckets: [[99_999, 5, 5, 0]] } as const;
    b.restore(future, 5000, identity);
    expect(b.stats(5000)).toMatchObject({ calls: 5, failures: 5 });
    expect(b.toJSON(5000, identity)).toEqual({ kind: 'time', buckets: [[5000, 5, 5, 0]] });
  });

  it('consecutive restores below its threshold', () => {
    const a = new ConsecutiveTracker(3);
    a.restore({ kind: 'consecutive', failures: 10 });
    expect(a.toJSON()).toEqual({ kind: 'consecutive', failures: 2 });
    a.restore({ kind: 'count', outcomes: '' });
    expect(a.stats().failures).toBe(2);
  });
});

describe('a rate that reaches the threshold trips', () => {
  it('k failures of n calls trip a threshold of k / n, and k − 1 do not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n }))),
        ([n, k]) => {
          const threshold = k / n;
          const rule = { failureRateThreshold: threshold, slowCallRateThreshold: threshold, minimumCalls: 1 };
          expect(rateTripped(rule, n, k, 0)).toBe(true);
          expect(rateTripped(rule, n, 0, k)).toBe(true);
          expect(rateTripped(rule, n, k - 1, k - 1)).toBe(false);
        },
      ),
      runs,
    );
  });

  it('thresholds written as decimals: 55 of 100 trip 0.55, 7 of 25 trip 0.28', () => {
    for (let percent = 1; percent <= 100; percent++) {
      const rule = { failureRateThreshold: percent / 100, slowCallRateThreshold: undefined, minimumCalls: 1 };
      expect(rateTripped(rule, 100, percent, 0)).toBe(true);
      expect(rateTripped(rule, 100, percent - 1, 0)).toBe(false);
    }
    expect(rateTripped({ failureRateThreshold: undefined, slowCallRateThreshold: 0.28, minimumCalls: 1 }, 25, 0, 7)).toBe(true);
  });
});

describe('the window strategies', () => {
  it('say their type and carry their settings', () => {
    expect({ ...countWindow(7) }).toEqual({ type: 'count', size: 7 });
    expect({ ...timeWindow({ duration: 500, buckets: 5 }) }).toEqual({ type: 'time', duration: 500, buckets: 5 });
    expect(timeWindow({ duration: 500 }).buckets).toBe(10);
  });

  it('refuse a bad size or bucket count with the exact error', () => {
    expect(() => countWindow(undefined as never)).toThrow(
      new TypeError('breakwater: option "window.size" must be an integer ≥ 1; got undefined'),
    );
    expect(() => countWindow(0)).toThrow(new RangeError('breakwater: option "window.size" must be an integer ≥ 1 and ≤ 1000000; got 0'));
    expect(() => timeWindow({ duration: 500, buckets: 0 })).toThrow(
      new RangeError('breakwater: option "window.buckets" must be an integer ≥ 1 and ≤ 1000; got 0'),
    );
  });

  it('report rates as failures / calls, and 0 with no calls', () => {
    const r = { failureRateThreshold: 0.9, slowCallRateThreshold: undefined, minimumCalls: 10 };
    for (const t of [new CountWindowTracker(10, r), new TimeWindowTracker(1_000, 10, r)]) {
      expect(t.stats(0)).toEqual({ calls: 0, failures: 0, slowCalls: 0, failureRate: 0, slowCallRate: 0 });
      t.record(true, false, 0);
      t.record(false, true, 0);
      t.record(true, true, 0);
      t.record(false, false, 0);
      expect(t.stats(0)).toEqual({ calls: 4, failures: 2, slowCalls: 2, failureRate: 0.5, slowCallRate: 0.5 });
    }
  });
});
