// A Sentinel group for one test file, from the system redis-server on free ports: a primary, one replica and three
// Sentinels (each with its own configuration file, which it rewrites), every file in one temporary directory.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sleep } from './real-time.js';
import { BIN, cli, freePort, processAlive, serverIn, waitFor } from './redis-server.js';

/** The name the Sentinels monitor the primary under. */
export const MASTER_NAME = 'mymaster';

export interface SentinelGroup {
  /** The primary's port when the group started. */
  readonly primary: number;
  readonly replica: number;
  /** `{ host, port }` of each Sentinel, for a client's `sentinels`. */
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** The port the Sentinels name as the primary now (asked of the first that answers; 0 if none does). */
  master(): Promise<number>;
  /** Waits until every Sentinel names another primary than `port`, and that one answers as a master. */
  failedOver(port: number, ms?: number): Promise<number>;
  /** SIGKILLs the node on `port` (the primary or the replica). */
  kill(port: number): void;
  /** The process id of the node on `port`. */
  pidOf(port: number): number;
  /** Kills every process of the group and removes its files. */
  stop(): Promise<void>;
}

export interface SentinelGroupOptions {
  /**
   * Where the replica finds the primary: given the primary's port, the port to replicate from (a proxy, say).
   * Default: the primary itself.
   */
  readonly replicateVia?: (primary: number) => number | Promise<number>;
}

/** Starts the primary, its replica (once in sync) and three Sentinels that agree on the primary. */
export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  const root = mkdtempSync(join(tmpdir(), 'breakwater-sentinel-'));
  const nodes = new Map<number, ReturnType<typeof serverIn>>();
  const sentinelPids: string[] = [];
  const closers: (() => void)[] = [];
  const pidOf = (port: number): number => {
    const node = nodes.get(port);
    if (node === undefined) throw new Error(`no node on port ${port}`);
    return node.pid();
  };
  const stop = async () => {
    for (const close of closers) close();
    const pids: number[] = [];
    for (const node of nodes.values()) {
      try {
        pids.push(node.pid());
      } catch {
        // not running (killed by the test)
      }
    }
    for (const file of sentinelPids) {
      try {
        pids.push(Number(readFileSync(file, 'utf8').trim()));
      } catch {
        // never started
      }
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      await waitFor(() => !pids.some((pid) => pid > 0 && processAlive(pid)), 'the Sentinel group did not exit', 5_000);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
  try {
    const node = async (name: string, extra: readonly string[]) => {
      const port = await freePort();
      const dir = join(root, name);
      mkdirSync(dir);
      const server = serverIn(dir, port, extra);
      nodes.set(port, server);
      await server.start();
      return port;
    };
    const primary = await node('primary', []);
    const via = (await options.replicateVia?.(primary)) ?? primary;
    const replica = await node('replica', ['--replicaof', '127.0.0.1', String(via)]);
    await waitFor(() => cli(replica, 'info', 'replication').includes('master_link_status:up'), 'the replica did not sync', 15_000);
    const sentinels: { host: string; port: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dir = join(root, `sentinel-${i}`);
      mkdirSync(dir);
      const conf = join(dir, 'sentinel.conf');
      const pidfile = join(dir, 'sentinel.pid');
      sentinelPids.push(pidfile);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'daemonize yes',
          `pidfile ${pidfile}`,
          `logfile ${join(dir, 'sentinel.log')}`,
          `dir ${dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 6000`,
          '',
        ].join('\n'),
      );
      execFileSync(BIN, [conf, '--sentinel']);
      sentinels.push({ host: '127.0.0.1', port });
    }
    // Ready once every Sentinel knows the replica and the other two Sentinels: a failover needs them.
    const ready = (port: number) => {
      const info = cli(port, 'info', 'sentinel');
      return info.includes('status=ok') && info.includes('slaves=1') && info.includes('sentinels=3');
    };
    await waitFor(() => sentinels.every((s) => ready(s.port)), 'the Sentinels did not discover each other', 20_000);
    // Asked over connections of their own, never with a blocking child process: the test's instances run meanwhile.
    const ask = new Map<number, Redis>();
    const conn = (port: number) => {
      let c = ask.get(port);
      if (c === undefined) {
        c = new Redis({
          port,
          host: '127.0.0.1',
          lazyConnect: true,
          enableOfflineQueue: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => 100,
        });
        c.on('error', () => {});
        ask.set(port, c);
      }
      return c;
    };
    closers.push(() => {
      for (const c of ask.values()) c.disconnect();
    });
    const answer = async (port: number, ...args: string[]): Promise<unknown> => {
      try {
        return await Promise.race([conn(port).call(args[0] as string, ...args.slice(1)), sleep(1_000).then(() => undefined)]);
      } catch {
        return undefined;
      }
    };
    const masterSeenBy = async (port: number): Promise<number> => {
      const addr = await answer(port, 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME);
      return Array.isArray(addr) ? Number(addr[1]) : 0;
    };
    return {
      primary,
      replica,
      sentinels,
      async master() {
        for (const s of sentinels) {
          const port = await masterSeenBy(s.port);
          if (port > 0) return port;
        }
        return 0;
      },
      async failedOver(port, ms = 20_000) {
        const end = Date.now() + ms;
        for (;;) {
          const seen = await Promise.all(sentinels.map((s) => masterSeenBy(s.port)));
          const next = seen[0] ?? 0;
          if (next !== port && next > 0 && seen.every((p) => p === next)) {
            const role = await answer(next, 'ROLE');
            if (Array.isArray(role) && role[0] === 'master') return next;
          }
          if (Date.now() > end) throw new Error(`no Sentinel failover away from ${port} in ${ms} ms`);
          await sleep(20);
        }
      },
      kill: (port) => nodes.get(port)?.kill(),
      pidOf,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
