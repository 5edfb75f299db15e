// Conditions on Redis pub/sub to wait for, rather than sleeping until a subscription is probably live.
import { setImmediate as turn } from 'node:timers/promises';
import { untilOrThrow } from './real-time.js';

/** A connection that sends a raw command (ioredis). */
interface Admin {
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** Subscribers of `channel` on the server, all connections together (`PUBSUB NUMSUB`). */
export async function numsub(admin: Admin, channel: string): Promise<number> {
  const reply = (await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number | string];
  return Number(reply[1]);
}

/** Resolves once `count` connections subscribe to `channel`; throws after `ms`. */
export function subscribers(admin: Admin, channel: string, count = 1, ms?: number): Promise<void> {
  return untilOrThrow(async () => (await numsub(admin, channel)) >= count, ms);
}

/**
 * Resolves once each connection (either client) answered a PING sent now, and the handlers of what it received
 * before have run. A connection answers in order: every SUBSCRIBE or UNSUBSCRIBE sent on it before is then in
 * effect on the server, and every message published to it before the PING was delivered.
 */
export async function answered(...connections: ReadonlyArray<{ ping(): Promise<unknown> }>): Promise<void> {
  await Promise.all(connections.map((c) => c.ping()));
  await turn();
}
