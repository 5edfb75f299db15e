// The consumer under load: examples/consumer (the real server, one fresh process per run) in front of a stand-in
// quote API that hangs, answers 502, or recovers mid-run; the consumer with its breaker against the same
// consumer whose circuit never opens, side by side in one run; and 1000 connections on a healthy and on a
// hanging API with and without the breaker's `maxConcurrent`.
//
//   npm run bench:consumer                    full run (~1.5 min), prints the tables, writes docs/images/consumer-load.svg
//   npm run bench:consumer -- --quick         smoke run for CI (short runs, short timeouts; writes no chart)
//   npm run bench:consumer -- --json [file]   also writes the figures as JSON (default bench/results/consumer-<date>.json)
//   npm run bench:consumer -- --svg <file>    writes the chart there instead (also with --quick)
//   npm run bench:consumer -- --only hang     only the scenarios whose id starts with this (hang, 502, recovers, overload, cap)
//
// Measured, not asserted: the targets are printed as met or missed and the exit code is 0 unless the harness
// itself failed. Everything listens on 127.0.0.1; every wait has a deadline; children are stopped at the end.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { formatNumber, renderChart } from './chart.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const HOST = '127.0.0.1';

function parseArgs(argv) {
  const args = { quick: false, json: undefined, svg: undefined, only: undefined };
  const value = (i, flag) => {
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) throw new Error(`${flag} needs a value`);
    return next;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--json') {
      const next = argv[i + 1];
      args.json = next !== undefined && !next.startsWith('--') ? resolve(argv[++i]) : true;
    } else if (a === '--svg') args.svg = resolve(value(i++, a));
    else if (a === '--only') args.only = value(i++, a);
    else throw new Error(`unknown argument ${a}; use --quick, --json [file], --svg <file>, --only <scenario id prefix>`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));

/** The consumer's settings in every run; a scenario or variant overrides some. */
const THRESHOLD = 5;
const CAP = 50;
const settings = args.quick
  ? { duration: 1.5, warmup: 0.5, requestTimeout: 500, recoveryTimeout: 300 }
  : { duration: 5, warmup: 1, requestTimeout: 2_000, recoveryTimeout: 1_000 };
const BASE_ENV = {
  HOST,
  PORT: '0',
  FAILURE_THRESHOLD: String(THRESHOLD),
  RECOVERY_TIMEOUT: '60000',
  REQUEST_TIMEOUT: String(settings.requestTimeout),
  MAX_CONCURRENT: '0',
};
/** "Without the breaker": the same consumer, whose circuit cannot open within a run (the largest threshold it accepts). */
const NEVER_OPENS = { FAILURE_THRESHOLD: '1000000' };

const SCENARIOS = [
  {
    id: 'hang',
    title: 'Upstream hangs, 50 connections',
    connections: 50,
    // The first call of every connection waits the whole REQUEST_TIMEOUT, with the breaker or without: p99 shows
    // what follows only once that first wave is under 1 % of the answers, which takes more than a few seconds.
    fullDuration: 10,
    upstream: { mode: 'hang' },
    variants: [
      { id: 'breaker', label: 'breaker', protected: true, env: {} },
      { id: 'no-breaker', label: 'without breaker', protected: false, env: NEVER_OPENS },
    ],
  },
  {
    id: '502',
    title: 'Upstream answers 502 at once, 50 connections',
    connections: 50,
    upstream: { mode: '502' },
    variants: [
      { id: 'breaker', label: 'breaker', protected: true, env: {} },
      { id: 'no-breaker', label: 'without breaker', protected: false, env: NEVER_OPENS },
    ],
  },
  {
    id: 'recovers',
    title: 'Upstream hangs, then recovers mid-run, 50 connections',
    connections: 50,
    // Healthy again after 60 % of the run; requests held until then stay held (the consumer's timeout ends them).
    upstream: { mode: 'hang', next: { fraction: 0.6, mode: 'ok' } },
    env: { RECOVERY_TIMEOUT: String(settings.recoveryTimeout) },
    variants: [
      { id: 'breaker', label: 'breaker', protected: true, env: {} },
      { id: 'no-breaker', label: 'without breaker', protected: false, env: NEVER_OPENS },
    ],
  },
  {
    id: 'overload',
    title: 'Upstream healthy, 1000 connections',
    connections: 1000,
    upstream: { mode: 'ok' },
    variants: [
      { id: 'cap', label: `breaker, maxConcurrent ${CAP}`, protected: true, env: { MAX_CONCURRENT: String(CAP) }, needsCap: true },
      { id: 'no-cap', label: 'breaker, no cap', protected: false, env: {} },
    ],
  },
  {
    id: 'cap',
    title: 'Upstream hangs, 1000 connections',
    connections: 1000,
    upstream: { mode: 'hang' },
    variants: [
      { id: 'cap', label: `breaker, maxConcurrent ${CAP}`, protected: true, env: { MAX_CONCURRENT: String(CAP) }, needsCap: true },
      { id: 'no-cap', label: 'breaker, no cap', protected: false, env: {} },
    ],
  },
].filter((s) => args.only === undefined || s.id.startsWith(args.only));

