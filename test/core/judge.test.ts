// What a call that ended counts as, on its own: the predicates judge what `fn` returned or threw; a timeout and an
// abort are judged by the breaker alone.
import { describe, expect, it, vi } from 'vitest';
import { ABORTED, RESOLVED, THREW, TIMED_OUT } from '../../src/core/guarded-call.js';
import { hintOf, judge } from '../../src/core/judge.js';
import { FAILURE, NEUTRAL, SUCCESS } from '../../src/core/rules.js';
import type { Settings } from '../../src/options/breaker-options.js';

/** Only what judging reads; a logger that keeps what a throwing predicate reports. */
const settingsWith = (options: Partial<Settings>) =>
  ({ name: 'api', logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() }, ...options }) as unknown as Settings;

describe('judge', () => {
  it('a timeout is a failure whatever isFailure says: isFailure judges what fn throws', () => {
    const isFailure = vi.fn(() => false);
    const s = settingsWith({ isFailure });
    expect(judge(s, TIMED_OUT, new Error('timed out'))).toBe(FAILURE);
    expect(isFailure).not.toHaveBeenCalled();
    expect(judge(s, THREW, new Error('no'))).toBe(NEUTRAL);
    expect(isFailure).toHaveBeenCalledTimes(1);
  });

  it('an abort is neutral, a value a success unless isResultFailure flags it', () => {
    const s = settingsWith({ isFailure: () => true, isResultFailure: (v) => v === 'bad' });
    expect(judge(s, ABORTED, new Error('aborted'))).toBe(NEUTRAL);
    expect(judge(s, RESOLVED, 'ok')).toBe(SUCCESS);
    expect(judge(s, RESOLVED, 'bad')).toBe(FAILURE);
  });
});

describe('hintOf', () => {
  it('a timeout carries no hint; a hint that is not a number is none', () => {
    const s = settingsWith({ retryAfterHint: (e) => (e as { wait?: unknown }).wait as number });
    expect(hintOf(s, TIMED_OUT, { wait: 5 })).toBeUndefined();
    expect(hintOf(s, THREW, { wait: 5 })).toBe(5);
    expect(hintOf(s, THREW, { wait: '5' })).toBeUndefined();
  });
});
