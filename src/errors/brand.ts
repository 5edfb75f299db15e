/**
 * An app may load two copies of breakwater at once: its ESM build and its CommonJS build (an ESM app using a
 * CommonJS library that requires breakwater, say). Each copy has its own classes, so `instanceof` would fail
 * across them; a brand shared through the global symbol registry makes it hold.
 */

/**
 * `value instanceof target`: by brand for the class that owns the brand, by prototype for a subclass of it.
 * Told apart through the prototype, not by naming the class: a class body that names its own class is renamed
 * by bundlers (`_CircuitOpenError`), and loggers report `constructor.name` as the error's type.
 */
export function isBranded(target: { readonly prototype: object }, brand: symbol, value: unknown): boolean {
  if (!Object.hasOwn(target.prototype, brand)) return Function.prototype[Symbol.hasInstance].call(target, value);
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/**
 * Gives an error class its brand and its name on the prototype, so that instances built without the constructor
 * (see `stackless`) have them too.
 */
export function brand(target: { readonly prototype: object }, symbol: symbol, name: string): void {
  Object.defineProperty(target.prototype, symbol, { value: true });
  Object.defineProperty(target.prototype, 'name', { value: name, writable: true, configurable: true });
}

/**
 * Makes the errors of a class that the breaker builds on its fast paths (a rejection of the open circuit, of the
 * concurrency cap) without running the `Error` constructor: capturing a stack costs about as much as the whole
 * rejection. They are `instanceof` the class and `Error`, with their fields, but capture no stack: `stack` reads
 * `Name: message`. They differ from constructed errors only in what engines read from the hidden error slot
 * (`util.types.isNativeError` is false).
 */
export function stackless<A extends unknown[], E extends Error>(
  target: { readonly prototype: E },
  init: (this: E, ...args: A) => void,
): (...args: A) => E {
  // A plain constructor sharing the class's prototype: objects of one shape, their fields laid out in advance.
  const Stackless = function (this: E, ...args: A) {
    init.apply(this, args);
  } as unknown as new (
    ...args: A
  ) => E;
  Stackless.prototype = target.prototype;
  Object.defineProperty(target.prototype, 'stack', {
    configurable: true,
    get(this: E): string {
      return `${this.name}: ${this.message}`;
    },
    set(this: E, value: unknown) {
      // Code that rewrites `error.stack` (common in loggers) gets an own property, as on any error.
      Object.defineProperty(this, 'stack', { value, writable: true, configurable: true });
    },
  });
  return (...args: A) => new Stackless(...args);
}
