// breakwater's benchmark: one process, interleaved rounds, medians, ratios to the bare call of the same run.
//
//   npm run bench                      full run, prints the tables
//   npm run bench -- --json [file]     also writes the results as JSON (default bench/results/<date>.json)
//   npm run bench -- --quick           short smoke run (CI): fewer rounds, smaller windows
//   npm run bench -- --only open       only the scenarios whose id starts with this (idle: memory only; size: bundle sizes only)
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { versions } from './lib/contenders.mjs';
import { measureIdle } from './lib/memory.mjs';
import { closedRejects, closedResolves, closedSync, open, windowFill } from './lib/scenarios.mjs';
import { measureSizes } from './lib/size.mjs';
import { median, runInterleaved } from './lib/timing.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const args = { quick: false, json: undefined, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--json') {
      const next = argv[i + 1];
      args.json = next !== undefined && !next.startsWith('--') ? resolve(argv[++i]) : true;
    } else if (a.startsWith('--json=')) args.json = resolve(a.slice('--json='.length));
    else if (a === '--only') args.only = argv[++i];
    else throw new Error(`unknown argument ${a}; use --quick, --json [file], --only <scenario id prefix>`);
  }
  return args;
}

/** The targets breakwater promises, as ratios to the bare call (or bytes / timers). */
export const TARGETS = {
  'closed-resolves': 2.0,
  'closed-sync': 2.0,
  'closed-rejects': 1.3,
  open: 2.0,
  heapConsecutive: 512,
  heapWindowed: 1024,
  timers: 0,
};

const fmtNs = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e4 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
const fmtRatio = (r) => (r >= 100 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`);

function table(rows, headers) {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map((r) => line(r.map(String)))].join('\n');
}

async function runScenario(s, opts) {
  const samples = await runInterleaved(s.cases, { ...opts, rejects: s.rejects });
  s.check?.();
  const bare = median(samples.get(s.cases[0].name));
  const cases = s.cases.map((c) => {
    const m = median(samples.get(c.name));
    return {
      name: c.name,
      lib: c.lib ?? 'bare',
      mode: c.mode,
      medianNs: m,
      ratio: m / bare,
      batch: c.n,
      samplesNs: samples.get(c.name).map((x) => Math.round(x)),
    };
  });
  return { id: s.id, title: s.title, size: s.size, cases };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const opts = args.quick ? { rounds: 5, batchNs: 300_000 } : { rounds: 101, batchNs: 1_000_000 };
  const fills = args.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];

  const wanted = (id) => args.only === undefined || id.startsWith(args.only);
  const ids = { 'closed-resolves': closedResolves, 'closed-sync': closedSync, 'closed-rejects': closedRejects, open };
  const scenarios = Object.entries(ids)
    .filter(([id]) => wanted(id))
    .map(([, make]) => make());
  const results = [];
  for (const s of scenarios) {
    results.push(await runScenario(s, opts));
    process.stderr.write(`  ${s.id} done\n`);
  }
  for (const size of wanted('window-fill') ? fills : []) {
    const s = windowFill(size, { opossumBatch: size >= 100_000 ? 10 : size >= 10_000 ? 50 : 100 });
    results.push(await runScenario(s, { ...opts, rounds: args.quick ? 3 : size >= 100_000 ? 15 : 31 }));
    process.stderr.write(`  ${s.id} done\n`);
  }
  const idle = wanted('idle') ? await measureIdle({ count: 10_000, repeats: args.quick ? 1 : 5 }) : [];
  const sizes = wanted('size') ? await measureSizes() : [];

  const cpu = cpus();
  const report = {
    date: new Date().toISOString(),
    quick: args.quick,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    versions: await versions(),
    rounds: opts.rounds,
    scenarios: results,
    idle,
    sizes,
    seconds: (Date.now() - started) / 1000,
  };

  for (const r of results) {
    console.log(`\n${r.title}`);
    console.log(
      table(
        r.cases.map((c) => [c.name, fmtNs(c.medianNs), fmtRatio(c.ratio), c.batch]),
        ['case', 'median / call', 'vs bare', 'batch'],
      ),
    );
  }
  if (idle.length > 0) {
    console.log('\nidle breakers (10,000 built, after GC)');
    console.log(
      table(
        idle.map((i) => [i.name, `${i.bytes} B`, i.timers.toFixed(2), i.handles.toFixed(2)]),
        ['breaker', 'heap / breaker', 'timers / breaker', 'handles / breaker'],
      ),
    );
  }
  if (sizes.length > 0) {
    console.log('\nbundle size (one minified ESM bundle, gzip level 9)');
    console.log(
      table(
        sizes.map((z) => [z.name, `${z.minified} B`, `${z.gzip} B`, fmtRatio(z.ratio)]),
        ['import', 'minified', 'min+gzip', 'vs breakwater { CircuitBreaker }'],
      ),
    );
  }
  console.log(
    `\n${report.node} on ${report.cpu} (${report.cores} cores); breakwater ${report.versions.breakwater}, cockatiel ${report.versions.cockatiel}, opossum ${report.versions.opossum}; ${report.seconds.toFixed(1)} s`,
  );

  if (args.json !== undefined) {
    const file = args.json === true ? resolve(here, 'results', `${report.date.replace(/[:.]/g, '-')}.json`) : args.json;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${file}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
