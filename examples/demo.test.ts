// `npm run demo` as a process: what a newcomer's terminal does to it.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, survivors } from './e2e/processes.js';

const root = fileURLToPath(new URL('..', import.meta.url));

let groups: number[] = [];
let demo: ChildProcess | undefined;
afterEach(() => {
  // Clean up whatever the test left (only the groups this test's demo started).
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {}
  }
  if (demo?.exitCode === null) demo.kill('SIGKILL');
  groups = [];
});

async function startDemo(extraEnv: Record<string, string> = {}) {
  const [gatewayPort, lambdaPort, port] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], {
    cwd: root,
    env: { ...process.env, GATEWAY_PORT: String(gatewayPort), LAMBDA_PORT: String(lambdaPort), PORT: String(port), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo = child;
  let output = '';
  child.stdout?.on('data', (c) => (output += c));
  child.stderr?.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  // Resolves 'running' when the banner is printed, or 'exited' when the demo gives up.
  const outcome = await new Promise<'running' | 'exited'>((done) => {
    const timer = setTimeout(() => done('exited'), 45_000);
    child.stdout?.on('data', () => {
      if (output.includes('Press Ctrl-C')) {
        clearTimeout(timer);
        done('running');
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      done('exited');
    });
  });
  groups = [...output.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
  return { child, exited, outcome, output: () => output, site: `http://127.0.0.1:${port}` };
}

describe('npm run demo', () => {
  it('closing the terminal (SIGHUP) leaves no gateway or consumer behind', async () => {
    const d = await startDemo();
    expect(d.outcome).toBe('running');
    expect(groups).toHaveLength(2);
    d.child.kill('SIGHUP');
    await d.exited;
    // The demo waits for its children before it exits; a moment for the kernel to reap them.
    for (let i = 0; i < 30 && survivors(groups).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(survivors(groups)).toEqual([]);
  }, 60_000);

  it('an invalid FAULT_MODE stops the demo at start instead of reporting it running', async () => {
    const d = await startDemo({ FAULT_MODE: 'eror' });
    // The emulator would answer /stats with 200 {"errorMessage": ...} for a handler that failed to load.
    let page = 0;
    if (d.outcome === 'running') page = (await fetch(d.site)).status;
    expect({ outcome: d.outcome, page }).toEqual({ outcome: 'exited', page: 0 });
    expect(d.output()).toMatch(/demo: FAULT_MODE must be one of none \| error \| slow \| flaky; got "eror"/);
    expect(await d.exited).toBe(2);
  }, 60_000);
});
