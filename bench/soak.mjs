// Soak: 1,000,000 mixed calls (successes, failures, neutral errors, timeouts, caller signals, bursts
// that open the circuit) with the heap sampled after GC. Passes when the heap is flat after warm-up
// and no timer or abort listener is left behind.
//
//   npm run soak                       1,000,000 calls
//   npm run soak -- --calls 200000     fewer
//   npm run soak -- --json [file]      also write the results as JSON
import { createHook } from 'node:async_hooks';
import { getEventListeners, setMaxListeners } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CircuitBreaker, CircuitOpenError, countWindow, TimeoutError, timeWindow } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const arg = (name) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : (argv[i + 1] ?? true);
};
const CALLS = Number(arg('--calls') ?? 1_000_000);
const JSON_OUT = arg('--json');
const SAMPLES = 20;
const CONCURRENCY = 64;
const TIMEOUT_MS = 5;

if (typeof globalThis.gc !== 'function') throw new Error('run node with --expose-gc');

class NeutralError extends Error {}
const isFailure = (e) => !(e instanceof NeutralError);

// Every timer created from here on, ref'd or not, until it fires or is cleared.
const liveTimers = new Set();
createHook({
  init(id, type) {
    if (type === 'Timeout') liveTimers.add(id);
  },
  destroy(id) {
    liveTimers.delete(id);
  },
}).enable();

/** Most calls: the fast path (no timeout, no signal). */
const fast = new CircuitBreaker({
  name: 'soak-fast',
  failureRateThreshold: 0.5,
  minimumCalls: 20,
  window: countWindow(100),
  recoveryTimeout: 20,
  isFailure,
});
/** One call in five: a per-call timeout and a caller signal (the guarded path), in a time window. */
const guarded = new CircuitBreaker({
  name: 'soak-guarded',
  failureRateThreshold: 0.5,
  minimumCalls: 20,
  window: timeWindow({ duration: 100 }),
  recoveryTimeout: 20,
  timeout: TIMEOUT_MS,
  isFailure,
});
const caller = new AbortController();
// One signal shared by every guarded call, as a request's signal is shared by the calls it makes:
// with 64 workers, a dozen calls hold a listener on it at once.
setMaxListeners(CONCURRENCY, caller.signal);
const transitions = { 'soak-fast': 0, 'soak-guarded': 0 };
const offs = [fast, guarded].map((b) => b.on('stateChange', (e) => transitions[e.name]++));

const ERR = new Error('upstream failed');
const NEUTRAL = new NeutralError('not found');
const outcomes = { success: 0, failure: 0, neutral: 0, timeout: 0, rejected: 0 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The i-th call: its kind depends on i, with a burst of failures every 100,000 calls to open the circuits. */
function call(i) {
  const burst = i % 100_000 < 2_000 && i > 50_000;
  const k = i % 100;
  if (i % 5 === 0) {
    const fn =
      burst || k < 15
        ? () => Promise.reject(ERR)
        : k < 20
          ? () => sleep(TIMEOUT_MS * 3)
          : k < 30
            ? () => Promise.reject(NEUTRAL)
            : async () => i;
    return guarded.execute(fn, { signal: caller.signal });
  }
  const fn = burst || k < 15 ? () => Promise.reject(ERR) : k < 25 ? () => Promise.reject(NEUTRAL) : k < 60 ? () => i : async () => i;
  return fast.execute(fn);
}

async function worker(start, step, until) {
  for (let i = start; i < until; i += step) {
    try {
      await call(i);
      outcomes.success++;
    } catch (e) {
      if (e instanceof CircuitOpenError) outcomes.rejected++;
      else if (e instanceof TimeoutError) outcomes.timeout++;
      else if (e === NEUTRAL) outcomes.neutral++;
      else outcomes.failure++;
    }
  }
}

async function heap() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

const started = Date.now();
const samples = [{ calls: 0, heap: await heap() }];
const chunk = CALLS / SAMPLES;
for (let s = 0; s < SAMPLES; s++) {
  const from = s * chunk;
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(from + w, CONCURRENCY, from + chunk)));
  samples.push({ calls: from + chunk, heap: await heap() });
}
// The late calls' own sleeps end within 3 timeouts; give them room, then look for leftovers.
await sleep(TIMEOUT_MS * 4);
// A timer's destroy hook runs after its callback: let the last ones report.
await new Promise((r) => setImmediate(r));
for (const off of offs) off();
const abortListeners = getEventListeners(caller.signal, 'abort').length;
const timersLeft = liveTimers.size;
const seconds = (Date.now() - started) / 1000;

// Flat: after the first quarter (warm-up), the heap stays within a band and ends where it started.
const steady = samples.slice(Math.ceil(samples.length / 4));
const mb = (b) => b / 1024 / 1024;
const band = mb(Math.max(...steady.map((x) => x.heap)) - Math.min(...steady.map((x) => x.heap)));
const drift = mb(steady[steady.length - 1].heap - steady[0].heap);
const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
const pass = total === CALLS && abortListeners === 0 && timersLeft === 0 && band < 2 && Math.abs(drift) < 1;

console.log(`soak: ${total.toLocaleString('en')} calls in ${seconds.toFixed(1)} s (${process.version})`);
console.log(
  `  outcomes: ${Object.entries(outcomes)
    .map(([k, v]) => `${k} ${v.toLocaleString('en')}`)
    .join(', ')}`,
);
console.log(`  state changes: fast ${transitions['soak-fast']}, guarded ${transitions['soak-guarded']}`);
console.log(`  heap after GC (MB): ${samples.map((x) => mb(x.heap).toFixed(2)).join(' ')}`);
console.log(`  after warm-up: band ${band.toFixed(2)} MB, drift ${drift.toFixed(2)} MB`);
console.log(`  left behind: ${timersLeft} timers, ${abortListeners} abort listeners on the caller's signal`);
console.log(pass ? 'soak: PASS' : 'soak: FAIL');

if (JSON_OUT !== undefined) {
  const file =
    JSON_OUT === true ? resolve(here, 'results', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`) : resolve(JSON_OUT);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(
    file,
    `${JSON.stringify({ calls: total, seconds, outcomes, transitions, samples, band, drift, timersLeft, abortListeners, pass, node: process.version }, null, 2)}\n`,
  );
  console.log(`results written to ${file}`);
}
process.exitCode = pass ? 0 : 1;