/** Seconds of load in a run of `scenario`. */
const durationOf = (scenario) => (args.quick ? settings.duration : (scenario.fullDuration ?? settings.duration));

if (SCENARIOS.length === 0) throw new Error(`no scenario id starts with ${JSON.stringify(args.only)}`);

// ---------------------------------------------------------------------------------------------------------------
// Children: the stand-in upstream (one for the whole run) and a fresh consumer per variant.

/** Every child still running, stopped on the way out whatever happens. */
const children = new Set();
const stopChildren = () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
process.on('exit', stopChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    stopChildren();
    process.exit(130);
  });
}
// A last resort: the whole run may not take longer than this.
const budgetMs = (args.quick ? 120 : 600) * 1000;
setTimeout(() => {
  process.stderr.write(`bench:consumer: still running after ${budgetMs / 1000} s; stopping\n`);
  stopChildren();
  process.exit(1);
}, budgetMs).unref();

const withDeadline = (promise, ms, what) =>
  new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolvePromise(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });

async function startUpstream() {
  const child = fork(fileURLToPath(new URL('./upstream.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  const waiters = new Map();
  child.on('message', (message) => {
    const waiter = waiters.get(message.cmd);
    if (waiter !== undefined) {
      waiters.delete(message.cmd);
      waiter(message);
    }
  });
  const ask = (message, reply = message.cmd) =>
    withDeadline(
      new Promise((r) => {
        waiters.set(reply, r);
        if (message !== null) child.send(message);
      }),
      10_000,
      `upstream ${reply}`,
    );
  const { port } = await ask(null, 'listening');
  return {
    url: `http://${HOST}:${port}`,
    mode: (mode, next) => ask({ cmd: 'mode', mode, ...(next === undefined ? {} : { next }) }),
    stats: () => ask({ cmd: 'stats' }),
    reset: () => ask({ cmd: 'reset' }),
    stop: () => {
      child.disconnect();
      children.delete(child);
    },
  };
}

/** Resident set size of a process now and at its peak, in bytes (Linux; undefined elsewhere). */
function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    return { now: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * Starts `examples/consumer/server.ts` with `env` on a port the system picks. Resolves with its URL, or with
 * `{ refused }` when it stops at start (an option this build of breakwater does not know, for one).
 */
async function startConsumer(env) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/consumer/server.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    if (stderr.length < 8_192) stderr += chunk;
  });
  // Log lines are counted, not kept: the listening line gives the URL, the rest is the log volume of the run.
  const log = { lines: 0, bytes: 0 };
  let head = '';
  let url;
  const ready = new Promise((resolveReady) => {
    child.stdout.on('data', (chunk) => {
      log.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) log.lines++;
      if (url !== undefined) return;
      head += chunk.toString('utf8');
      const line = head.split('\n').find((l) => l.includes('"consumer.listening"'));
      if (line !== undefined) {
        url = JSON.parse(line).url;
        head = '';
        resolveReady({ url });
      }
    });
    child.once('exit', (code, signal) => resolveReady({ refused: stderr.trim() || `exited with ${code ?? signal} at start` }));
  });
  const started = await withDeadline(ready, 30_000, 'consumer start');
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await withDeadline(exited, 10_000, 'consumer stop');
    children.delete(child);
  };
  if (started.refused !== undefined) {
    await stop();
    return { refused: started.refused };
  }
  return { url: started.url, pid: child.pid, log, stop };
}

/** Runs the load generator for `duration` seconds; also notes when the first 2xx arrived. */
function load(url, connections, duration) {
  return new Promise((resolveLoad, reject) => {
    const start = performance.now();
    let first2xx;
    const instance = autocannon({ url, connections, duration, timeout: 10 }, (error, result) =>
      error ? reject(error) : resolveLoad({ result, first2xxMs: first2xx }),
    );
    instance.on('response', (_client, status) => {
      if (first2xx === undefined && status >= 200 && status < 300) first2xx = performance.now() - start;
    });
  });
}

/** Resolves once the consumer has no call to the API in flight (its /metrics); gives up after 10 s. */
async function settled(url) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    if (/^breakwater_calls_in_flight\{[^}]*\} 0$/m.test(text)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the consumer still had calls in flight 10 s after the warm-up');
}

