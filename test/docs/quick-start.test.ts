// README.md's quick start, run as a newcomer would: both of its programs (TypeScript and JavaScript) copied out of the
// README verbatim, in fresh projects with the packed library installed, an ES module project and the CommonJS
// project `npm init -y` makes (where the README says to name them .mts and .mjs). What they print must be what
// the README says they print.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packTarball, root, run } from '../../scripts/lib/pack.mjs';

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// tsx as `npx tsx` runs it, taken from the repository's own install rather than the network.
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** The quick start section, and the first block of each kind in it. */
const section = readme.slice(readme.indexOf('\n## Quick start\n'), readme.indexOf('\n## ', readme.indexOf('\n## Quick start\n') + 1));
function block(lang: string): string {
  const start = section.indexOf(`\n\`\`\`${lang}\n`);
  if (start < 0) throw new Error(`no ${lang} block in the README's quick start`);
  const from = start + lang.length + 5;
  return section.slice(from, section.indexOf('\n```\n', from) + 1);
}

/** What a run prints, with the times (which vary by a few ms) made equal. */
const normalized = (text: string) => text.replace(/retry in \d+ ms/g, 'retry in … ms').trimEnd();

const projects: string[] = [];
let tarball = '';
beforeAll(() => {
  tarball = packTarball({ quiet: true });
}, 300_000);
afterAll(() => {
  for (const dir of [...projects, join(tarball, '..')]) if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** A new folder with `package.json` (or `npm init -y`'s when `undefined`) and the packed library installed, offline. */
function project(name: string, packageJson: object | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), `breakwater-quick-start-${name}-`));
  projects.push(dir);
  if (packageJson === undefined) run(npm, ['init', '-y'], { cwd: dir, quiet: true });
  else writeFileSync(join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], { cwd: dir, quiet: true });
  return dir;
}

async function runProgram(dir: string, file: string, code: string): Promise<string> {
  writeFileSync(join(dir, file), code);
  const [command, args] = file.endsWith('ts') ? [process.execPath, [tsx, file]] : [process.execPath, [file]];
  const { stdout, stderr } = await promisify(execFile)(command, args, { cwd: dir, timeout: 120_000, encoding: 'utf8' });
  expect(stderr).toBe('');
  return stdout;
}

describe('README quick start, run verbatim against the packed library', () => {
  const ts = block('ts');
  const js = block('js');
  const printed = block('text');

  it('is a complete program in both languages, which says how to run it in a CommonJS project', () => {
    for (const code of [ts, js]) {
      expect(code).toMatch(/^import \{ CircuitBreaker, CircuitOpenError \} from 'breakwater';$/m);
      for (const used of [
        'failureThreshold:',
        'recoveryTimeout:',
        'timeout:',
        'isFailure:',
        "breaker.on('stateChange'",
        'breaker.execute(',
      ]) {
        expect(code).toContain(used);
      }
    }
    expect(section).toContain('npm init -y');
    expect(section).toMatch(/`quick-start\.mts`/);
    expect(section).toMatch(/`quick-start\.mjs`/);
  });

  it('the output it shows opens the circuit, then rejects at once without a request', () => {
    const lines = printed.trimEnd().split('\n');
    const opened = lines.findIndex((l) => l.includes('closed → open'));
    const rejected = lines.findIndex((l) => /rejected at once, no request sent/.test(l));
    expect(opened).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(opened);
    expect(lines.at(-1)).toBe('4 requests reached the API for 6 calls');
  });

  const runs = [
    { project: 'esm', packageJson: { name: 'quotes', private: true, type: 'module' }, ts: 'quick-start.ts', js: 'quick-start.js' },
    { project: 'commonjs', packageJson: undefined, ts: 'quick-start.mts', js: 'quick-start.mjs' },
  ];
  for (const r of runs) {
    it(`runs in a fresh ${r.project === 'esm' ? 'ES module' : 'CommonJS (npm init -y)'} project as ${r.ts} and ${r.js}, printing what the README shows`, async () => {
      const dir = project(r.project, r.packageJson);
      if (r.packageJson === undefined)
        expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type ?? 'commonjs').toBe('commonjs');
      const [fromTs, fromJs] = await Promise.all([runProgram(dir, r.ts, ts), runProgram(dir, r.js, js)]);
      for (const out of [fromTs, fromJs]) {
        expect(out).toMatch(/^ {2}\[quotes-api\] closed → open \(failure-threshold\)$/m);
        expect(out).toMatch(/^call 4: rejected at once, no request sent \(circuit open, retry in \d+ ms\)$/m);
        expect(normalized(out)).toBe(normalized(printed));
      }
    }, 300_000);
  }
});
