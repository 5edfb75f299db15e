// An idle fleet breaker holds no timer and keeps no process alive: a process that made its calls, went idle and
// closed its Redis connections exits on its own (with or without dispose()).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

const worker = fileURLToPath(new URL('./idle-exit-worker.ts', import.meta.url));

/**
 * Runs the worker. It must exit on its own within 10 s of closing its clients (it reports `closed`); the time it
 * takes to get there is bounded only by `START_BOUND` (a busy machine starts processes slowly).
 */
const EXIT_BOUND = 10_000;
const START_BOUND = 100_000;
function run(env: Record<string, string>): Promise<{
  exited: boolean;
  code: number | null;
  lines: Array<{ what: string; data: { created?: number; timers?: number; errors?: string[] } }>;
}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const parse = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
    const kill = () => {
      child.kill('SIGKILL');
      resolve({ exited: false, code: null, lines: parse() });
    };
    let timer = setTimeout(kill, START_BOUND);
    let closed = false;
    child.stdout.on('data', (d) => {
      out += d;
      if (closed || !out.includes('"what":"closed"')) return;
      closed = true;
      clearTimeout(timer);
      timer = setTimeout(kill, EXIT_BOUND);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ exited: true, code, lines: parse() });
    });
  });
}

describe.skipIf(!redisAvailable())('an idle fleet process exits on its own', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(() => server?.stop());

  for (const client of ['ioredis', 'node-redis']) {
    for (const dispose of ['0', '1']) {
      it(
        `${client}, dispose ${dispose === '1' ? 'called' : 'not called'}: no timer while idle, exits after closing its clients`,
        async () => {
          const r = await run({ REDIS_PORT: String(server.port), CLIENT: client, DISPOSE: dispose });
          const idle = r.lines.find((l) => l.what === 'idle')?.data;
          const closed = r.lines.find((l) => l.what === 'closed')?.data;
          expect(idle?.created).toBeGreaterThan(0); // the library's timers were seen (store calls)
          expect(idle?.timers).toBe(0);
          expect(closed?.timers).toBe(0);
          expect({ idle: idle?.errors, closed: closed?.errors }).toEqual({ idle: [], closed: [] }); // no store fault logged
          expect({ exited: r.exited, code: r.code }).toEqual({ exited: true, code: 0 });
        },
        START_BOUND + EXIT_BOUND + 10_000,
      );
    }
  }
});
