import { CircuitBreaker } from '../core/breaker.js';
import type { CircuitBreakerOptions } from '../core/types.js';

/** The breaker behind each decorated method, for metrics, tests and manual control. */
const breakers = new WeakMap<Function, CircuitBreaker>();

/** A method that returns a promise: the only kind `@circuit` accepts, since the breaker makes every call async. */
export type AsyncMethod<This, A extends unknown[], R> = (this: This, ...args: A) => Promise<R>;

/**
 * A standard (TypeScript 5 / TC39) method decorator that runs every call of the method through
 * a circuit breaker. Give it a `CircuitBreaker` to share one (between methods, or with other
 * code), or options to create one breaker for the method, shared by every instance of the class.
 * Without a `name`, the breaker is named after the method.
 *
 * The method must return a promise (declare it `async`): calls rejected by the open circuit
 * reject with `CircuitOpenError`. Needs the standard decorators of TypeScript ≥ 5.0, not
 * `experimentalDecorators`.
 *
 * @example
 * ```ts
 * class Payments {
 *   @circuit({ failureThreshold: 3, timeout: 2_000 })
 *   async charge(order: Order): Promise<Receipt> { … }
 * }
 * circuitOf(Payments.prototype.charge)?.state; // 'closed'
 * ```
 * @throws {TypeError | RangeError} when applied to anything but a method, or when the options are invalid.
 */
export function circuit(breakerOrOptions?: CircuitBreaker | CircuitBreakerOptions) {
  return <This, A extends unknown[], R>(
    method: AsyncMethod<This, A, R>,
    context: ClassMethodDecoratorContext<This>,
  ): AsyncMethod<This, A, R> => {
    if (typeof context !== 'object' || context === null || context.kind !== 'method') {
      throw new TypeError(
        `breakwater: @circuit decorates class methods with standard decorators; got ${typeof context === 'object' && context !== null ? `a ${String(context.kind)}` : 'legacy (experimentalDecorators) arguments'}`,
      );
    }
    const breaker =
      breakerOrOptions instanceof CircuitBreaker
        ? breakerOrOptions
        : new CircuitBreaker({ ...breakerOrOptions, name: breakerOrOptions?.name ?? String(context.name) });
    function decorated(this: This, ...args: A): Promise<R> {
      return breaker.execute(() => method.apply(this, args));
    }
    // Stack traces, logs and spies show the method's own name.
    Object.defineProperty(decorated, 'name', { value: method.name, configurable: true });
    breakers.set(decorated, breaker);
    return decorated;
  };
}

/** The breaker a method decorated with `@circuit` runs through, or `undefined` for any other function. */
export function circuitOf(method: Function): CircuitBreaker | undefined {
  return breakers.get(method);
}
