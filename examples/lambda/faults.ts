import type { Quote } from './quotes.js';

/** How the API misbehaves, for demos and tests. */
export const FAULT_MODES = ['none', 'error', 'slow', 'flaky'] as const;
/** One of `FAULT_MODES`. */
export type FaultMode = (typeof FAULT_MODES)[number];

/** The fault in force. Module state: it lives as long as the (warm) Lambda container. */
export interface Fault {
  readonly mode: FaultMode;
  /** flaky: the fraction of calls that fail (0 – 1). */
  readonly ratio: number;
  /** slow: how long a call takes, in ms (beyond the consumer's timeout). */
  readonly delayMs: number;
  /** A fixed quote served instead of the list (the XSS demo uses a hostile one). */
  readonly quote: Quote | null;
}

/** A request for a change was invalid; `message` says which field and why. */
export class FaultInputError extends Error {
  override readonly name = 'FaultInputError';
}

/** Healthy, with the ratio and delay the modes use when none is given. */
export const DEFAULT_FAULT: Fault = { mode: 'none', ratio: 0.5, delayMs: 5_000, quote: null };

const isMode = (value: unknown): value is FaultMode => typeof value === 'string' && (FAULT_MODES as readonly string[]).includes(value);

/** The environment variable of each field, for messages about the environment. */
const FAULT_VARIABLES = { mode: 'FAULT_MODE', ratio: 'FAULT_RATIO', delayMs: 'FAULT_DELAY_MS' } as const;

/**
 * Reads the fault from the environment at start: FAULT_MODE, FAULT_RATIO, FAULT_DELAY_MS.
 * @throws {FaultInputError} naming the variable and its value as given when one is invalid.
 */
export function faultFromEnv(env: Readonly<Record<string, string | undefined>>): Fault {
  let fault = DEFAULT_FAULT;
  for (const [field, variable] of Object.entries(FAULT_VARIABLES)) {
    const raw = env[variable];
    if (!raw) continue;
    try {
      fault = applyFaultPatch(fault, { [field]: field === 'mode' ? raw : Number(raw) });
    } catch (error) {
      const rule = (error as Error).message.replace(/^\w+ must be /, '').replace(/; got .*$/, '');
      throw new FaultInputError(`${variable} must be ${rule}; got ${JSON.stringify(raw)}`);
    }
  }
  return fault;
}

/**
 * Applies a `PUT /fault` body to the current fault. Fields left out keep their value;
 * `quote: null` restores the built-in list.
 * @throws {FaultInputError} naming the field when a value is invalid.
 */
export function applyFaultPatch(current: Fault, patch: unknown): Fault {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new FaultInputError('The body must be a JSON object such as {"mode":"error"}');
  }
  const body = patch as Record<string, unknown>;
  const unknown = Object.keys(body).filter((key) => !['mode', 'ratio', 'delayMs', 'quote'].includes(key));
  if (unknown.length > 0) throw new FaultInputError(`Unknown field(s): ${unknown.join(', ')}`);
  let { mode, ratio, delayMs, quote } = current;
  if ('mode' in body) {
    if (!isMode(body.mode)) throw new FaultInputError(`mode must be one of ${FAULT_MODES.join(' | ')}; got ${JSON.stringify(body.mode)}`);
    mode = body.mode;
  }
  if ('ratio' in body) {
    const value = body.ratio;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new FaultInputError(`ratio must be a number from 0 to 1; got ${JSON.stringify(value)}`);
    }
    ratio = value;
  }
  if ('delayMs' in body) {
    const value = body.delayMs;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 25_000) {
      throw new FaultInputError(`delayMs must be an integer from 0 to 25000; got ${JSON.stringify(value)}`);
    }
    delayMs = value;
  }
  if ('quote' in body) quote = parseQuote(body.quote);
  return { mode, ratio, delayMs, quote };
}

function parseQuote(value: unknown): Quote | null {
  if (value === null) return null;
  const q = value as Record<string, unknown>;
  if (typeof value !== 'object' || typeof q.quote !== 'string' || typeof q.author !== 'string') {
    throw new FaultInputError('quote must be null or {"quote": string, "author": string}');
  }
  return { quote: q.quote, author: q.author };
}
