import type { Settings } from '../options/validate.js';
import { modeOf } from '../options/validate.js';
import { ConsecutiveTracker } from './consecutive.js';
import { CountWindowTracker } from './count-window.js';
import { TimeWindowTracker } from './time-window.js';
import type { FailureTracker } from './tracker.js';

/** The tracker the settings ask for. */
export function createTracker(s: Settings): FailureTracker {
  if (modeOf(s) === 'consecutive') return new ConsecutiveTracker(s.failureThreshold);
  return s.window.type === 'count'
    ? new CountWindowTracker(s.window.size, s)
    : new TimeWindowTracker(s.window.duration, s.window.buckets ?? 10, s);
}
