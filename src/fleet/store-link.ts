/**
 * One breaker's line to the store: every operation under the store's timeout, the store's clock as measured at
 * each answer, and the writer tags that mark this instance's writes.
 */

import type { SharedRecord, StoreOperations } from './contract.js';

const DEFAULT_STORE_TIMEOUT = 250;

class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
}

/** Timers of fleet sync never keep a process alive. */
export function unref(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}

export class StoreLink {
  /** This instance's id: its records' writer is `id.n`, one `n` per write sent. */
  readonly #id = Math.random().toString(36).slice(2, 10);
  #writes = 0;
  readonly timeout: number;
  /** Store clock minus local clock, measured at the last answer (a lower bound, so estimates never run ahead). */
  offset = 0;
  /** Local time of the last answer. */
  lastContact = Number.NEGATIVE_INFINITY;

  constructor(
    readonly store: StoreOperations,
    readonly name: string,
    readonly clock: { now(): number },
  ) {
    this.timeout = store.timeout ?? DEFAULT_STORE_TIMEOUT;
  }

  /** Reads the shared record (and measures the store's clock). */
  async read(): Promise<SharedRecord> {
    const rec = await this.guard(() => this.store.read(this.name));
    this.contact(rec.now);
    return rec;
  }

  /** The store answered: measure the offset between its clock and ours. */
  contact(storeNow: number): void {
    const local = this.clock.now();
    this.offset = storeNow - local;
    this.lastContact = local;
  }

  /** The store's clock, estimated from the local one. */
  storeNow(): number {
    return this.clock.now() + this.offset;
  }

  /** Whether the last answer is at least `ms` old. */
  silentFor(ms: number): boolean {
    return this.clock.now() - this.lastContact >= ms;
  }

  /** The tag of a new write. */
  nextWriter(): string {
    return `${this.#id}.${++this.#writes}`;
  }

  /** Whether a record's writer tag is one of this instance's writes. */
  mine(writer: string): boolean {
    const id = this.#id;
    return writer.length > id.length && writer.startsWith(id) && writer[id.length] === '.';
  }

  /** Runs a store operation under the store's timeout; a synchronous throw counts as a failure too. */
  guard<T>(op: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StoreTimeoutError(`breakwater: the store did not answer within ${this.timeout} ms`)),
        this.timeout,
      );
      unref(timer);
      let pending: Promise<T>;
      try {
        pending = Promise.resolve(op());
      } catch (error) {
        clearTimeout(timer);
        reject(error);
        return;
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
