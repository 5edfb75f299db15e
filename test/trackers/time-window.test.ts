import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimeWindowTracker } from '../../src/trackers/time-window.js';

const rule = { failureRateThreshold: undefined, slowCallRateThreshold: undefined, minimumCalls: 1 };
const step = fc.record({
  dt: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3_000 })),
  failed: fc.boolean(),
  slow: fc.boolean(),
});

describe('TimeWindowTracker', () => {
  it('counts exactly the calls of the last `buckets` slices, for any sequence and any gaps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 10, max: 2_000 }),
        fc.integer({ min: -5_000, max: 5_000 }),
        fc.array(step, { maxLength: 200 }),
        (buckets, duration, start, steps) => {
          const tracker = new TimeWindowTracker(duration, buckets, rule);
          const width = duration / buckets;
          const seen: { slice: number; failed: boolean; slow: boolean }[] = [];
          let now = start;
          for (const s of steps) {
            now += s.dt;
            tracker.record(s.failed, s.slow, now);
            seen.push({ slice: Math.floor(now / width), failed: s.failed, slow: s.slow });
            const head = Math.floor(now / width);
            const live = seen.filter((x) => x.slice > head - buckets);
            const stats = tracker.stats(now);
            expect([stats.calls, stats.failures, stats.slowCalls]).toEqual([
              live.length,
              live.filter((x) => x.failed).length,
              live.filter((x) => x.slow).length,
            ]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('restores from its own snapshot to the same counts, in another clock', () => {
    fc.assert(
      // Bucket widths that are whole milliseconds: slice starts then survive the wall-clock round trip exactly.
      fc.property(fc.constantFrom(1, 2, 4, 5, 8, 10), fc.array(step, { maxLength: 100 }), (buckets, steps) => {
        const a = new TimeWindowTracker(1_000, buckets, rule);
        let now = 0;
        for (const s of steps) {
          now += s.dt;
          a.record(s.failed, s.slow, now);
        }
        const offset = 1_700_000_000_000;
        const b = new TimeWindowTracker(1_000, buckets, rule);
        // b's clock reads 3,000 ms less than a's for the same instant.
        b.restore(
          a.toJSON(now, (t) => t + offset),
          now - 3_000,
          (w) => w - offset - 3_000,
        );
        expect(b.stats(now - 3_000)).toEqual(a.stats(now));
        // And they age alike.
        expect(b.stats(now - 3_000 + 600)).toEqual(a.stats(now + 600));
      }),
      { numRuns: 300 },
    );
  });
});

describe('time window at huge clock values', () => {
  // In a child process with a time limit: a regression would loop for ever, and must not hang the suite.
  it('records two calls a few slices apart at 2^60 ms', () => {
    const src = fileURLToPath(new URL('../../src/trackers/time-window.ts', import.meta.url));
    const script = `
      import { TimeWindowTracker } from ${JSON.stringify(src)};
      const t = new TimeWindowTracker(1000, 10, { failureRateThreshold: 0.5, slowCallRateThreshold: undefined, minimumCalls: 1 });
      t.record(false, false, 2 ** 60);
      t.record(false, false, 2 ** 60 + 512);
      console.log(JSON.stringify(t.stats(2 ** 60 + 512)));
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
      timeout: 10_000,
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    expect(run.signal).toBeNull();
    expect(JSON.parse(run.stdout).calls).toBe(2);
  }, 20_000);
});

describe('time window edges', () => {
  const wall = (t: number) => t + 1_000_000;
  // 4 buckets of 100 ms.
  const tracker = () => new TimeWindowTracker(400, 4, rule);
  const bucketsOf = (t: TimeWindowTracker, now: number, toWall: (t: number) => number) => {
    const snapshot = t.toJSON(now, toWall);
    return snapshot.kind === 'time' ? snapshot.buckets : undefined;
  };

  it('writes its buckets oldest first, once the ring has wrapped', () => {
    const t = tracker();
    for (const now of [0, 100, 200, 300, 400]) t.record(now === 300, false, now);
    expect(t.toJSON(400, wall)).toEqual({
      kind: 'time',
      buckets: [
        [wall(100), 1, 0, 0],
        [wall(200), 1, 0, 0],
        [wall(300), 1, 1, 0],
        [wall(400), 1, 0, 0],
      ],
    });
  });

  it('writes no empty bucket: not the head reached after an idle gap, nor an expired one', () => {
    const t = tracker();
    t.record(true, true, 50);
    expect(bucketsOf(t, 250, wall)).toEqual([[wall(0), 1, 1, 1]]);
    expect(bucketsOf(t, 450, wall)).toEqual([]);
  });

  it('keeps the calls of slices before time zero (a clock may start below it)', () => {
    const t = tracker();
    t.record(true, false, -250);
    t.record(false, true, -50);
    expect(bucketsOf(t, -50, wall)).toEqual([
      [wall(-300), 1, 1, 0],
      [wall(-100), 1, 0, 1],
    ]);
    const copy = tracker();
    copy.restore(t.toJSON(-50, wall), -50, (w) => w - 1_000_000);
    expect(copy.stats(-50)).toEqual(t.stats(-50));
  });

  it('a clock that steps back records into the newest bucket, and expires nothing when it comes forward again', () => {
    const t = tracker();
    t.record(true, false, 250);
    expect(t.stats(150)).toMatchObject({ calls: 1, failures: 1 });
    t.record(false, false, 150);
    t.record(false, false, 250);
    expect(t.stats(250)).toMatchObject({ calls: 3, failures: 1 });
    expect(bucketsOf(t, 250, wall)).toEqual([[wall(200), 3, 1, 0]]);
  });

  it('a call at the last moment of its slice stays in it; one at the boundary starts the next', () => {
    const t = tracker();
    t.record(true, false, 0);
    t.record(false, false, 99.9);
    t.record(false, false, 100);
    expect(bucketsOf(t, 100, wall)).toEqual([
      [wall(0), 2, 1, 0],
      [wall(100), 1, 0, 0],
    ]);
    // Slice 0 leaves the window when slice 4 begins.
    expect(t.stats(399.9).calls).toBe(3);
    expect(t.stats(400).calls).toBe(1);
  });
});
