/**
 * The checks every option of every entry point goes through, so that each bad value gets the same kind of
 * error: a `TypeError` (wrong type) or `RangeError` (wrong number) naming the option, what it must be and
 * the value given.
 */

type ErrorKind = typeof TypeError | typeof RangeError;

/** A value as an error message shows it: strings quoted, data as (at most 80 characters of) JSON. */
export function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  // Item by item, so that NaN and Infinity show as themselves (JSON would write null).
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`.slice(0, 80);
  // `null` too: JSON writes it as `null`, as the plain form would.
  if (typeof value === 'string' || typeof value === 'object') {
    try {
      return JSON.stringify(value).slice(0, 80);
    } catch {
      // Circular or otherwise not JSON: the plain form below.
    }
  }
  return String(value);
}

/** Throws the error every bad option gets: the option, what it must be, and the value given. */
export function fail(Kind: ErrorKind, option: string, value: unknown, expected: string): never {
  throw new Kind(`breakwater: option "${option}" must be ${expected}; got ${describe(value)}`);
}

/**
 * A number option, or `undefined` when not given: at least `min` (above it with `above`), at most `max`, whole
 * with `integer`. Infinity and NaN are refused: every number option is finite.
 */
export function num(value: unknown, option: string, min: number, max?: number, kind?: 'integer' | 'above'): number | undefined {
  if (value === undefined) return undefined;
  // `Number.isFinite` refuses every value that is not a number, too.
  const n = value as number;
  if (
    Number.isFinite(n) &&
    (kind === 'above' ? n > min : n >= min) &&
    !(n > (max as number)) &&
    (kind !== 'integer' || Number.isInteger(n))
  ) {
    return n;
  }
  return fail(
    typeof value === 'number' ? RangeError : TypeError,
    option,
    value,
    `${kind === 'integer' ? 'an integer' : 'a number'} ${kind === 'above' ? '>' : '≥'} ${min}${max === undefined ? '' : ` and ≤ ${max}`}`,
  );
}

/** An object with the named methods (a name ending in `?` may be left out), or `undefined` when not given. */
export function methods<T>(value: unknown, option: string, names: string, expected: string): T {
  const o = value as Record<string, unknown> | null;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    names.split(' ').every((n) => {
      const optional = n.endsWith('?');
      const method = o[optional ? n.slice(0, -1) : n];
      return typeof method === 'function' || (optional && method === undefined);
    });
  return ok || value === undefined ? (value as T) : fail(TypeError, option, value, expected);
}

/** Whether `fn` is a class (or an error constructor) rather than a function to call: `isFailure: RequestError`, say. */
function isClass(fn: Function): boolean {
  return /^class\b/.test(Function.prototype.toString.call(fn)) || fn === Error || fn.prototype instanceof Error;
}

/** A function option (a predicate, a hook), or `undefined` when not given; a class is refused with the way to test for it. */
export function callback<F>(value: unknown, option: string): F {
  if (value !== undefined && typeof value !== 'function') fail(TypeError, option, value, 'a function');
  if (value !== undefined && isClass(value)) {
    throw new TypeError(
      `breakwater: option "${option}" must be a function that judges the value, not a class; use (error) => error instanceof ${value.name || 'MyError'}`,
    );
  }
  return value as F;
}

/** The closest of `known` to `name` (edit distance under 4, ignoring case), to suggest for a typo. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  const a = name.toLowerCase();
  for (const candidate of known) {
    const b = candidate.toLowerCase();
    // One row of the edit-distance table, updated in place: `diagonal` holds the cell above-left.
    const row = [...Array(b.length + 1).keys()];
    for (let i = 1; i <= a.length; i++) {
      let diagonal = i - 1;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const above = row[j] as number;
        row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
        diagonal = above;
      }
    }
    if ((row[b.length] as number) < bestDistance) {
      bestDistance = row[b.length] as number;
      best = candidate;
    }
  }
  return best;
}

/** Refuses a name that is not one of `known` (a typo must not silently do nothing), suggesting the closest one. */
export function refuseUnknown(name: string, known: readonly string[], what: string): void {
  if (known.includes(name)) return;
  const hint = closest(name, known);
  throw new TypeError(`breakwater: unknown ${what} "${name}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
}

/** An options object (or `undefined`: `{}`) whose keys are all `known`. */
export function checkOptionObject<T extends object>(value: unknown, option: string, known: readonly string[]): T {
  if (value === undefined) return {} as T;
  if (typeof value !== 'object' || value === null) fail(TypeError, option, value, 'an object');
  for (const key of Object.keys(value)) refuseUnknown(key, known, `${option} option`);
  return value as T;
}
