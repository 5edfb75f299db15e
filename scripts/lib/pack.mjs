// Shared by the package and runtime tests: build, `npm pack`, and install the tarball into fresh projects.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command, echoing it unless `quiet`; throws with its output when it fails. */
export function run(command, args, { quiet = false, ...options } = {}) {
  if (!quiet) console.log(`$ ${command} ${args.join(' ')}${options.cwd ? `   (in ${options.cwd})` : ''}`);
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${error.status}):\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  }
}

/** Builds the library and packs it as users receive it; returns the tarball's path. */
export function packTarball({ quiet = false } = {}) {
  run(npm, ['run', 'build'], { cwd: root, quiet });
  const out = mkdtempSync(join(tmpdir(), 'breakwater-pack-'));
  const json = run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: root, quiet });
  const [info] = JSON.parse(json.slice(json.indexOf('[')));
  return join(out, info.filename);
}

/**
 * A fresh project in a temporary folder with `files` written and the tarball installed, offline
 * (with `extra` packages, e.g. optional peers, taken from the npm cache when it has them).
 */
export function freshProject(name, tarball, files, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), `breakwater-${name}-`));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
  const offline = extra.length === 0 ? '--offline' : '--prefer-offline';
  run(npm, ['install', offline, '--no-audit', '--no-fund', '--no-package-lock', tarball, ...extra], { cwd: dir });
  return dir;
}
