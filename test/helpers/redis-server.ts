// Starts a private redis-server on a free port for one test file, and stops it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
const BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

/** Whether redis-server is installed. In CI its absence is an error, never a skip. */
export function redisAvailable(): boolean {
  const found = spawnSync(BIN, ['--version']).status === 0;
  if (!found && process.env.CI === 'true') {
    throw new Error('redis-server is not installed: the fleet tests need it in CI (apt-get install -y redis-server)');
  }
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function waitUntilReady(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() === 'PONG'
    )
      return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`redis-server on port ${port} did not start`);
}

/** `extraArgs`: more server options (`--enable-debug-command yes` for DEBUG SLEEP, say). */
export async function startRedis(extraArgs: readonly string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'breakwater-redis-'));
  const pidfile = join(dir, 'redis.pid');
  const start = async () => {
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
    await waitUntilReady(port);
  };
  await start();
  const pid = () => Number(readFileSync(pidfile, 'utf8').trim());
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid,
    start,
    kill() {
      try {
        process.kill(pid(), 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(pidfile, { force: true });
    },
    stop() {
      try {
        process.kill(pid(), 'SIGCONT');
      } catch {
        // not running
      }
      spawnSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
