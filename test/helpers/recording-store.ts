// An in-memory store handle that records every compare-and-set it forwards: what was sent, the record it replaced
// when it landed, the circuit written (decoded) and the answer. Tests judge the engine by what reached the store.
import type { Circuit } from '../../src/core/rules.js';
import { decodeCircuit } from '../../src/fleet/codec.js';
import type { CompareAndSetResult, RecordIdentity, SharedWrite } from '../../src/fleet/contract.js';
import { MemoryBackend, MemoryStore, type MemoryStoreOptions } from './memory-store.js';

/** The stored record a write replaced (`undefined`: there was none). */
export interface Replaced {
  readonly version: string;
  readonly circuit: string;
  readonly tracker: string;
}

export interface SentWrite {
  /** Which handle sent it (the index given to the handle). */
  readonly from: number;
  /** The log's `stamp()` when it was sent (a test's own count of events, say). */
  readonly stamp: number;
  readonly expected: string;
  readonly write: SharedWrite;
  /** The circuit written, decoded. */
  readonly circuit: Circuit | undefined;
  /** Whether it landed: the store took it (even if the answer never reached the sender). */
  landed: boolean;
  /** The version it got, when it landed. */
  version: string;
  /** The record it replaced, when it landed. */
  replaced: Replaced | undefined;
  /** The store's answer, or the error it rejected with (the sender may have stopped waiting); `undefined` while none. */
  answer: CompareAndSetResult | { error: unknown } | undefined;
}

/** Every write sent by the handles of one backend, in the order they reached it. */
export class WriteLog {
  readonly sent: SentWrite[] = [];
  constructor(readonly stamp: () => number = () => 0) {}
  /** The writes that landed, in the order the store took them. */
  get landed(): SentWrite[] {
    return this.sent.filter((w) => w.landed).sort((a, b) => Number(a.version) - Number(b.version));
  }
}

export class RecordingStore extends MemoryStore {
  constructor(
    options: MemoryStoreOptions,
    backend: MemoryBackend,
    readonly log: WriteLog,
    readonly index = 0,
  ) {
    super(options, backend);
  }

  /** A handle on one backend that records into `log`, as instance `index`. */
  static on(backend: MemoryBackend, log: WriteLog, index: number, options: MemoryStoreOptions = {}): RecordingStore {
    return new RecordingStore(options, backend, log, index);
  }

  override async compareAndSet(name: string, expected: RecordIdentity, next: SharedWrite): Promise<CompareAndSetResult> {
    const entry: SentWrite = {
      from: this.index,
      stamp: this.log.stamp(),
      expected: expected.version,
      write: next,
      circuit: decodeCircuit(next.circuit),
      landed: false,
      version: '',
      replaced: undefined,
      answer: undefined,
    };
    this.log.sent.push(entry);
    // Read before the write takes effect: if it lands, nobody wrote in between (the version still matched).
    const row = this.backend.rows.get(name);
    const replaced = row === undefined ? undefined : { version: row.version, circuit: row.circuit, tracker: row.tracker };
    try {
      const result = await super.compareAndSet(name, expected, next);
      entry.answer = result;
      // A write expecting no record replaced none, whatever was read before (a lost key).
      if (result.ok)
        Object.assign(entry, { landed: true, version: result.version, replaced: expected.version === '' ? undefined : replaced });
      return result;
    } catch (error) {
      entry.answer = { error };
      throw error;
    }
  }
}

export { MemoryBackend };
