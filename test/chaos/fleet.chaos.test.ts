// Randomised multi-process chaos against a real redis-server: N worker processes share one breaker while the
// test kills their Redis connections (CLIENT KILL), pauses Redis (CLIENT PAUSE) and blocks it (DEBUG SLEEP), and
// the upstream flaps. Then Redis is left healthy and the invariants of docs/fleet.md are checked.
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/fleet.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';

const N = Number(process.env.CHAOS_N ?? 8);
const RECOVERY = 500;
const PROBE_WAIT = 1_000;
const CHAOS_MS = Number(process.env.CHAOS_MS ?? 10_000);
const UPSTREAM_DELAY = 100;
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
let s = seed;
const rand = () => {
  s = (s * 1103515245 + 12345) % 2147483648;
  return s / 2147483648;
};

interface Msg {
  type: string;
  to?: string;
  from?: string;
  reason?: string;
  state?: string;
  at?: number;
}
interface W {
  child: ChildProcess;
  messages: Msg[];
  exited: boolean;
  killed: boolean;
}

describe.skipIf(!redisAvailable())(`chaos: ${N} processes, connections killed, Redis paused and blocked`, () => {
  let port = 0;
  let redis: RedisServer | undefined;
  let admin: Redis;
  let server: Server;
  let upstreamUrl = '';
  const up = { mode: 'fail' as 'fail' | 'ok', inFlight: 0, maxInFlight: 0, hits: [] as number[] };
  const workers: W[] = [];

  beforeAll(async () => {
    redis = await startRedis(['--enable-debug-command', 'yes']);
    port = redis.port;
    admin = new Redis({ port, host: '127.0.0.1' });
    admin.on('error', () => {});
    server = createServer((_req, res) => {
      up.hits.push(Date.now());
      up.inFlight++;
      up.maxInFlight = Math.max(up.maxInFlight, up.inFlight);
      const mode = up.mode;
      setTimeout(() => {
        up.inFlight--;
        res.statusCode = mode === 'ok' ? 200 : 500;
        res.end(mode);
      }, UPSTREAM_DELAY);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    upstreamUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
    const file = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));
    for (let i = 0; i < N; i++) {
      const child = fork(file, [], {
        execArgv: ['--import', 'tsx'],
        env: {
          ...process.env,
          REDIS_PORT: String(port),
          UPSTREAM_URL: upstreamUrl,
          RECOVERY: String(RECOVERY),
          PROBE_WAIT: String(PROBE_WAIT),
          CLIENT: i % 2 === 0 ? 'ioredis' : 'node-redis',
          SUBSCRIBER: i < N - 2 ? '1' : '0',
          INDEX: String(i),
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const w: W = { child, messages: [], exited: false, killed: false };
      child.on('message', (m) => w.messages.push(m as Msg));
      child.on('exit', () => {
        w.exited = true;
      });
      workers.push(w);
    }
    await until(() => workers.every((w) => w.messages.some((m) => m.type === 'ready')), 60_000);
  }, 90_000);

  afterAll(async () => {
    for (const w of workers) if (!w.exited && w.child.pid !== undefined) w.child.kill('SIGKILL');
    admin?.disconnect();
    await new Promise<void>((r) => {
      if (server === undefined) return r();
      server.closeAllConnections();
      server.close(() => r());
    });
    redis?.stop();
  }, 30_000);

  const report = async () => {
    const before = workers.map((w) => w.messages.length);
    for (const w of workers) if (w.child.connected) w.child.send({ type: 'report' });
    await until(() => workers.every((w, i) => w.messages.slice(before[i]).some((m) => m.type === 'report')), 5_000);
    return workers.map((w, i) => w.messages.slice(before[i]).find((m) => m.type === 'report')?.state);
  };

  it(`keeps the guarantees (seed ${seed})`, async () => {
    for (const w of workers) w.child.send({ type: 'go' });
    const chaosLog: string[] = [];
    const end = Date.now() + CHAOS_MS;
    let flipAt = Date.now();
    while (Date.now() < end) {
      if (Date.now() >= flipAt) {
        up.mode = rand() < 0.5 ? 'fail' : 'ok';
        flipAt = Date.now() + 300 + rand() * 1200;
      }
      const r = rand();
      try {
        if (r < 0.25) {
          chaosLog.push('kill normal');
          await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
        } else if (r < 0.4) {
          chaosLog.push('kill pubsub');
          await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
        } else if (r < 0.6) {
          const ms = Math.floor(50 + rand() * 400);
          chaosLog.push(`pause ${ms}`);
          await admin.call('CLIENT', 'PAUSE', String(ms), rand() < 0.5 ? 'ALL' : 'WRITE');
        } else if (r < 0.75) {
          const sec = (0.05 + rand() * 0.3).toFixed(2);
          chaosLog.push(`debug sleep ${sec}`);
          await admin.call('DEBUG', 'SLEEP', sec);
        } else {
          const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'normal'));
          const ids = [...list.matchAll(/id=(\d+)/g)].map((m) => m[1] as string);
          const id = ids[Math.floor(rand() * ids.length)];
          if (id) {
            chaosLog.push(`kill id ${id}`);
            await admin.call('CLIENT', 'KILL', 'ID', id).catch(() => {});
          }
        }
      } catch (error) {
        chaosLog.push(`chaos error ${String(error)}`);
      }
      // A pace, not a state: the next fault comes 100–500 ms later.
      await new Promise((r) => setTimeout(r, 100 + rand() * 400));
    }
    await admin.call('CLIENT', 'UNPAUSE').catch(() => {});

    if (process.env.CHAOS_TIGHT === '1') {
      // Redis and the upstream are healthy from now on: within maxProbeWait + recoveryTimeout (+ one probe and a sync), all closed.
      up.mode = 'ok';
      // Time, not a state: this bound is what is checked.
      await new Promise((r) => setTimeout(r, PROBE_WAIT + RECOVERY + UPSTREAM_DELAY + 300));
      const tight = await report();
      console.log(
        'TIGHT',
        JSON.stringify({ seed, tight, last: workers.map((w) => w.messages.filter((m) => m.type !== 'report').slice(-3)) }),
      );
      for (const w of workers) if (w.child.connected) w.child.send({ type: 'stop' });
      await until(() => workers.every((w) => w.exited), 8_000).catch(() => {});
      expect(workers.flatMap((w) => w.messages.filter((m) => m.type === 'unhandled'))).toEqual([]);
      expect(tight).toEqual(workers.map(() => 'closed'));
      expect(workers.filter((w) => !w.exited).length).toBe(0);
      return;
    }
    // Redis healthy from now on; the upstream is down.
    up.mode = 'fail';
    const healthy = Date.now();
    // Time, not a state: the probe leases taken during the chaos end by then (maxProbeWait), and a window more.
    await new Promise((r) => setTimeout(r, PROBE_WAIT + RECOVERY + 1_000));
    // Invariant 1: at most halfOpenProbes (1) upstream calls in flight fleet-wide while the fleet is open.
    up.maxInFlight = up.inFlight;
    const from = up.hits.length;
    const watchFrom = Date.now();
    // Time, not a state: probes are counted over about 3 s, bounded by how long that really was.
    await new Promise((r) => setTimeout(r, 3_000));
    const probes = up.hits.length - from;
    const watched = Date.now() - watchFrom;
    const maxInFlight = up.maxInFlight;

    // Invariant 2: once the upstream heals, no instance stays open or half-open after maxProbeWait + recoveryTimeout.
    up.mode = 'ok';
    const healed = Date.now();
    // Time, not a state: this bound is what is checked.
    await new Promise((r) => setTimeout(r, PROBE_WAIT + RECOVERY + 500));
    const states = await report();

    // Invariant 3: no unhandled rejection; Invariant 4: every process exits on its own once stopped.
    for (const w of workers) if (w.child.connected) w.child.send({ type: 'stop' });
    await until(() => workers.every((w) => w.exited), 8_000).catch(() => {});
    const notExited = workers.map((w, i) => (w.exited ? -1 : i)).filter((i) => i >= 0);
    const unhandled = workers.flatMap((w) => w.messages.filter((m) => m.type === 'unhandled'));

    const summary = {
      seed,
      chaos: chaosLog.length,
      probes,
      watched,
      maxInFlight,
      states,
      notExited,
      unhandled,
      healthyFor: healed - healthy,
      lastStates: workers.map((w) => w.messages.filter((m) => m.type === 'state' || m.type.startsWith('store')).slice(-4)),
    };
    console.log(JSON.stringify(summary, null, 1));
    expect(unhandled).toEqual([]);
    expect(maxInFlight).toBeLessThanOrEqual(1);
    expect(probes).toBeLessThanOrEqual(Math.ceil(watched / RECOVERY) + 1);
    expect(states).toEqual(workers.map(() => 'closed'));
    expect(notExited).toEqual([]);
  }, 120_000);
});
