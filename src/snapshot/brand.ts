/**
 * Snapshots a breaker may restore: those `parseSnapshot()` checked and those `toJSON()` wrote. The mark is a
 * symbol from the global registry, so that a snapshot made by one copy of breakwater (its ESM build, say) is
 * taken by another (its CommonJS build) in the same app; being a symbol, it never reaches JSON.
 */
const CHECKED = Symbol.for('breakwater.snapshot');

/** Marks a snapshot as checked. */
export function markChecked<T extends object>(snapshot: T): T {
  Object.defineProperty(snapshot, CHECKED, { value: true });
  return snapshot;
}

/** Whether a value is a snapshot that was checked (or written by a breaker). */
export function isSnapshot(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CHECKED] === true;
}
