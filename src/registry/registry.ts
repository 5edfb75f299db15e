import { CircuitBreaker } from '../core/breaker.js';
import { CHECK_FLEET } from '../core/fleet-link.js';
import type { BreakerMetrics, CircuitBreakerOptions } from '../core/types.js';
import { callReported, Emitter } from '../events/emitter.js';
import { choosesRate, RATE_OPTIONS, resolveOptions } from '../options/breaker-options.js';
import { callback, checkOptionObject, num } from '../options/checks.js';

/** Options of a `BreakerRegistry`. */
export interface BreakerRegistryOptions {
  /**
   * Options every breaker of the registry is created with. Each breaker is named after its key;
   * a `name` here becomes a prefix (`name:key`).
   */
  readonly defaults?: CircuitBreakerOptions;
  /**
   * Per-key options, merged over `defaults` when the key's breaker is created (a tighter
   * `timeout` for one host, say). Return `undefined` to use the defaults as they are. Options that
   * choose a mode replace the other mode's options of `defaults`: `failureRateThreshold` (or any rate
   * option) for one key drops the defaults' `failureThreshold`, and `failureThreshold` drops their rate options.
   */
  readonly optionsFor?: (key: string) => CircuitBreakerOptions | undefined;
  /** Most breakers kept at once; the least recently used one is dropped beyond it (default 1000). */
  readonly maxSize?: number;
}

/** A breaker the registry created or dropped. */
export interface RegistryEvent {
  /** The key the breaker is registered under. */
  readonly key: string;
  /** The breaker itself. */
  readonly breaker: CircuitBreaker;
}

/** Events of a `BreakerRegistry`. */
export interface RegistryEvents {
  /** A breaker was created for a key (exporters attach here). */
  add: RegistryEvent;
  /** A breaker left the registry: evicted as least recently used, deleted, or cleared. */
  remove: RegistryEvent;
}

const REGISTRY_OPTIONS: readonly string[] = ['defaults', 'optionsFor', 'maxSize'];
/** Runs a watcher's detach (if it returned one); what it throws or rejects with is reported, and the others still run. */
function runDetach(detach: unknown): void {
  if (typeof detach === 'function') callReported(detach as () => unknown, undefined, reportDetach, undefined);
}

function reportDetach(error: unknown): void {
  console.error("breakwater: a registry watcher's detach threw", error);
}

/**
 * A bounded map from keys (an origin, a tenant, a queue) to circuit breakers, created on
 * first use with shared options. Beyond `maxSize` the least recently used breaker is dropped,
 * so a stream of distinct keys cannot grow memory without bound: every breaker the registry drops
 * is disposed (`dispose()`: in fleet mode it leaves the store; otherwise there is nothing to release).
 *
 * Iterating yields `[key, breaker]` pairs (least recently used first) without touching the order. The
 * iterators walk a copy, so calling `get()` for each key in the loop visits each once.
 *
 * @example
 * ```ts
 * const breakers = new BreakerRegistry({ defaults: { failureThreshold: 3, timeout: 2_000 }, maxSize: 500 });
 * const user = await breakers.get('users-api').execute(() => loadUser(id));
 * for (const [key, breaker] of breakers) console.log(key, breaker.state);
 * ```
 */
export class BreakerRegistry implements Iterable<[string, CircuitBreaker]> {
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #defaults: CircuitBreakerOptions;
  readonly #optionsFor: ((key: string) => CircuitBreakerOptions | undefined) | undefined;
  readonly #maxSize: number;
  #events: Emitter<RegistryEvents> | undefined;

  /**
   * @throws {TypeError | RangeError} when an option (or one of `defaults`) is invalid or unknown.
   */
  constructor(options?: BreakerRegistryOptions) {
    const o = checkOptionObject<BreakerRegistryOptions>(options, 'registry', REGISTRY_OPTIONS);
    this.#maxSize = num(o.maxSize, 'maxSize', 1, undefined, 'integer') ?? 1000;
    callback(o.optionsFor, 'optionsFor');
    // Validate the shared options now: a typo should fail at start-up, not on the first call for a key. The
    // fleet options too, by the store's engine (the core carries none of it).
    const settings = resolveOptions(o.defaults);
    (settings.store as Record<symbol, ((s: typeof settings) => void) | undefined> | undefined)?.[CHECK_FLEET]?.(settings);
    this.#defaults = o.defaults ?? {};
    this.#optionsFor = o.optionsFor;
  }

