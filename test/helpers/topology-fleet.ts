// A fleet of breakers in this process, each with its own Redis connections (as separate processes would have),
// sharing one breaker through RedisStore and calling one HTTP upstream in a loop; and the fleet-wide checks the
// topology tests make after a failover: the shared record every instance shows, and one round of an upstream outage
// (the fleet stops after about failureThreshold calls, probes once per recovery window, closes everywhere).

import { decodeCircuit } from '../../src/fleet/codec.js';
import { CircuitBreaker, CircuitOpenError, type LogRecord, TimeoutError } from '../../src/index.js';
import { RedisStore, type RedisStoreOptions } from '../../src/redis/index.js';
import type { Upstream } from './fleet.js';
import { sleep, until, untilOrThrow } from './real-time.js';

/** One instance's connections, as docs/fleet.md sets them up. */
export interface Connections {
  readonly client: RedisStoreOptions['client'];
  readonly subscriber?: RedisStoreOptions['subscriber'];
  close(): Promise<void>;
}

export interface FleetSettings {
  readonly upstream: Upstream;
  readonly threshold: number;
  readonly recovery: number;
  readonly sync: number;
  /** The store's timeout (ms). */
  readonly storeTimeout: number;
  readonly prefix: string;
}

export interface Instance {
  readonly index: number;
  readonly breaker: CircuitBreaker;
  /** Every transition, with its source and when it happened (wall-clock ms). */
  readonly states: { readonly to: string; readonly source: string; readonly at: number }[];
  /** Every log record the breaker wrote, with its level. */
  readonly logs: { readonly level: 'info' | 'warn' | 'error'; readonly event: string; readonly at: number }[];
  readonly stats: { calls: number; ok: number; failed: number; rejected: number; timeouts: number };
  /** What reached a caller that neither the upstream nor the breaker's own rejection explains. */
  readonly unexpected: unknown[];
  /** Calls made (started) at each wall-clock ms, the last 2,000. */
  readonly callTimes: number[];
  /** Whether its call loop runs. */
  looping: boolean;
}

export interface LocalFleet {
  readonly instances: readonly Instance[];
  /** Starts the call loops of `which` (default every instance). */
  go(which?: readonly Instance[]): void;
  /** Makes one call on `instance` and settles with what the caller saw. */
  call(instance: Instance): Promise<'ok' | 'failed' | 'rejected' | 'timeout' | 'unexpected'>;
  /** Stops the loops, disposes the breakers, closes every connection. */
  close(): Promise<void>;
}

export const NAME = 'upstream';

/** Starts `n` instances; `connect(i)` opens instance i's connections. */
export async function startLocalFleet(n: number, connect: (i: number) => Promise<Connections>, s: FleetSettings): Promise<LocalFleet> {
  const connections: Connections[] = [];
  const instances: Instance[] = [];
  const loops: Promise<void>[] = [];
  const closeAll = async () => {
    for (const i of instances) i.looping = false;
    await Promise.all(loops);
    await Promise.all(instances.map((i) => i.breaker.dispose()));
    await Promise.all(connections.map((c) => c.close().catch(() => {})));
  };
  try {
    for (let index = 0; index < n; index++) {
      const c = await connect(index);
      connections.push(c);
      const store = new RedisStore({
        client: c.client,
        ...(c.subscriber ? { subscriber: c.subscriber } : {}),
        prefix: s.prefix,
        timeout: s.storeTimeout,
      });
      const logs: Instance['logs'][number][] = [];
      const log = (level: 'info' | 'warn' | 'error') => (record: LogRecord) => logs.push({ level, event: record.event, at: Date.now() });
      const breaker = new CircuitBreaker({
        name: NAME,
        store,
        failureThreshold: s.threshold,
        recoveryTimeout: s.recovery,
        syncInterval: s.sync,
        maxProbeWait: 2_000,
        timeout: 3_000,
        isResultFailure: (r) => (r as { status: number }).status >= 500,
        logger: { info: log('info'), warn: log('warn'), error: log('error') },
      });
      const instance: Instance = {
        index,
        breaker,
        states: [],
        logs,
        stats: { calls: 0, ok: 0, failed: 0, rejected: 0, timeouts: 0 },
        unexpected: [],
        callTimes: [],
        looping: false,
      };
      breaker.on('stateChange', (e) => instance.states.push({ to: e.to, source: e.source, at: Date.now() }));
      instances.push(instance);
    }
  } catch (error) {
    await closeAll();
    throw error;
  }

  const call = async (i: Instance) => {
    i.stats.calls++;
    const now = Date.now();
    i.callTimes.push(now);
    if (i.callTimes.length > 2_000) i.callTimes.shift();
    try {
      const res = await i.breaker.execute(async ({ signal }) => {
        const r = await fetch(s.upstream.url, { signal, headers: { 'x-sent-at': String(Date.now()) } });
        await r.arrayBuffer();
        return { status: r.status };
      });
      if (res.status >= 500) {
        i.stats.failed++;
        return 'failed' as const;
      }
      i.stats.ok++;
      return 'ok' as const;
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        i.stats.rejected++;
        return 'rejected' as const;
      }
      if (error instanceof TimeoutError) {
        i.stats.timeouts++;
        return 'timeout' as const;
      }
      i.unexpected.push(error);
      return 'unexpected' as const;
    }
  };

  const loop = async (i: Instance) => {
    while (i.looping) {
      await call(i);
      // A pace, not a state: each instance calls about every 20 ms.
      await sleep(20);
    }
  };

  return {
    instances,
    go(which = instances) {
      for (const i of which) {
        if (i.looping) continue;
        i.looping = true;
        loops.push(loop(i));
      }
    },
    call,
    close: closeAll,
  };
}

