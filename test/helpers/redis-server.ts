// Starts a private redis-server (or a Redis Cluster of 3 masters, with or without replicas) on free ports for one test
// file, and stops it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The server's process id (for SIGSTOP / SIGCONT / SIGKILL in fault tests). */
  pid(): number;
  /** Starts it again on the same port (after `kill`). */
  start(): Promise<void>;
  /** SIGKILL: the server disappears without a word. */
  kill(): void;
  stop(): void;
}

/** The server binary (override to test what happens without one). */
export const BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

/** Whether redis-server is installed. In CI its absence is an error, never a skip. */
export function redisAvailable(): boolean {
  const found = spawnSync(BIN, ['--version']).status === 0;
  if (!found && process.env.CI === 'true') {
    throw new Error('redis-server is not installed: the fleet tests need it in CI (apt-get install -y redis-server)');
  }
  return found;
}

/** Whether `port` can be listened on now; `0` asks the system for one. Resolves with the port, or 0 when taken. */
function listenable(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(0));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export async function freePort(): Promise<number> {
  const port = await listenable(0);
  if (port === 0) throw new Error('no free port');
  return port;
}

/** The cluster bus of a cluster node listens on its port + 10000. */
const BUS_OFFSET = 10_000;

/** A free port whose cluster bus port is free too. */
async function freeClusterPort(taken: ReadonlySet<number>): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = await freePort();
    const bus = port + BUS_OFFSET;
    if (bus > 65_535 || taken.has(port) || taken.has(bus)) continue;
    if ((await listenable(bus)) === bus) return port;
  }
  throw new Error('no free port with a free cluster bus port');
}

export const cli = (port: number, ...args: string[]): string =>
  spawnSync('redis-cli', ['-p', String(port), ...args])
    .stdout?.toString()
    .trim() ?? '';

export async function waitFor(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** One redis-server process on `port`, its files in `dir`. */
export function serverIn(dir: string, port: number, extraArgs: readonly string[]) {
  const pidfile = join(dir, 'redis.pid');
  const pid = () => Number(readFileSync(pidfile, 'utf8').trim());
  return {
    pid,
    async start() {
      execFileSync(BIN, [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'yes',
        '--pidfile',
        pidfile,
        '--logfile',
        join(dir, 'redis.log'),
        '--dir',
        dir,
        ...extraArgs,
      ]);
      await waitFor(() => cli(port, 'ping') === 'PONG', `redis-server on port ${port} did not start`);
    },
    kill() {
      try {
        process.kill(pid(), 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(pidfile, { force: true });
    },
    /** Shuts it down; returns the process id it had (0 if none), to check that it is gone. */
    shutdown(): number {
      let id = 0;
      try {
        id = pid();
        process.kill(id, 'SIGCONT');
      } catch {
        // not running
      }
      cli(port, 'shutdown', 'nosave');
      return id;
    },
  };
}

/** `extraArgs`: more server options (`--enable-debug-command yes` for DEBUG SLEEP, say). */
export async function startRedis(extraArgs: readonly string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'breakwater-redis-'));
  const server = serverIn(dir, port, extraArgs);
  await server.start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: server.pid,
    start: server.start,
    kill: server.kill,
    stop() {
      server.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  /** The masters' ports when the cluster formed, in the order they were started. */
  readonly ports: readonly number[];
  /** Every node's port (masters and replicas), in the order they were started. */
  readonly all: readonly number[];
  /** `{ host, port }` of every master, for a cluster client's start-up nodes. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** The directory that holds every node's files (its cluster config file, log and pid file). */
  readonly dir: string;
  /** The nodes' process ids. */
  pids(): number[];
  /** The process id of the node on `port`. */
  pidOf(port: number): number;
  /** SIGKILLs the node on `port`: it disappears without a word. */
  kill(port: number): void;
  /** Stops every node and waits for its process to end; removes the files. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Replicas per master (default 0). */
  readonly replicas?: number;
  /** `cluster-node-timeout` in ms (default 5000): how long a node may be unreachable before a failover. */
  readonly nodeTimeout?: number;
}

/**
 * A Redis Cluster of `masters` masters, each with `replicas` replicas, each slot served (`cluster-require-full-coverage
 * no`: the slots of a master that dies unreplaced are lost, the others still served); resolves once every node
 * reports `cluster_state:ok`. Stopped by `stop()`, or at once if it fails to form.
 */
export async function startRedisCluster(masters = 3, options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const replicas = options.replicas ?? 0;
  const total = masters * (1 + replicas);
  const root = mkdtempSync(join(tmpdir(), 'breakwater-cluster-'));
  const all: number[] = [];
  const servers = new Map<number, ReturnType<typeof serverIn>>();
  const taken = new Set<number>();
  const stop = async () => {
    const pids = [...servers.values()].map((s) => s.shutdown());
    try {
      await waitFor(() => !pids.some((pid) => pid > 0 && processAlive(pid)), 'cluster nodes did not exit', 5_000);
    } finally {
      // Only a node that ignored SHUTDOWN is still running by now (its pid is still its own).
      for (const pid of pids) if (pid > 0 && processAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  };
  const serverOf = (port: number) => {
    const server = servers.get(port);
    if (server === undefined) throw new Error(`no cluster node on port ${port}`);
    return server;
  };
  let ports: number[] = [];
  try {
    for (let i = 0; i < total; i++) {
      const port = await freeClusterPort(taken);
      taken.add(port).add(port + BUS_OFFSET);
      const dir = join(root, String(port));
      mkdirSync(dir);
      const server = serverIn(dir, port, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        String(options.nodeTimeout ?? 5_000),
        '--cluster-require-full-coverage',
        'no',
      ]);
      servers.set(port, server);
      await server.start();
      all.push(port);
    }
    const created = spawnSync('redis-cli', [
      '--cluster',
      'create',
      ...all.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    const ok = (port: number) => {
      const info = cli(port, 'cluster', 'info');
      return info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && info.includes(`cluster_known_nodes:${total}`);
    };
    await waitFor(() => all.every(ok), 'the cluster did not reach cluster_state:ok', 15_000);
    if (replicas > 0) {
      // Every replica has its master's data before the cluster is handed over.
      const linked = (port: number) => {
        const role = cli(port, 'role').split('\n');
        return role[0] === 'master' || role.includes('connected');
      };
      await waitFor(() => all.every(linked), 'the replicas did not finish syncing', 15_000);
    }
    ports = all.filter((port) => cli(port, 'role').split('\n')[0] === 'master');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ports,
    all,
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    dir: root,
    pids: () => [...servers.values()].map((s) => s.pid()),
    pidOf: (port) => serverOf(port).pid(),
    kill: (port) => serverOf(port).kill(),
    stop,
  };
}