/** How many times the consumer's circuit opened, from its /metrics (transitions into open). */
async function timesOpened(url) {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let opened = 0;
  for (const m of text.matchAll(/^breakwater_transitions_total\{[^}]*to="open"[^}]*\} (\d+)$/gm)) opened += Number(m[1]);
  return opened;
}

const capUnknown = (text) => /unknown option "maxConcurrent"/.test(text);

async function runVariant(upstream, scenario, variant) {
  await upstream.reset();
  const consumer = await startConsumer({ ...BASE_ENV, BASE_URL: upstream.url, ...scenario.env, ...variant.env });
  if (consumer.refused !== undefined) {
    if (variant.needsCap && capUnknown(consumer.refused)) return { skipped: 'this build of breakwater has no maxConcurrent option' };
    throw new Error(`the consumer did not start for ${scenario.id}/${variant.id}:\n${consumer.refused}`);
  }
  try {
    // Warm-up against a healthy upstream (a service that ran before its API broke): compiled code, open sockets.
    // Successes leave a consecutive-failure breaker as it was: closed, no failure counted.
    await load(consumer.url, 10, settings.warmup);
    // Page loads the load generator gave up on at the end of the warm-up may still be calling the API: wait until
    // none is in flight, or they would be counted as calls of the run.
    await settled(consumer.url);
    await upstream.reset();
    const idle = rssOf(consumer.pid);
    const logBefore = consumer.log.lines;
    const next = scenario.upstream.next;
    await upstream.mode(
      scenario.upstream.mode,
      next === undefined ? undefined : { afterMs: Math.round(next.fraction * durationOf(scenario) * 1000), mode: next.mode },
    );
    // RSS sampled through the run (the peak since start would include loading the TypeScript sources).
    let peak = idle?.now ?? 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(consumer.pid)?.now ?? 0);
    }, 100);
    let measured;
    try {
      measured = await load(consumer.url, scenario.connections, durationOf(scenario));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssOf(consumer.pid)?.now ?? 0);
    const { calls, byMode } = await upstream.stats();
    const opened = await timesOpened(consumer.url);
    const { result, first2xxMs } = measured;
    const statuses = Object.fromEntries(
      Object.entries(result.statusCodeStats)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([code, { count }]) => [code, count]),
    );
    const completed = Object.values(statuses).reduce((sum, n) => sum + n, 0);
    return {
      rps: completed / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      statuses,
      completed,
      errors: result.errors,
      timeouts: result.timeouts,
      upstream: calls,
      upstreamByMode: byMode,
      rssIdleMB: idle === undefined ? undefined : idle.now / 2 ** 20,
      rssPeakMB: idle === undefined ? undefined : peak / 2 ** 20,
      logLines: consumer.log.lines - logBefore,
      opened,
      first2xxMs,
      duration: result.duration,
    };
  } finally {
    await consumer.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reporting.

const fmtMs = (ms) => (ms === undefined ? '–' : `${formatNumber(ms)} ms`);
const fmtStatuses = (s) =>
  Object.entries(s)
    .map(([code, n]) => `${code}×${n.toLocaleString('en-US')}`)
    .join(' ');

function table(rows, headers) {
  const cells = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i <= 1 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const HEADERS = [
  'scenario',
  'variant',
  'rps',
  'p50',
  'p99',
  'statuses',
  'errors',
  'upstream calls',
  'opened',
  'RSS idle → peak',
  'log lines',
];

function rowOf(scenario, variant, r) {
  if (r.skipped) return [scenario.id, variant.label, '–', '–', '–', `skipped: ${r.skipped}`, '–', '–', '–', '–', '–'];
  const upstream =
    scenario.upstream.next === undefined
      ? r.upstream.toLocaleString('en-US')
      : `${r.upstream.toLocaleString('en-US')} (${Object.entries(r.upstreamByMode)
          .map(([m, n]) => `${m} ${n}`)
          .join(', ')})`;
  const rss = r.rssIdleMB === undefined ? '–' : `${r.rssIdleMB.toFixed(0)} → ${r.rssPeakMB.toFixed(0)} MB`;
  return [
    scenario.id,
    variant.label,
    formatNumber(r.rps),
    fmtMs(r.p50),
    fmtMs(r.p99),
    fmtStatuses(r.statuses),
    r.errors + r.timeouts,
    upstream,
    r.opened,
    rss,
    r.logLines.toLocaleString('en-US'),
  ];
}

/** The targets of the benchmark, as met or missed lines (measured, not asserted). */
function targets(results) {
  const lines = [];
  const get = (s, v) => results.find((r) => r.scenario === s)?.variants.find((x) => x.id === v)?.result;
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  const hangB = get('hang', 'breaker');
  const hangN = get('hang', 'no-breaker');
  if (hangB && hangN) {
    const ratio = hangB.p99 / hangN.p99;
    lines.push(`hang: p99 with the breaker ${(ratio * 100).toFixed(1)} % of without (target ≤ 5 %): ${verdict(ratio <= 0.05)}`);
    lines.push(
      `hang: upstream calls with the breaker ${hangB.upstream} (target ≤ threshold + connections = ${THRESHOLD + 50}): ${verdict(hangB.upstream <= THRESHOLD + 50)}`,
    );
  }
  const capB = get('cap', 'cap');
  if (capB && !capB.skipped) {
    lines.push(
      `cap: upstream calls with maxConcurrent ${CAP} ${capB.upstream} (target ≤ cap + threshold = ${CAP + THRESHOLD}): ${verdict(capB.upstream <= CAP + THRESHOLD)}`,
    );
  } else if (capB?.skipped) lines.push(`cap: skipped (${capB.skipped})`);
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------

const runLengths = args.quick
  ? `${settings.duration} s`
  : `${settings.duration} s (${SCENARIOS.filter((x) => x.fullDuration !== undefined)
      .map((x) => `${x.id}: ${x.fullDuration} s`)
      .join(', ')})`;
const machine = `${cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${cpus().length} cores`;
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
console.log(
  `breakwater ${pkg.version} consumer benchmark${args.quick ? ' (quick)' : ''}: ${runLengths} per run, ` +
    `REQUEST_TIMEOUT ${settings.requestTimeout} ms, FAILURE_THRESHOLD ${THRESHOLD}; Node ${process.version}; ${machine}\n`,
);

const upstream = await startUpstream();
const results = [];
const started = performance.now();
try {
  for (const scenario of SCENARIOS) {
    const entry = { scenario: scenario.id, title: scenario.title, connections: scenario.connections, variants: [] };
    for (const variant of scenario.variants) {
      process.stdout.write(`  ${scenario.id} / ${variant.label} … `);
      const result = await runVariant(upstream, scenario, variant);
      process.stdout.write(
        result.skipped ? `skipped (${result.skipped})\n` : `${formatNumber(result.rps)} rps, p99 ${fmtMs(result.p99)}\n`,
      );
      entry.variants.push({ id: variant.id, label: variant.label, protected: variant.protected, env: variant.env, result });
    }
    results.push(entry);
  }
} finally {
  upstream.stop();
}
const seconds = (performance.now() - started) / 1000;

const rows = results.flatMap((entry) => {
  const scenario = SCENARIOS.find((s) => s.id === entry.scenario);
  return entry.variants.map((v) => rowOf(scenario, v, v.result));
});
console.log(`\n${table(rows, HEADERS)}\n`);
const recovered = results.find((r) => r.scenario === 'recovers');
if (recovered !== undefined) {
  const at = (durationOf(SCENARIOS.find((s) => s.id === 'recovers')) * 0.6).toFixed(1);
  for (const v of recovered.variants) {
    const first = v.result.first2xxMs;
    console.log(
      `recovers, ${v.label}: first 200 at ${first === undefined ? 'none' : `${(first / 1000).toFixed(2)} s`} (the upstream recovered at ${at} s)`,
    );
  }
}
for (const line of targets(results)) console.log(line);
console.log(`\n${seconds.toFixed(0)} s in all`);

// Markdown, for docs/performance.md.
const md = [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
console.log(`\n${md}\n`);

const date = new Date().toISOString().slice(0, 10);
const caption = `${date} · ${runLengths} per run · REQUEST_TIMEOUT ${settings.requestTimeout} ms · FAILURE_THRESHOLD ${THRESHOLD} · Node ${process.version} · ${machine} (shared)`;
const svgPath = args.svg ?? (args.quick ? undefined : resolve(root, 'docs/images/consumer-load.svg'));
if (svgPath !== undefined) {
  const groups = results.map((entry) => ({
    title: entry.title,
    bars: entry.variants.map((v) =>
      v.result.skipped
        ? { label: v.label, skipped: v.result.skipped }
        : { label: v.label, protected: v.protected, p99: v.result.p99, rps: v.result.rps, upstream: v.result.upstream },
    ),
  }));
  await mkdir(dirname(svgPath), { recursive: true });
  await writeFile(svgPath, renderChart(groups, { caption }));
  console.log(`chart: ${relative(process.cwd(), svgPath)}`);
}
if (args.json !== undefined) {
  const file = args.json === true ? resolve(root, `bench/results/consumer-${date}.json`) : args.json;
  await mkdir(dirname(file), { recursive: true });
  const report = {
    date,
    node: process.version,
    machine,
    quick: args.quick,
    settings: { ...settings, threshold: THRESHOLD, cap: CAP },
    results,
    targets: targets(results),
  };
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`json: ${relative(process.cwd(), file)}`);
}
