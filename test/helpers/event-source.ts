import type { CircuitBreaker } from '../../src/index.js';

/**
 * A stand-in breaker whose call events the test emits itself, with any duration: the breaker reports
 * `NaN` for a call it could not time. The exporters' tests share it.
 */
export function eventSource(name: string) {
  const listeners = new Map<string, Set<(event: unknown) => void>>();
  const fake = {
    name,
    state: 'closed',
    on(event: string, listener: (event: unknown) => void) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener);
      return () => set.delete(listener);
    },
  };
  const emit = (event: 'success' | 'failure', duration: number) => {
    for (const listener of listeners.get(event) ?? []) listener({ name, duration });
  };
  return { breaker: fake as unknown as CircuitBreaker, emit };
}
