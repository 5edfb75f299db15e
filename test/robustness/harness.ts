/**
 * Shared pieces of the robustness fuzzers: tracked promises, an unhandled-rejection catcher,
 * and a drain that runs fake timers and microtasks until nothing is left.
 */
import { vi } from 'vitest';

export interface Tracked {
  readonly label: string;
  settled: boolean;
  outcome?: 'resolved' | 'rejected';
  value?: unknown;
}

export class Tracker {
  readonly calls: Tracked[] = [];
  readonly syncThrows: { label: string; error: unknown }[] = [];

  /** Runs `start` (which returns a promise); records a synchronous throw, and tracks the promise. */
  track(label: string, start: () => unknown): void {
    let p: unknown;
    try {
      p = start();
    } catch (error) {
      this.syncThrows.push({ label, error });
      return;
    }
    const t: Tracked = { label, settled: false };
    this.calls.push(t);
    if (!(p instanceof Promise)) {
      t.settled = true;
      t.outcome = 'resolved';
      t.value = { notAPromise: p };
      return;
    }
    p.then(
      (value) => {
        t.settled = true;
        t.outcome = 'resolved';
        t.value = value;
      },
      (error) => {
        t.settled = true;
        t.outcome = 'rejected';
        t.value = error;
      },
    );
  }

  unsettled(): Tracked[] {
    return this.calls.filter((c) => !c.settled);
  }
}

/** Collects unhandled rejections and uncaught exceptions while installed. */
export class Unhandled {
  readonly seen: unknown[] = [];
  readonly #on = (reason: unknown) => this.seen.push(reason);
  install(): void {
    process.on('unhandledRejection', this.#on);
    process.on('uncaughtException', this.#on);
  }
  uninstall(): void {
    process.off('unhandledRejection', this.#on);
    process.off('uncaughtException', this.#on);
  }
}

/** A real macrotask turn (setImmediate is not faked): lets Node report unhandled rejections. */
export function realTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Flushes microtasks a few times over. */
export async function microtasks(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** Runs fake timers (advancing fake time) until none is left, or `rounds` is exhausted. */
export async function drain(rounds = 50, step = 1_000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await microtasks();
    if (vi.getTimerCount() === 0) break;
    await vi.advanceTimersByTimeAsync(step);
  }
  await microtasks();
  await realTurn();
  await realTurn();
}

export function describeValue(v: unknown): string {
  try {
    if (v instanceof Error) return `${v.name}: ${v.message}`;
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** The test's own timers (a function's delay, a scheduled abort), so that the library's can be told apart. */
export class TestTimers {
  pending = 0;
  later(ms: number, fn: () => void): void {
    this.pending++;
    setTimeout(() => {
      this.pending--;
      fn();
    }, ms);
  }
  /** Timers pending that the test did not create. */
  libraryTimers(): number {
    return vi.getTimerCount() - this.pending;
  }
}

/** Advances fake time 1 ms at a time until `done()` or `limit` ms passed. */
export async function until(done: () => boolean, limit = 2_000): Promise<void> {
  for (let i = 0; i < limit && !done(); i++) {
    await microtasks(5);
    if (done()) break;
    await vi.advanceTimersByTimeAsync(1);
  }
  await microtasks();
}