  /** The breaker for `key`, created on first use; marks it most recently used. */
  get(key: string): CircuitBreaker {
    const breakers = this.#breakers;
    const found = breakers.get(key);
    if (found !== undefined) {
      // Re-inserting moves the key to the end of the Map's order: the most recently used.
      breakers.delete(key);
      breakers.set(key, found);
      return found;
    }
    const breaker = this.#create(key);
    breakers.set(key, breaker);
    if (breakers.size > this.#maxSize) this.#evictOldest();
    this.#events?.emit('add', { key, breaker });
    return breaker;
  }

  /** The breaker for `key` if there is one, without creating it or changing the order. */
  peek(key: string): CircuitBreaker | undefined {
    return this.#breakers.get(key);
  }

  /** Whether a breaker exists for `key`. */
  has(key: string): boolean {
    return this.#breakers.has(key);
  }

  /** Drops the breaker for `key`; returns whether there was one. */
  delete(key: string): boolean {
    const breaker = this.#breakers.get(key);
    if (breaker === undefined) return false;
    this.#breakers.delete(key);
    this.#events?.emit('remove', { key, breaker });
    // Never rejects; in fleet mode the breaker writes what it still holds and leaves the store.
    void breaker.dispose();
    return true;
  }

  /** Drops every breaker. */
  clear(): void {
    for (const key of [...this.#breakers.keys()]) this.delete(key);
  }

  /** How many breakers the registry holds. */
  get size(): number {
    return this.#breakers.size;
  }

  /** The most breakers kept at once. */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** The keys, least recently used first. */
  keys(): IterableIterator<string> {
    return [...this.#breakers.keys()][Symbol.iterator]();
  }

  /** The breakers, least recently used first. */
  values(): IterableIterator<CircuitBreaker> {
    return [...this.#breakers.values()][Symbol.iterator]();
  }

  /** `[key, breaker]` pairs, least recently used first. */
  entries(): IterableIterator<[string, CircuitBreaker]> {
    return [...this.#breakers.entries()][Symbol.iterator]();
  }

  /** `[key, breaker]` pairs, least recently used first; iterating does not change the order. */
  [Symbol.iterator](): IterableIterator<[string, CircuitBreaker]> {
    return this.entries();
  }

  /** Every breaker's metrics, keyed by registry key (a JSON-ready health view). */
  metrics(): Record<string, BreakerMetrics> {
    const out: Record<string, BreakerMetrics> = Object.create(null);
    for (const [key, breaker] of this.#breakers) out[key] = breaker.metrics();
    return out;
  }

  /** Subscribes to `add` / `remove`; returns the function that unsubscribes. */
  on<K extends keyof RegistryEvents>(event: K, listener: (event: RegistryEvents[K]) => unknown): () => void {
    this.#events ??= new Emitter((error, name) => {
      console.error(`breakwater: a registry "${String(name)}" listener threw`, error);
    });
    return this.#events.on(event, listener);
  }

  /**
   * Runs `attach` for every breaker in the registry now and every one added later; the function it
   * returns runs when that breaker leaves the registry. Returns a function that detaches everything.
   * This is how exporters follow a registry of many breakers. If `attach` throws for a breaker already
   * here, the ones attached before it are detached and the error is thrown; a detach that throws (or
   * rejects) is reported, and the others still run.
   */
  watch(attach: (breaker: CircuitBreaker, key: string) => () => void): () => void {
    const detach = new Map<CircuitBreaker, unknown>();
    try {
      for (const [key, breaker] of this) detach.set(breaker, attach(breaker, key));
    } catch (error) {
      for (const stop of detach.values()) runDetach(stop);
      throw error;
    }
    const offAdd = this.on('add', ({ key, breaker }) => detach.set(breaker, attach(breaker, key)));
    const offRemove = this.on('remove', ({ breaker }) => {
      const stop = detach.get(breaker);
      detach.delete(breaker);
      runDetach(stop);
    });
    return () => {
      offAdd();
      offRemove();
      const stops = [...detach.values()];
      detach.clear();
      for (const stop of stops) runDetach(stop);
    };
  }

  #create(key: string): CircuitBreaker {
    if (typeof key !== 'string' || key === '') {
      throw new TypeError(`breakwater: a registry key must be a non-empty string; got ${typeof key === 'string' ? '""' : String(key)}`);
    }
    let defaults = this.#defaults;
    const own = this.#optionsFor?.(key);
    const name = own?.name ?? (defaults.name === undefined ? key : `${defaults.name}:${key}`);
    // A key's own mode replaces the defaults' mode instead of clashing with it.
    if (own !== undefined && choosesRate(own) && defaults.failureThreshold !== undefined) {
      defaults = { ...defaults, failureThreshold: undefined };
    } else if (own?.failureThreshold !== undefined && choosesRate(defaults)) {
      defaults = { ...defaults, ...Object.fromEntries(RATE_OPTIONS.map((option) => [option, undefined])) };
    }
    // A key kept out of the fleet (`store: undefined`) leaves the defaults' fleet options behind too.
    if (own !== undefined && 'store' in own && own.store === undefined && defaults.store !== undefined) {
      defaults = { ...defaults, syncInterval: undefined, onStoreError: undefined };
    }
    return new CircuitBreaker({ ...defaults, ...own, name });
  }

  #evictOldest(): void {
    const oldest = this.#breakers.keys().next();
    if (oldest.done !== true) this.delete(oldest.value);
  }
}
