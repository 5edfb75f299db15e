/**
 * Calls a user's function; what it throws, or the promise it returns rejects with, goes to `report`
 * (with `context`), never to the caller. No closure unless it rejects: listeners run on every call.
 */
export function callReported<A, C>(fn: (arg: A) => unknown, arg: A, report: (error: unknown, context: C) => void, context: C): void {
  try {
    const result = fn(arg) as { then?: unknown } | undefined;
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (error: unknown) => report(error, context));
    }
  } catch (error) {
    report(error, context);
  }
}

/** A minimal typed event emitter. A listener that throws, or returns a promise that rejects, is reported, never propagated. */
export class Emitter<Events> {
  readonly #listeners: { [K in keyof Events]?: Array<(event: Events[K]) => unknown> } = {};
  readonly #report: (error: unknown, event: keyof Events) => void;

  constructor(report: (error: unknown, event: keyof Events) => void) {
    this.#report = report;
  }

  has(event: keyof Events): boolean {
    return this.#listeners[event] !== undefined;
  }

  /** Adds a listener; returns the function that removes it. @throws {TypeError} when `listener` is not a function. */
  on<K extends keyof Events>(event: K, listener: (event: Events[K]) => unknown): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`breakwater: listener for "${String(event)}" must be a function; got ${String(listener)}`);
    }
    const list = this.#listeners[event];
    // Copy on write: an emit in progress keeps iterating the list it started with.
    this.#listeners[event] = list === undefined ? [listener] : [...list, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const current = this.#listeners[event];
      if (current === undefined) return;
      const i = current.indexOf(listener);
      const next = current.filter((_, j) => j !== i);
      if (next.length === 0) delete this.#listeners[event];
      else this.#listeners[event] = next;
    };
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.#listeners[event];
    if (list === undefined) return;
    for (const listener of list) callReported(listener, payload, this.#report, event);
  }
}
