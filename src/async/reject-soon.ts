/**
 * A thenable that rejects with its reason when adopted: returned from a `then` handler, it rejects
 * the derived promise without a `throw` (a throw into a promise job costs as much as the call).
 */
export class Rejection implements PromiseLike<never> {
  readonly #reason: unknown;

  constructor(reason: unknown) {
    this.#reason = reason;
  }

  // biome-ignore lint/suspicious/noThenProperty: adopting this thenable is the point.
  then<A = never, B = never>(_: unknown, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): PromiseLike<A | B> {
    onRejected?.(this.#reason);
    return this as PromiseLike<never>;
  }
}

/**
 * A promise that rejects with `reason` one microtask later. A caller that awaits it has its
 * handler attached by then, so the engine's tracking of "rejected without a handler, then
 * handled" (which costs more than the rest of a fast rejection) never runs. A caller that
 * never handles it still gets an unhandled rejection, as with `Promise.reject`.
 */
export function rejectSoon<T>(reason: unknown): Promise<T> {
  return Promise.resolve<T>(new Rejection(reason));
}
