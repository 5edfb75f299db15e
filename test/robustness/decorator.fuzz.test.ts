/**
 * Robustness fuzzer for `@circuit`: methods that throw synchronously (also non-Errors), return
 * non-promises, reject, hang past the timeout, or re-enter the breaker; interleaved with time and
 * manual controls. Every decorated call must return a promise that settles, with no timer left and
 * no unhandled rejection.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { circuit, circuitOf } from '../../src/index.js';
import { describeValue, drain, microtasks, realTurn, TestTimers, Tracker, Unhandled, until } from './harness.js';

type Behaviour = 'value' | 'throw' | 'throw-undefined' | 'reject' | 'reject-later' | 'hang' | 'sync-value' | 'forceOpen-then-throw';

const timers = new TestTimers();
const clock = { now: () => Date.now() };

class Service {
  @circuit({ failureThreshold: 2, recoveryTimeout: 15, timeout: 25, clock })
  async call(b: Behaviour): Promise<unknown> {
    return behave(b);
  }

  // Not declared async: what it throws, it throws synchronously.
  @circuit({ failureThreshold: 1, recoveryTimeout: 5, clock, halfOpenProbes: 2 })
  plain(b: Behaviour): Promise<unknown> {
    return behave(b) as Promise<unknown>;
  }
}

function behave(b: Behaviour): unknown {
  switch (b) {
    case 'value':
      return Promise.resolve(1);
    case 'throw':
      throw new Error('method');
    case 'throw-undefined':
      throw undefined;
    case 'reject':
      return Promise.reject('a string');
    case 'reject-later':
      return new Promise((_, reject) => timers.later(10, () => reject(new Error('later'))));
    case 'hang':
      return new Promise(() => {});
    case 'sync-value':
      return 'not a promise';
    case 'forceOpen-then-throw':
      circuitOf(Service.prototype.call)?.forceOpen();
      throw new Error('after forceOpen');
  }
}

const behaviour = fc.constantFrom<Behaviour>(
  'value',
  'throw',
  'throw-undefined',
  'reject',
  'reject-later',
  'hang',
  'sync-value',
  'forceOpen-then-throw',
);
type Action =
  | { type: 'call'; which: 'call' | 'plain'; b: Behaviour }
  | { type: 'advance'; ms: number }
  | { type: 'close' | 'reset' | 'disable' };
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ type: fc.constant('call' as const), which: fc.constantFrom('call' as const, 'plain' as const), b: behaviour }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('close' as const, 'reset' as const, 'disable' as const) }) },
);

describe('@circuit robustness (fuzz)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.clearAllTimers();
    vi.useRealTimers();
  });

  it('decorated calls always settle, with no timer left and no unhandled rejection', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 30, size: 'max' }), async (actions) => {
        vi.clearAllTimers();
        timers.pending = 0;
        for (const m of [Service.prototype.call, Service.prototype.plain]) circuitOf(m)?.reset();
        const unhandled = new Unhandled();
        unhandled.install();
        const tracker = new Tracker();
        const problems: string[] = [];
        const s = new Service();
        try {
          let n = 0;
          for (const a of actions) {
            n++;
            if (a.type === 'call') {
              // 'plain' has no timeout: a hanging method hangs by design there.
              const label = `${a.which === 'plain' && a.b === 'hang' ? 'MAY-HANG ' : ''}#${n} ${JSON.stringify(a)}`;
              tracker.track(label, () => s[a.which](a.b));
            } else if (a.type === 'advance') await vi.advanceTimersByTimeAsync(a.ms);
            else for (const m of [Service.prototype.call, Service.prototype.plain]) circuitOf(m)?.[a.type]();
            await microtasks(3);
          }
          const mayHang = (t: { label: string }) => t.label.startsWith('MAY-HANG');
          await until(() => tracker.unsettled().every(mayHang));
          if (timers.libraryTimers() !== 0) problems.push(`${timers.libraryTimers()} library timer(s) pending after every call settled`);
          await drain();
          for (const t of tracker.syncThrows) problems.push(`threw synchronously: ${t.label}: ${describeValue(t.error)}`);
          for (const t of tracker.unsettled().filter((u) => !mayHang(u))) problems.push(`never settled: ${t.label}`);
        } finally {
          await realTurn();
          unhandled.uninstall();
        }
        for (const u of unhandled.seen) problems.push(`unhandled: ${describeValue(u)}`);
        expect(problems).toEqual([]);
      }),
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 300),
        seed: process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED),
      },
    );
  });
});
