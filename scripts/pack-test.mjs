// The package test: pack the library as it will be published, install the tarball into fresh
// projects, and use it from ESM, CommonJS, and TypeScript (node16 and bundler resolution,
// type-checked with the repository's tsc). Each project runs a breaker. Exit code 0 when all pass.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { freshProject, packTarball, root, run } from './lib/pack.mjs';

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const peers = ['prom-client@15.1.3', '@opentelemetry/api@1.10.0'];

const esm = `
import { createRequire } from 'node:module';
import { BreakerRegistry, CircuitBreaker, CircuitOpenError } from 'breakwater';
import { createBreakerFetch } from 'breakwater/fetch';
import { instrumentOpenTelemetry } from 'breakwater/opentelemetry';
import { SharedStore, sharedStore } from 'breakwater/fleet';
import { instrumentPrometheus } from 'breakwater/prometheus';
import { RedisStore } from 'breakwater/redis';
import { Registry } from 'prom-client';

const breaker = new CircuitBreaker({ name: 'esm', failureThreshold: 1 });
const register = new Registry();
instrumentPrometheus(breaker, { register });
instrumentOpenTelemetry(breaker);
await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
const error = await breaker.execute(() => 1).catch((e) => e);
if (!(error instanceof CircuitOpenError)) throw new Error('expected CircuitOpenError');
if (!(await register.metrics()).includes('breakwater_calls_total{breaker="esm",outcome="rejected"} 1')) throw new Error('no metrics');
if (!(createBreakerFetch().registry instanceof BreakerRegistry)) throw new Error('two copies of the core');
// breakwater/redis without a server: a client that is down never reaches the caller.
const store = new RedisStore({ client: { call: () => Promise.reject(new Error('ECONNREFUSED')) }, timeout: 50 });
if (!(store instanceof SharedStore) || typeof sharedStore !== 'function') throw new Error('two copies of SharedStore');
const faults = [];
const shared = new CircuitBreaker({ name: 'esm-fleet', store, logger: { info() {}, warn() {}, error: (r) => faults.push(r.event) } });
if ((await shared.execute(() => 42)) !== 42) throw new Error('a store fault reached the caller');
await shared.flush();
await new Promise((resolve) => setTimeout(resolve, 10));
if (faults.join() !== 'breaker.storeError') throw new Error('store fault not reported once: ' + faults);
// The CommonJS build loaded next to the ESM one (a CommonJS dependency requiring breakwater): two copies of the
// classes, and instanceof still holds across them.
const commonjs = createRequire(import.meta.url)('breakwater');
if (commonjs.CircuitOpenError === CircuitOpenError) throw new Error('expected a second copy');
const other = new commonjs.CircuitBreaker({ failureThreshold: 1 });
await other.execute(() => Promise.reject(new Error('down'))).catch(() => {});
const otherError = await other.execute(() => 1).catch((e) => e);
if (!(otherError instanceof CircuitOpenError) || !(error instanceof commonjs.CircuitOpenError)) throw new Error('instanceof fails across copies');
console.log('esm ok', breaker.state, shared.state);
`;

const cjs = `
const { BreakerRegistry, CircuitBreaker, CircuitOpenError } = require('breakwater');
const { createBreakerFetch } = require('breakwater/fetch');
const { instrumentPrometheus } = require('breakwater/prometheus');
const { instrumentOpenTelemetry } = require('breakwater/opentelemetry');
const { SharedStore } = require('breakwater/fleet');
const { RedisStore } = require('breakwater/redis');
const { Registry } = require('prom-client');

(async () => {
  const breaker = new CircuitBreaker({ name: 'cjs', failureThreshold: 1 });
  const register = new Registry();
  instrumentPrometheus(breaker, { register });
  instrumentOpenTelemetry(breaker);
  await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
  const error = await breaker.execute(() => 1).catch((e) => e);
  if (!(error instanceof CircuitOpenError)) throw new Error('expected CircuitOpenError');
  if (!(await register.metrics()).includes('breakwater_calls_total{breaker="cjs",outcome="rejected"} 1')) throw new Error('no metrics');
  if (!(createBreakerFetch().registry instanceof BreakerRegistry)) throw new Error('two copies of the core');
  const store = new RedisStore({ client: { sendCommand: () => Promise.reject(new Error('ECONNREFUSED')) }, timeout: 50 });
  if (!(store instanceof SharedStore)) throw new Error('two copies of SharedStore');
  const shared = new CircuitBreaker({ name: 'cjs-fleet', store, logger: { info() {}, warn() {}, error() {} } });
  if ((await shared.execute(() => 42)) !== 42) throw new Error('a store fault reached the caller');
  console.log('cjs ok', breaker.state);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

const typescript = `
import { BreakerRegistry, CircuitBreaker, CircuitOpenError, type CircuitState, circuit, circuitOf } from 'breakwater';
import { type BreakerFetch, createBreakerFetch } from 'breakwater/fetch';
import { type CompareAndSetResult, type SharedRecord, SharedStore } from 'breakwater/fleet';
import { RedisStore } from 'breakwater/redis';
import { instrumentOpenTelemetry } from 'breakwater/opentelemetry';
import { createPrometheusMetrics } from 'breakwater/prometheus';

