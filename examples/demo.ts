/**
 * `npm run demo`: the quote API (a Lambda behind the serverless-offline API Gateway emulator)
 * and the consumer page pointed at it. Prints both URLs and how to inject a fault; Ctrl-C or
 * SIGTERM stops both, process groups and all.
 *
 * Environment: GATEWAY_PORT (4000), LAMBDA_PORT (4002), PORT (3000), FAULT_API_KEY (demo-key),
 * and the consumer's FAILURE_THRESHOLD, RECOVERY_TIMEOUT, REQUEST_TIMEOUT, MAX_CONCURRENT, passed through.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { faultFromEnv } from './lambda/faults.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';

function port(name: string, fallback: number): number {
  const raw = process.env[name]?.trim() || String(fallback);
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 65_535) {
    process.stderr.write(`demo: ${name} must be a port number from 1 to 65535; got ${JSON.stringify(process.env[name])}\n`);
    process.exit(2);
  }
  return value;
}

const gatewayPort = port('GATEWAY_PORT', 4000);
const lambdaPort = port('LAMBDA_PORT', 4002);
const consumerPort = port('PORT', 3000);
const gatewayUrl = `http://${HOST}:${gatewayPort}`;
const consumerUrl = `http://${HOST}:${consumerPort}`;
const apiKey = process.env.FAULT_API_KEY || 'demo-key';
// The Lambda reads FAULT_* when it loads; the emulator would answer its load error with a 200. Checked here.
try {
  faultFromEnv(process.env);
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}\n`);
  process.exit(2);
}

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<void>;
}

const children: Child[] = [];
let stopping = false;

/** Starts a child in its own process group (detached), so stopping it stops everything it started. */
function start(name: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const label = `${name.padEnd(8)} │ `;
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${label}${line}\n`));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const entry = { name, process: child, exited };
  children.push(entry);
  child.once('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`demo: ${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping.\n`);
    void stop(1);
  });
  return entry;
}

const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

const signalGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
};

let stopped: Promise<never> | undefined;

/**
 * SIGTERM to each child's group; SIGKILL for whatever is left after 5 s. Idempotent: a second
 * signal (Ctrl-C reaches npm and us; npm then sends SIGTERM) waits for the same shutdown.
 */
function stop(code: number): Promise<never> {
  stopped ??= (async () => {
    stopping = true;
    await Promise.all(
      children.map(async ({ process: child, exited }) => {
        const pid = child.pid;
        if (pid === undefined) return;
        signalGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), 5_000);
        await exited;
        // The leader is gone; anything it left in its group goes too.
        for (let i = 0; i < 50 && groupAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
        if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
        clearTimeout(timer);
      }),
    );
    process.stdout.write('demo: stopped.\n');
    process.exit(code);
  })();
  return stopped;
}

/** Polls `url` until it answers 200 with a body `accept` takes, or fails after `ms`. */
async function waitFor(url: string, ms: number, accept: (body: string) => boolean = () => true): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (stopping) return new Promise(() => {});
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      const body = await res.text();
      if (res.ok && accept(body)) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// The terminal closed: the children, in groups of their own, would not hear of it.
process.on('SIGHUP', () => void stop(0));
// If whatever started us goes away without passing on a signal, stop too: never leave orphans.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 1_000).unref();

const baseEnv = { ...process.env, GATEWAY_PORT: String(gatewayPort), LAMBDA_PORT: String(lambdaPort), FAULT_API_KEY: apiKey };
const gateway = start('gateway', [`${root}node_modules/serverless/bin/serverless.js`, 'offline', 'start'], `${root}examples/lambda`, {
  ...baseEnv,
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
});
try {
  // The emulator answers 200 even when the handler failed to load: the body must be the API's.
  await waitFor(`${gatewayUrl}/stats`, 30_000, (body) => body.includes('"invocations"'));
} catch (error) {
  process.stderr.write(`demo: the gateway did not start: ${(error as Error).message}\n`);
  await stop(1);
}
const consumer = start('consumer', ['--import', 'tsx', 'examples/consumer/server.ts'], root, {
  ...baseEnv,
  HOST,
  PORT: String(consumerPort),
  BASE_URL: gatewayUrl,
});
try {
  await waitFor(`${consumerUrl}/healthz`, 30_000);
} catch (error) {
  process.stderr.write(`demo: the consumer did not start: ${(error as Error).message}\n`);
  await stop(1);
}

const curl = (mode: string) => `curl -X PUT -H 'x-api-key: ${apiKey}' -d '{"mode":"${mode}"}' ${gatewayUrl}/fault`;
process.stdout.write(`
  breakwater demo is running

  Page (consumer):          ${consumerUrl}   (pid ${consumer.process.pid})
  Quote API (gateway):      ${gatewayUrl}/quote   (pid ${gateway.process.pid})

  Break the API, then reload the page a few times and watch the panel:
    ${curl('error')}
  Other modes: slow, flaky. Heal it:
    ${curl('none')}

  Press Ctrl-C to stop both.

`);
