import type { BreakerEvents } from '../core/types.js';

/**
 * Every event a breaker emits: the one list, which `on()` checks names against (a misspelt event name would
 * otherwise never fire). Typed against `BreakerEvents`, so the two cannot drift apart.
 */
export const BREAKER_EVENTS = /* @__PURE__ */ Object.freeze([
  'stateChange',
  'success',
  'failure',
  'neutral',
  'rejected',
  'limited',
  'timeout',
  'fallback',
  'storeError',
  'storeRecovered',
] as const satisfies ReadonlyArray<keyof BreakerEvents>);

// Fails to compile when an event of `BreakerEvents` is missing from the list.
type Missing = Exclude<keyof BreakerEvents, (typeof BREAKER_EVENTS)[number]>;
const complete: Missing extends never ? true : Missing = true;
void complete;
