/** What a breaker writes to its logger: the shape of its records, and a logger that throws kept from the caller. */
import type { Circuit } from '../core/rules.js';
import type { Logger } from '../core/types.js';

export type Level = 'info' | 'warn' | 'error';

/**
 * Logs a record and a message through the user's logger, the record carrying `event` and the `breaker`'s name.
 * Without a logger, `echo` sends the message to the console (with the error, or else the fields). A logger that
 * throws must not break the breaker.
 */
export function writeLog(
  logger: Logger | undefined,
  breaker: string | undefined,
  level: Level,
  event: string,
  message: string,
  fields: Record<string, unknown>,
  echo: boolean,
): void {
  try {
    if (logger !== undefined) logger[level]({ event, breaker, ...fields }, message);
    else if (echo) console[level](message, 'error' in fields ? fields.error : fields);
  } catch {
    // A logger that throws has nowhere left to report to.
  }
}

/** The level, message and fields of a transition's record: `warn` when the circuit opens, `info` otherwise. */
export function transitionLog(
  tag: string,
  prev: Circuit,
  next: Circuit,
  at: number,
  now: number,
  source: 'local' | 'remote',
): [Level, string, Record<string, unknown>] {
  const fields: Record<string, unknown> = { from: prev.state, to: next.state, reason: next.reason, at: new Date(at).toISOString(), source };
  if (next.state === 'open') fields.retryAfter = Math.max(0, next.openUntil - now);
  const opens = next.state === 'open' || next.state === 'forced-open';
  return [opens ? 'warn' : 'info', `Circuit${tag} ${prev.state} → ${next.state} (${next.reason})`, fields];
}
