/**
 * What the Prometheus and OpenTelemetry exporters share: the outcomes they count, the histogram
 * boundaries, and the checks of both. Bundled into each exporter's entry.
 */

/** Every call outcome; each call ends in exactly one. */
export const OUTCOMES = ['success', 'failure', 'neutral', 'timeout', 'rejected'] as const;
/** The outcomes of calls that reached the upstream, and so have a duration. */
export const TIMED_OUTCOMES = ['success', 'failure', 'neutral', 'timeout'] as const;
/** Duration histogram boundaries in seconds (prom-client's defaults: 5 ms to 10 s). */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Whether an event's duration was measured: a call already in flight when timing began reports `NaN`. */
export function isKnownDuration(ms: number): boolean {
  return Number.isFinite(ms) && ms >= 0;
}

/** `buckets` as both exporters need them: finite numbers in strictly increasing order (a copy). */
export function checkBuckets(value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  const bad = (Kind: TypeErrorConstructor | RangeErrorConstructor, expected: string): never => {
    const got = Array.isArray(value)
      ? `[${value.map(String).join(', ')}]`
      : typeof value === 'string'
        ? JSON.stringify(value)
        : String(value);
    throw new Kind(`breakwater: option "buckets" must be ${expected}; got ${got.slice(0, 80)}`);
  };
  if (!Array.isArray(value) || !value.every((b) => typeof b === 'number')) return bad(TypeError, 'an array of numbers');
  const numbers = value as number[];
  if (!numbers.every((b, i) => Number.isFinite(b) && (i === 0 || b > (numbers[i - 1] as number)))) {
    return bad(RangeError, 'an array of finite numbers in strictly increasing order');
  }
  return [...numbers];
}
