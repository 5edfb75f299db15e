import type { SharedRecord } from '../../src/fleet/index.js';
import { RedisStore } from '../../src/redis/index.js';

/** A store that counts the reads it answered (a breaker that learnt a change without a read heard it by message). */
export class CountingStore extends RedisStore {
  reads = 0;
  override async read(name: string): Promise<SharedRecord> {
    const record = await super.read(name);
    this.reads++;
    return record;
  }
}
