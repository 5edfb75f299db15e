import type { Settings } from '../options/breaker-options.js';
import type { Circuit } from './rules.js';

/** ` "name"`, or nothing: every message names the breaker the same way. Made when needed, not held (idle memory). */
export function tagOf(name: string | undefined): string {
  return name === undefined ? '' : ` "${name}"`;
}

/**
 * Logs a record and a message through the user's logger. Without one, `echo` sends the message to the console
 * (with the error, or else the fields). A logger that throws must not break the breaker.
 */
export function writeLog(
  s: Settings,
  level: 'info' | 'warn' | 'error',
  event: string,
  message: string,
  fields: Record<string, unknown>,
  // Stryker disable next-line BooleanLiteral: every call that leaves out `echo` has a logger, which makes `echo` unread
  echo = false,
): void {
  try {
    if (s.logger !== undefined) s.logger[level]({ event, breaker: s.name, ...fields }, message);
    else if (echo) console[level](message, 'error' in fields ? fields.error : fields);
  } catch {
    // A logger that throws has nowhere left to report to.
  }
}

/** The `breaker.stateChange` record: a warning when the circuit opens, else information. `at` is wall-clock time. */
export function logTransition(s: Settings, prev: Circuit, next: Circuit, source: 'local' | 'remote', now: number, at: number): void {
  const fields: Record<string, unknown> = {
    from: prev.state,
    to: next.state,
    reason: next.reason,
    at: new Date(at).toISOString(),
    source,
  };
  if (next.state === 'open') fields.retryAfter = Math.max(0, next.openUntil - now);
  const opens = next.state === 'open' || next.state === 'forced-open';
  writeLog(
    s,
    opens ? 'warn' : 'info',
    'breaker.stateChange',
    `Circuit${tagOf(s.name)} ${prev.state} → ${next.state} (${next.reason})`,
    fields,
  );
}
