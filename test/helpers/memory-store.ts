// An in-memory BreakerStore for unit and property tests: the same contract as RedisStore,
// with a clock the test controls, call counts, and faults on demand.

import type { CompareAndSetResult, RecordIdentity, SharedRecord, SharedWrite, StoreOperations } from '../../src/fleet/contract.js';
import { SharedStore } from '../../src/fleet/index.js';

interface Row {
  version: string;
  circuit: string;
  tracker: string;
  settings: string;
  at: number;
  writer: string;
}

export interface MemoryStoreOptions {
  /** The store's clock in ms (default: Date.now). */
  now?: () => number;
  /** Offer subscriptions (default true). */
  subscribe?: boolean;
  timeout?: number;
  /** Runs before each operation takes effect: lets a test hold or reorder operations. */
  gate?: (op: 'read' | 'cas') => Promise<void>;
}

/** The store's records and messages, shared by every `MemoryStore` handle made with `handle()`. */
export class MemoryBackend {
  readonly rows = new Map<string, Row>();
  readonly listeners = new Map<string, Set<(record: SharedRecord) => void>>();
  version = 1_000;
  /** Operations by every handle. */
  readonly calls = { read: 0, cas: 0 };
  /** Every row written, in the order the writes were accepted. */
  readonly log: Row[] = [];
}

export class MemoryStore extends SharedStore {
  readonly timeout: number | undefined;
  readonly backend: MemoryBackend;
  /** When set, every operation rejects with it. */
  fail: unknown;
  /** When true, operations never settle. */
  hang = false;
  readonly #now: () => number;
  readonly #gate: ((op: 'read' | 'cas') => Promise<void>) | undefined;
  subscribe: StoreOperations['subscribe'];

  constructor(options: MemoryStoreOptions = {}, backend = new MemoryBackend()) {
    super();
    this.backend = backend;
    this.#now = options.now ?? Date.now;
    this.timeout = options.timeout;
    this.#gate = options.gate;
    this.subscribe =
      options.subscribe === false
        ? undefined
        : (name, listener) => {
            let set = this.backend.listeners.get(name);
            if (set === undefined) {
              set = new Set();
              this.backend.listeners.set(name, set);
            }
            set.add(listener);
            return () => set.delete(listener);
          };
  }

  /** Operations by every handle on this backend. */
  get calls(): { read: number; cas: number } {
    return this.backend.calls;
  }

  /** Another instance's handle on the same records. */
  handle(options: MemoryStoreOptions = {}): MemoryStore {
    return new MemoryStore({ now: this.#now, ...options }, this.backend);
  }

  /** The record of `name`, or undefined. */
  row(name: string): Row | undefined {
    return this.backend.rows.get(name);
  }

  async #enter(op: 'read' | 'cas'): Promise<void> {
    if (op === 'read') this.calls.read++;
    else this.calls.cas++;
    if (this.hang) await new Promise(() => {});
    if (this.#gate !== undefined) await this.#gate(op);
    if (this.fail !== undefined) throw this.fail;
  }

  #record(name: string): SharedRecord {
    const row = this.backend.rows.get(name);
    const now = this.#now();
    return row === undefined ? { version: '', now, circuit: '', tracker: '', settings: '', at: 0, writer: '' } : { ...row, now };
  }

  async read(name: string): Promise<SharedRecord> {
    await this.#enter('read');
    return this.#record(name);
  }

  async compareAndSet(name: string, expected: RecordIdentity, next: SharedWrite): Promise<CompareAndSetResult> {
    await this.#enter('cas');
    const current = this.#record(name);
    const same = current.version === expected.version && (current.version === '' || current.writer === expected.writer);
    if (!same || next.at > current.now) return { ok: false, current };
    const version = String(++this.backend.version);
    const row: Row = { version, circuit: next.circuit, tracker: next.tracker, settings: next.settings, at: next.at, writer: next.writer };
    this.backend.rows.set(name, row);
    this.backend.log.push(row);
    const now = this.#now();
    for (const listener of this.backend.listeners.get(name) ?? []) listener({ ...row, now });
    return { ok: true, version, now };
  }
}
