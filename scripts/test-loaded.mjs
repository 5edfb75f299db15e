// The suite where it is hardest to pass: a clone of this checkout in a path with `src`, a space and non-ASCII
// characters in it, on a machine whose every core is kept busy for the whole run, `npm test` several times in a row.
// Reports each run's time and result; exits non-zero if any run fails. The busy processes are always stopped.
//
//   npm run test:loaded [-- --runs 3] [--busy <processes>] [--keep]
//
// --runs: how many `npm test` runs (default 3); --busy: busy processes (default: one per core); --keep: leave the
// clone in place (its logs are kept either way).
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { root } from './lib/pack.mjs';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    busy: { type: 'string', default: String(availableParallelism()) },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const busyCount = Number(values.busy);
if (!(Number.isInteger(runs) && runs >= 1) || !(Number.isInteger(busyCount) && busyCount >= 0)) {
  console.error('--runs must be an integer ≥ 1 and --busy an integer ≥ 0');
  process.exit(2);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const base = mkdtempSync(join(tmpdir(), 'breakwater-loaded-'));
const dir = join(base, 'src', 'bréak water');
const logs = join(base, 'logs');
mkdirSync(logs, { recursive: true });

/** Busy processes: each spins on one core, and exits by itself if this script dies without stopping it. */
const BUSY = `const parent = process.ppid; for (;;) { for (let i = 0; i < 1e7; i++); if (process.ppid !== parent) process.exit(0); }`;
/** @type {import('node:child_process').ChildProcess[]} */
const busy = [];
/** @type {import('node:child_process').ChildProcess | undefined} */
let current;

function stopBusy() {
  for (const child of busy.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
function stopAll() {
  stopBusy();
  // The running command was started in a process group of its own: stop the whole group (vitest and its workers).
  if (current?.pid !== undefined && current.exitCode === null) {
    try {
      process.kill(-current.pid, 'SIGKILL');
    } catch {}
  }
}
process.on('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping`);
    stopAll();
    process.exit(130);
  });
}

/** Runs a command in the clone with its output going to `log`; resolves with its exit code and duration. */
function runLogged(command, args, log) {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(log);
    const start = Date.now();
    current = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env } });
    current.stdout.pipe(out, { end: false });
    current.stderr.pipe(out, { end: false });
    current.on('error', reject);
    current.on('close', (code, signal) => {
      out.end(() => resolve({ code: code ?? (signal === null ? 1 : 128), seconds: (Date.now() - start) / 1000 }));
    });
  });
}

const minutes = (seconds) => `${Math.floor(seconds / 60)} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colour codes are what is removed.
const plain = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');

/** The summary vitest prints ("Tests  2 failed | 660 passed (663)"), and how many lines are warnings. */
function summarize(log) {
  const text = plain(readFileSync(log, 'utf8'));
  const lines = text.split('\n');
  const tests =
    lines
      .find((l) => /^\s*Tests\s+\d/.test(l))
      ?.trim()
      .replace(/\s+/g, ' ') ?? 'no test summary';
  const warnings = lines.filter((l) => /Warning\b/.test(l)).length;
  const failed = lines.filter((l) => /^\s*FAIL\s/.test(l)).map((l) => l.trim());
  return { tests, lines: lines.length, warnings, failed: [...new Set(failed)] };
}

const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
console.log(`clone of ${head.slice(0, 12)} in ${dir}`);
execFileSync('git', ['clone', '--quiet', '--no-checkout', root, dir], { stdio: 'inherit' });
execFileSync('git', ['checkout', '--quiet', '--detach', head], { cwd: dir, stdio: 'inherit' });

const install = await runLogged(npm, ['ci', '--no-audit', '--no-fund'], join(logs, 'npm-ci.log'));
const installWarnings = plain(readFileSync(join(logs, 'npm-ci.log'), 'utf8'))
  .split('\n')
  .filter((l) => /\bwarn\b/i.test(l));
console.log(`npm ci: ${install.code === 0 ? 'ok' : `failed (exit ${install.code})`} in ${minutes(install.seconds)}`);
for (const line of installWarnings) console.log(`  ${line}`);
if (install.code !== 0) {
  console.error(readFileSync(join(logs, 'npm-ci.log'), 'utf8'));
  process.exit(1);
}

for (let i = 0; i < busyCount; i++) busy.push(spawn(process.execPath, ['-e', BUSY], { stdio: 'ignore' }));
console.log(`${busy.length} busy processes on ${availableParallelism()} cores; npm test ${runs} times in a row`);

const results = [];
for (let run = 1; run <= runs; run++) {
  const log = join(logs, `npm-test-${run}.log`);
  const { code, seconds } = await runLogged(npm, ['test'], log);
  const summary = summarize(log);
  results.push({ run, code, seconds, ...summary });
  console.log(
    `run ${run}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${minutes(seconds)}; ${summary.tests}; ` +
      `${summary.lines} lines of output, ${summary.warnings} with a warning; log: ${log}`,
  );
  for (const line of summary.failed) console.log(`  ${line}`);
}
current = undefined;
stopBusy();

if (!values.keep) rmSync(dir, { recursive: true, force: true });
const failed = results.filter((r) => r.code !== 0).length;
console.log(
  `${runs - failed} of ${runs} runs passed (${results.map((r) => minutes(r.seconds)).join(', ')}), ` +
    `from ${values.keep ? dir : 'a clone under src/ with a space and non-ASCII characters (removed)'}; logs in ${logs}`,
);
process.exit(failed === 0 ? 0 : 1);
