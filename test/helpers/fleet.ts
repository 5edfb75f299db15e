// Spawns the fleet test's worker processes and an HTTP upstream on 127.0.0.1.
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface Upstream {
  readonly url: string;
  /** When each request was sent (its `x-sent-at` header; its arrival without one), in arrival order. */
  readonly hits: number[];
  /** 'fail' answers 500, 'ok' answers 200. */
  mode: 'fail' | 'ok';
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const hits: number[] = [];
  const state = { mode: 'fail' as 'fail' | 'ok' };
  const server: Server = createServer((req, res) => {
    // When the caller sent it (same machine, same clock): a call sent before the fleet knew may arrive late.
    const sent = Number(req.headers['x-sent-at']);
    hits.push(Number.isFinite(sent) && sent > 0 ? sent : Date.now());
    res.statusCode = state.mode === 'ok' ? 200 : 500;
    res.end(state.mode);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/quote`,
    hits,
    get mode() {
      return state.mode;
    },
    set mode(m) {
      state.mode = m;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface WorkerMessage {
  type: string;
  to?: string;
  source?: string;
  at?: number;
  state?: string;
  stats?: Record<string, number>;
  reason?: string;
  /** In a report: when the worker could not run, as `[start, end]` wall-clock ms (its most recent gaps). */
  stalls?: Array<[number, number]>;
}

/** How long, in ms, the gaps in `stalls` cover of the time from `from` to `to`. */
export function stalledWithin(stalls: ReadonlyArray<readonly [number, number]>, from: number, to: number): number {
  let total = 0;
  for (const [start, end] of stalls) total += Math.max(0, Math.min(end, to) - Math.max(start, from));
  return total;
}

export interface Worker {
  readonly index: number;
  readonly child: ChildProcess;
  readonly messages: WorkerMessage[];
  send(message: object): void;
}

const workerFile = fileURLToPath(new URL('../redis/fleet-worker.ts', import.meta.url));

/** Forks `n` workers (half ioredis, half node-redis; the last `withoutSubscriber` re-read instead of subscribing). */
export async function startFleet(n: number, env: Record<string, string>, withoutSubscriber: number): Promise<Worker[]> {
  const workers: Worker[] = [];
  for (let i = 0; i < n; i++) {
    const child = fork(workerFile, [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        ...env,
        CLIENT: i % 2 === 0 ? 'ioredis' : 'node-redis',
        SUBSCRIBER: i >= n - withoutSubscriber ? '0' : '1',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const messages: WorkerMessage[] = [];
    child.on('message', (m) => messages.push(m as WorkerMessage));
    workers.push({ index: i, child, messages, send: (m) => child.connected && child.send(m) });
  }
  try {
    // A deadline, not a wait: a busy machine takes minutes to start 20 Node processes that compile TypeScript.
    await until(() => workers.every((w) => w.messages.some((m) => m.type === 'ready')), 180_000);
  } catch (error) {
    for (const w of workers) w.child.kill('SIGKILL');
    throw error;
  }
  return workers;
}

export async function stopFleet(workers: Worker[]): Promise<void> {
  for (const w of workers) w.send({ type: 'stop' });
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.child.exitCode !== null) return resolve();
          const timer = setTimeout(() => {
            w.child.kill('SIGKILL');
            resolve();
          }, 3_000);
          w.child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
}

export async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Asks every worker for its stats. */
export async function reports(workers: Worker[]): Promise<WorkerMessage[]> {
  const before = workers.map((w) => w.messages.length);
  for (const w of workers) w.send({ type: 'report' });
  await until(() => workers.every((w, i) => w.messages.slice(before[i]).some((m) => m.type === 'report')), 5_000);
  return workers.map((w, i) => w.messages.slice(before[i]).find((m) => m.type === 'report') as WorkerMessage);
}
