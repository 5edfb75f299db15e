// The runtime test: the packed library's smoke test (test/runtimes/smoke.mjs) on Node 20 (this
// process's node), Node 22 and 24, Bun, Deno, the Cloudflare Workers runtime (workerd) and
// Chromium. The runtimes come from the npm registry through test/runtimes/package.json (its own
// lockfile, apart from the root project); Chromium is the system's (/usr/bin/chromium, or $CHROMIUM).
// `RUNTIMES=node22,bun npm run test:runtimes` runs a subset. Exit code 0 when every runtime passes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumFlags, chromiumPath } from './lib/chromium.mjs';
import { freshProject, packTarball, root, run } from './lib/pack.mjs';

const runtimesDir = join(root, 'test', 'runtimes');
const bin = (...path) => join(runtimesDir, 'node_modules', ...path);
const requireFromRoot = createRequire(join(root, 'package.json'));
const esbuild = requireFromRoot('esbuild');

const all = ['node20', 'node22', 'node24', 'bun', 'deno', 'workerd', 'chromium'];
const only = process.env.RUNTIMES?.split(',').map((s) => s.trim());
const unknown = only?.filter((name) => !all.includes(name)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown runtime(s) in RUNTIMES: ${unknown.join(', ')} (known: ${all.join(', ')})`);
  process.exit(2);
}
const selected = all.filter((name) => only === undefined || only.includes(name));

/** Runs a command; resolves with its output, rejects (with the output) on a non-zero exit or after `ms`. */
function exec(command, args, { cwd, env, ms = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} exited with ${code ?? signal}:\n${output}`));
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Bundles an entry of the smoke project for a runtime that loads a single script. */
async function bundle(project, entry, outfile, platform) {
  await esbuild.build({
    entryPoints: [join(project, entry)],
    outfile: join(project, outfile),
    bundle: true,
    format: 'esm',
    platform,
    target: 'es2022',
    logLevel: 'silent',
  });
  return join(project, outfile);
}

async function workerd(project) {
  await bundle(project, 'worker.mjs', 'worker.bundle.js', 'neutral');
  const port = await freePort();
  writeFileSync(
    join(project, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .smokeWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const smokeWorker :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "worker.bundle.js") ],
  compatibilityDate = "2025-01-01",
);
`,
  );
  const child = spawn(bin('@cloudflare', 'workerd-linux-64', 'bin', 'workerd'), ['serve', 'config.capnp'], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => {
    log += d;
  });
  child.stderr.on('data', (d) => {
    log += d;
  });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`);
        const text = await response.text();
        if (response.status !== 200) throw new Error(`worker answered ${response.status}: ${text}`);
        return text;
      } catch (error) {
        if (error.message.startsWith('worker answered') || Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`${error.message}\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
}

async function chromium(project) {
  const code = readFileSync(await bundle(project, 'page.mjs', 'page.bundle.js', 'browser'), 'utf8');
  const { chromium: browserType } = requireFromRoot('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'breakwater-chromium-'));
  const context = await browserType.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto('about:blank');
    await page.addScriptTag({ content: code, type: 'module' });
    await page.waitForFunction(() => globalThis.__smoke !== undefined, undefined, { timeout: 20_000 });
    const result = await page.evaluate(() => globalThis.__smoke);
    const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
    if (!result.startsWith('SMOKE OK')) throw new Error(result);
    return `${result} (Chromium ${version})`;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const runners = {
  node20: (p) => exec(process.execPath, ['run.mjs'], { cwd: p }),
  node22: (p) => exec(bin('node22', 'bin', 'node'), ['run.mjs'], { cwd: p }),
  node24: (p) => exec(bin('node24', 'bin', 'node'), ['run.mjs'], { cwd: p }),
  bun: (p) => exec(bin('@oven', 'bun-linux-x64', 'bin', 'bun'), ['run.mjs'], { cwd: p, env: { BUN_INSTALL_CACHE_DIR: join(p, '.bun') } }),
  deno: (p) =>
    exec(bin('@deno', 'linux-x64-glibc', 'deno'), ['run', '--no-prompt', '--allow-read', '--allow-env', 'run.mjs'], {
      cwd: p,
      env: { DENO_DIR: join(p, '.deno'), DENO_NO_UPDATE_CHECK: '1' },
    }),
  workerd,
  chromium,
};

const versions = {
  node20: () => process.version,
  node22: () => run(bin('node22', 'bin', 'node'), ['--version']).trim(),
  node24: () => run(bin('node24', 'bin', 'node'), ['--version']).trim(),
  bun: () => run(bin('@oven', 'bun-linux-x64', 'bin', 'bun'), ['--version']).trim(),
  deno: () =>
    run(bin('@deno', 'linux-x64-glibc', 'deno'), ['--version'])
      .split(' ')
      .slice(0, 2)
      .join(' '),
  workerd: () => run(bin('@cloudflare', 'workerd-linux-64', 'bin', 'workerd'), ['--version']).trim(),
  chromium: () => '',
};

const started = performance.now();
if (selected.some((name) => name !== 'node20' && name !== 'chromium') && !existsSync(bin('.package-lock.json'))) {
  run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: runtimesDir });
}
const tarball = packTarball();
const smokeFiles = Object.fromEntries(
  ['smoke.mjs', 'run.mjs', 'worker.mjs', 'page.mjs'].map((f) => [f, readFileSync(join(runtimesDir, f), 'utf8')]),
);
const project = freshProject('runtimes', tarball, {
  'package.json': { name: 'runtime-smoke', private: true, type: 'module' },
  ...smokeFiles,
});

const results = [];
for (const name of selected) {
  const t0 = performance.now();
  try {
    const output = await runners[name](project);
    const line = output.split('\n').find((l) => l.startsWith('SMOKE OK'));
    if (line === undefined) throw new Error(`no SMOKE OK line in:\n${output}`);
    results.push({ name, ok: true, version: versions[name](), detail: line.trim(), ms: performance.now() - t0 });
  } catch (error) {
    results.push({ name, ok: false, version: '', detail: error.message, ms: performance.now() - t0 });
  }
}
rmSync(project, { recursive: true, force: true });
rmSync(join(tarball, '..'), { recursive: true, force: true });

for (const r of results) {
  console.log(
    `${r.ok ? 'PASS' : 'FAIL'} ${r.name.padEnd(9)} ${r.version.padEnd(14)} ${(r.ms / 1000).toFixed(1).padStart(5)} s  ${r.ok ? r.detail : ''}`,
  );
  if (!r.ok) console.log(r.detail.replace(/^/gm, '    '));
}
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed === 0 ? 0 : 1);