/** The shared circuit's state as the store holds it (`closed` for no record), from its `c` field. */
export function storedState(circuit: string | null | undefined): string {
  if (circuit === null || circuit === undefined || circuit === '') return 'closed';
  return decodeCircuit(circuit)?.state ?? 'closed';
}

/** Whether every instance in `which` shows `state` now. */
export const allShow = (which: readonly Instance[], state: string): boolean => which.every((i) => i.breaker.state === state);

/** The first transition of `i` to `to` at or after `after`, or undefined. */
export const firstTo = (i: Instance, to: string, after: number) => i.states.find((e) => e.to === to && e.at >= after);

/** What the fleet did in one round of an upstream outage, after the event under test. */
export interface OutageRound {
  /**
   * Upstream calls that failed from the moment the upstream failed until every instance knew the circuit was open
   * (calls already in flight when it failed included).
   */
  readonly callsBeforeStop: number;
  /** Of those, each instance's (in the order of `which`): a diagnosis when the total is over its bound. */
  readonly failedBy: number[];
  /** ms from the upstream failing to each instance open. */
  readonly openedAfter: number[];
  /** ms from the upstream failing to every instance open. */
  readonly stopMs: number;
  /** Gaps between successive probes while the upstream stayed down (ms). */
  readonly probeGaps: number[];
  /** Upstream calls from the upstream healing to the first instance seeing closed: the probe that closes. */
  readonly probesToClose: number;
  /** ms from the first instance to the last one seeing closed. */
  readonly closeSpreadMs: number;
}

/**
 * The upstream fails until the fleet opened and sent `probes` probes, then heals until every instance is closed.
 * `which`: the instances whose loops run (all of them must see each state).
 */
export async function outageRound(which: readonly Instance[], upstream: Upstream, recovery: number, probes = 2): Promise<OutageRound> {
  const failures = () => which.reduce((n, i) => n + i.stats.failed, 0);
  const failedBefore = failures();
  const failedBy0 = new Map(which.map((i) => [i, i.stats.failed]));
  upstream.mode = 'fail';
  const failed = Date.now();
  await untilOrThrow(() => which.every((i) => firstTo(i, 'open', failed) !== undefined), 15_000);
  const stopped = Math.max(...which.map((i) => firstTo(i, 'open', failed)?.at as number)) + 1;
  // Callers whose upstream call failed: once every instance knew, only probes go out, and a probe's failure reopens.
  const callsBeforeStop = failures() - failedBefore;
  const failedBy = which.map((i) => i.stats.failed - (failedBy0.get(i) ?? 0));
  const openedAfter = which.map((i) => (firstTo(i, 'open', failed)?.at as number) - failed);
  const since = () => upstream.hits.filter((t) => t >= stopped).sort((a, b) => a - b);
  await untilOrThrow(() => since().length >= probes, (probes + 4) * recovery);
  const seen = since().slice(0, probes);
  const probeGaps = seen.slice(1).map((t, k) => t - (seen[k] as number));
  upstream.mode = 'ok';
  const healed = Date.now();
  await untilOrThrow(() => which.every((i) => firstTo(i, 'closed', healed) !== undefined), 5 * recovery + 5_000);
  const closedAt = which.map((i) => firstTo(i, 'closed', healed)?.at as number);
  const firstClosed = Math.min(...closedAt);
  return {
    callsBeforeStop,
    failedBy,
    openedAfter,
    stopMs: stopped - failed,
    probeGaps,
    probesToClose: upstream.hits.filter((t) => t >= healed && t < firstClosed).length,
    closeSpreadMs: Math.max(...closedAt) - firstClosed,
  };
}

/** Waits until `check` holds, and returns when it first did (wall-clock ms), or throws after `ms`. */
export async function when(check: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  if (!(await until(check, ms))) throw new Error(`condition not met within ${ms} ms`);
  return Date.now();
}

/**
 * Applies a manual control on `by` until every instance in `which` shows `state`, and returns when they all did. A
 * control made during a store fault stays local, and the shared state replaces it when the store answers: on a busy
 * machine a store call may time out, so the control is made again every few seconds until the fleet shows it.
 */
export async function controlled(
  by: Instance,
  op: 'forceOpen' | 'disable' | 'close',
  which: readonly Instance[],
  state: string,
  ms = 30_000,
): Promise<number> {
  const end = Date.now() + ms;
  for (;;) {
    by.breaker[op]();
    if (await until(() => which.every((i) => i.breaker.state === state), 5_000)) return Date.now();
    if (Date.now() > end) throw new Error(`${op}() did not reach every instance within ${ms} ms`);
  }
}