class Inventory {
  @circuit({ failureThreshold: 1 })
  async count(sku: string): Promise<number> {
    throw new Error(\`no stock service for \${sku}\`);
  }
}

const breaker = new CircuitBreaker({ name: 'ts', failureThreshold: 1, timeout: 1_000 });
const double = breaker.wrap((n: number) => n * 2);
const four: number = await double(2);
const state: CircuitState = breaker.state;
const registry = new BreakerRegistry({ defaults: { failureThreshold: 3 }, maxSize: 10 });
createPrometheusMetrics().track(registry);
instrumentOpenTelemetry(registry);
const fetch: BreakerFetch = createBreakerFetch({ breaker: { timeout: 1_000 } });
const inventory = new Inventory();
await inventory.count('a').catch(() => undefined);
const open = await inventory.count('b').catch((e: unknown) => e);
if (!(open instanceof CircuitOpenError) || circuitOf(Inventory.prototype.count)?.state !== 'open') throw new Error('decorator did not open');
if (four !== 4 || state !== 'closed' || !(fetch.registry instanceof BreakerRegistry)) throw new Error('unexpected');
class DownStore extends SharedStore {
  async read(): Promise<SharedRecord> {
    throw new Error('down');
  }
  async compareAndSet(): Promise<CompareAndSetResult> {
    throw new Error('down');
  }
}
const quiet = { info() {}, warn() {}, error() {} };
const redis: SharedStore = new RedisStore({ client: { call: async () => [] } });
const own = new CircuitBreaker({ name: 'ts-fleet', store: new DownStore(), logger: quiet });
if ((await own.execute(() => 1)) !== 1 || !(redis instanceof SharedStore)) throw new Error('fleet entry points');
console.log('typescript ok');
`;

const typescriptCjs = `
import { CircuitBreaker } from 'breakwater';
import { createBreakerFetch } from 'breakwater/fetch';

const breaker: CircuitBreaker = createBreakerFetch().registry.get('x');
void new CircuitBreaker().execute(() => 1).then(() => console.log('typescript (cts) ok', breaker.state));
`;

const tsconfig = (module, moduleResolution) => ({
  compilerOptions: {
    target: 'ES2022',
    module,
    moduleResolution,
    lib: ['ES2022', 'DOM'],
    types: [],
    strict: true,
    skipLibCheck: false,
    outDir: 'dist',
    rootDir: 'src',
  },
  include: ['src'],
});

const started = performance.now();
const tarball = packTarball();
console.log(`packed ${tarball}`);

const cases = [
  {
    name: 'esm',
    files: { 'package.json': { name: 'esm-user', private: true, type: 'module' }, 'index.js': esm },
    steps: (dir) => [['node', ['index.js'], dir]],
  },
  {
    name: 'cjs',
    files: { 'package.json': { name: 'cjs-user', private: true, type: 'commonjs' }, 'index.js': cjs },
    steps: (dir) => [['node', ['index.js'], dir]],
  },
  {
    name: 'ts-node16',
    files: {
      'package.json': { name: 'ts-node16-user', private: true, type: 'module' },
      'tsconfig.json': tsconfig('node16', 'node16'),
      'src/index.ts': typescript,
      'src/legacy.cts': typescriptCjs,
    },
    steps: (dir) => [
      ['node', [tsc, '-p', '.'], dir],
      ['node', ['dist/index.js'], dir],
      ['node', ['dist/legacy.cjs'], dir],
    ],
  },
  {
    name: 'ts-bundler',
    files: {
      'package.json': { name: 'ts-bundler-user', private: true, type: 'module' },
      'tsconfig.json': tsconfig('esnext', 'bundler'),
      'src/index.ts': typescript,
    },
    steps: (dir) => [
      ['node', [tsc, '-p', '.'], dir],
      ['node', ['dist/index.js'], dir],
    ],
  },
];

let failed = 0;
for (const c of cases) {
  try {
    const dir = freshProject(c.name, tarball, c.files, peers);
    for (const [command, args, cwd] of c.steps(dir)) process.stdout.write(run(command, args, { cwd }));
    rmSync(dir, { recursive: true, force: true });
    console.log(`PASS ${c.name}`);
  } catch (error) {
    failed++;
    console.error(`FAIL ${c.name}\n${error.message}`);
  }
}
rmSync(join(tarball, '..'), { recursive: true, force: true });
console.log(`${cases.length - failed} passed, ${failed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed === 0 ? 0 : 1);
