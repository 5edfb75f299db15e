/**
 * An app may load two copies of breakwater at once: its ESM build and its CommonJS build (an ESM app using a
 * CommonJS library that requires breakwater, say). Each copy has its own classes, so `instanceof` would fail
 * across them; a brand shared through the global symbol registry (`breakwater.<Name>`) makes it hold.
 */

/**
 * The base of breakwater's errors. `value instanceof Target`: by brand for the class that owns the brand, by
 * prototype for a subclass of it. Told apart through the prototype, not by naming the class: a class body that
 * names its own class is renamed by bundlers (`_CircuitOpenError`), and loggers report `constructor.name` as the
 * error's type.
 */
export class BreakwaterError extends Error {
  /** True for an error of this class made by any copy of breakwater loaded in the process (its ESM and CommonJS builds, say). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of `instanceof`, a subclass perhaps.
    const p = this.prototype;
    const brand = Symbol.for(`breakwater.${p.name}`);
    return Object.hasOwn(p, brand)
      ? (value as Record<symbol, unknown> | null | undefined)?.[brand] === true
      : // biome-ignore lint/complexity/noThisInStatic: as above.
        Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/**
 * Errors the breaker builds on its fast paths (a rejection of the open circuit, of the concurrency cap) skip the
 * `Error` constructor: capturing a stack costs about as much as the whole rejection. Their `stack` reads
 * `Name: message`; code that rewrites it (common in loggers) gets an own property, as on any error. Errors built
 * by a constructor have their own `stack`, which hides this one.
 */
Object.defineProperty(BreakwaterError.prototype, 'stack', {
  configurable: true,
  get(this: Error): string {
    return `${this.name}: ${this.message}`;
  },
  set(this: Error, value: unknown) {
    Object.defineProperty(this, 'stack', { value, writable: true, configurable: true });
  },
});

/**
 * Gives an error class its brand and its name on the prototype (so that instances built without the constructor
 * have them too). With `field`, returns the maker of stackless instances `(message, value of field, breaker)`:
 * they are `instanceof` the class and `Error`, with their fields, and differ from constructed errors only in
 * what engines read from the hidden error slot (`util.types.isNativeError` is false).
 */
export function brand<E extends object>(target: { readonly prototype: E }, name: string, field?: string) {
  Object.defineProperty(target.prototype, Symbol.for(`breakwater.${name}`), { value: true });
  Object.defineProperty(target.prototype, 'name', { value: name, writable: true, configurable: true });
  // A plain constructor sharing the class's prototype: objects of one shape, their fields laid out in advance.
  function Stackless(this: Record<string, unknown>, message: string, value: number, breaker: string | undefined) {
    this.message = message;
    this[field as string] = value;
    this.breaker = breaker;
  }
  Stackless.prototype = target.prototype;
  return (message: string, value: number, breaker: string | undefined) =>
    new (Stackless as unknown as new (m: string, v: number, b: string | undefined) => E)(message, value, breaker);
}
