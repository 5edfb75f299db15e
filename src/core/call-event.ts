import type { Emitter } from '../events/emitter.js';
import { type Ending, RESOLVED, TIMED_OUT } from './guarded-call.js';
import { FAILURE, type Outcome, SUCCESS } from './rules.js';
import type { BreakerEvents } from './types.js';

/**
 * Tells a settled call to its event's listeners, if it has any (the payload is built only then). Each event has its
 * own fields: `slow` for a judged call, `error` for any but a success, `fromResult` for a failure.
 */
export function tellSettled(
  events: Emitter<BreakerEvents>,
  ending: Ending,
  outcome: Outcome,
  name: string | undefined,
  duration: number,
  slow: boolean,
  value: unknown,
): void {
  const event = ending === TIMED_OUT ? 'timeout' : outcome === SUCCESS ? 'success' : outcome === FAILURE ? 'failure' : 'neutral';
  if (!events.has(event)) return;
  const payload: Record<string, unknown> = { name, duration };
  if (event === 'success' || event === 'failure') payload.slow = slow;
  if (event !== 'success') payload.error = value;
  if (event === 'failure') payload.fromResult = ending === RESOLVED;
  events.emit(event, payload as never);
}
