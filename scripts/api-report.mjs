// The public API surface of each entry point, as API Extractor sees it in the built declarations.
//
//   node scripts/api-report.mjs --write   rewrites etc/api/<entry>.api.md (what `npm run api` does after a build)
//   node scripts/api-report.mjs           compares them with fresh reports and fails, printing the diff, when one
//                                         differs or is missing (`npm run api:check`; needs `npm run build` first)
//
// The check also fails when a report names one of INTERNAL_NAMES below (--write only lists them): those are
// the engine's own types, and a public signature that mentions one of them makes it part of the API by accident.
//
// The entries are read from package.json "exports" (the ESM "types" of each); a report is named after the
// import path: `breakwater` → breakwater.api.md, `breakwater/fleet` → breakwater-fleet.api.md. The shared
// settings (message levels, where reports go) are in api-extractor.json.
//
// tsup splits the declarations it shares between entries into a chunk (dist/validate-<hash>.d.ts) that the
// entries re-export under short aliases (`export { f as CircuitBreakerOptions } from './validate-….js'`).
// API Extractor follows those relative imports and undoes the aliases itself, so each report lists the real
// names, and the chunk's hashed file name never appears in a report.
//
// The other entries import `breakwater` and `breakwater/fleet` by package name. TypeScript resolves those
// through the package's own "exports" (a self-reference) to dist/, which API Extractor would take for local
// files and copy the whole core into every report. So "paths" sends them to the same files through
// .tmp/api/node_modules/breakwater (a link to dist/): a path under node_modules is an external package, and
// the report shows `import { CircuitBreaker } from 'breakwater'` instead.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

/**
 * Names of internal types that must not appear in any public API report (after each: where it is declared
 * today). Each is a type of the core or the fleet engine that users neither build nor receive; when one
 * shows up (as an export, in a signature, or in an "ae-forgotten-export" warning), a public declaration
 * leaks it. Matched as whole words, case-sensitive. Remove a name only when the type is meant to become
 * public, documented API.
 */
const INTERNAL_NAMES = [
  'Settings', // src/options/validate.ts: the options after validation, defaults filled in
  'Rules', // src/core/rules.ts: the settings the transition rules read
  'FleetHost', // src/fleet/contract.ts: what the fleet engine may see and do in its breaker
  'FleetLink', // src/fleet/contract.ts: what a breaker holds of the fleet engine its store started
  'FailureTracker', // src/trackers/tracker.ts: the consecutive / count-window / time-window trackers
  'Circuit', // src/core/rules.ts: the whole state of a circuit as plain data
  'ProbeTicket', // src/fleet/contract.ts: what the store decided for a call that found the circuit half-open
  'ControlOp', // src/fleet/contract.ts: manual controls that act on the shared circuit
  'Outcome', // src/core/rules.ts: SUCCESS | FAILURE | NEUTRAL
  'Admission', // src/core/rules.ts: what the circuit does with a call that arrives now
  'TimeSource', // src/core/rules.ts: a time or a clock, read only when needed
  'RateRule', // src/trackers/tracker.ts: the thresholds shared by the windowed trackers
];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const write = process.argv.includes('--write');
const configFile = join(root, 'api-extractor.json');
const reportFolder = join(root, 'etc/api');
const tempFolder = join(root, '.tmp/api');

/** `.` → `breakwater`, `./fleet` → `breakwater-fleet`, with the ESM declaration file of each. */
function entries() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const out = [];
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const types = target?.import?.types;
    if (typeof types !== 'string') continue;
    const importPath = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
    out.push({ importPath, name: importPath.replaceAll('/', '-'), dts: join(root, types) });
  }
  return out;
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function fail(message) {
  console.error(`\napi-report: ${message}`);
  process.exitCode = 1;
}

const list = entries();
const missing = list.filter((e) => !existsSync(e.dts));
if (missing.length > 0) {
  fail(`no declarations for ${missing.map((e) => relative(root, e.dts)).join(', ')}: run \`npm run build\` first.`);
  process.exit();
}
const oldestDts = Math.min(...list.map((e) => statSync(e.dts).mtimeMs));
if (newestMtime(join(root, 'src')) > oldestDts) {
  fail('dist/ is older than src/: run `npm run build` first, the reports are made from the built declarations.');
  process.exit();
}

mkdirSync(reportFolder, { recursive: true });
const linkFolder = join(tempFolder, 'node_modules');
mkdirSync(linkFolder, { recursive: true });
rmSync(join(linkFolder, 'breakwater'), { force: true });
symlinkSync(relative(linkFolder, join(root, 'dist')), join(linkFolder, 'breakwater'), 'dir');
/** Each entry's import path → its declarations seen through the link, e.g. `breakwater/fleet` → …/breakwater/fleet/index.d.ts. */
const paths = Object.fromEntries(list.map((e) => [e.importPath, [join(linkFolder, 'breakwater', relative(join(root, 'dist'), e.dts))]]));

/** API Extractor's own news about the report files: said below, per entry and with the diff. */
const QUIET_CONSOLE_MESSAGES = new Set([
  'console-api-report-not-copied', // "You have changed the API signature… copy the file…"
  'console-api-report-copied',
  'console-api-report-created',
  'console-api-report-unchanged',
  'console-writing-api-report',
]);
let compilerNoticeShown = false;

const base = ExtractorConfig.loadFile(configFile);
const changed = [];
const leaks = [];
let broken = false;

for (const entry of list) {
  const configObject = structuredClone(base);
  configObject.mainEntryPointFilePath = entry.dts;
  const tsconfig = configObject.compiler.overrideTsconfig;
  tsconfig.compilerOptions = { ...tsconfig.compilerOptions, paths };
  tsconfig.files = [entry.dts];
  configObject.apiReport = { ...configObject.apiReport, reportFileName: entry.name, reportFolder, reportTempFolder: tempFolder };
  const config = ExtractorConfig.prepare({
    configObject,
    configObjectFullPath: configFile,
    packageJsonFullPath: join(root, 'package.json'),
  });
  const result = Extractor.invoke(config, {
    // A local build writes the report into etc/api/; otherwise it is only written to .tmp/api/ and compared.
    localBuild: write,
    messageCallback(message) {
      if (message.messageId === 'console-preamble') {
        // "Analysis will use the bundled TypeScript version …": said once, not once per entry.
        if (!compilerNoticeShown) console.log(`API Extractor ${Extractor.version}: ${message.text}`);
        compilerNoticeShown = true;
        message.handled = true;
      } else if (QUIET_CONSOLE_MESSAGES.has(message.messageId)) {
        message.handled = true;
      }
    },
  });
  if (result.errorCount > 0) {
    broken = true;
    fail(`${entry.importPath}: API Extractor reported ${result.errorCount} error(s), see above.`);
  }

  const reportFile = join(reportFolder, `${entry.name}.api.md`);
  const tempFile = join(tempFolder, `${entry.name}.api.md`);
  if (!write && result.apiReportChanged) changed.push({ entry, reportFile, tempFile });

  const text = readFileSync(write ? reportFile : tempFile, 'utf8');
  text.split('\n').forEach((line, i) => {
    const names = INTERNAL_NAMES.filter((name) => new RegExp(`\\b${name}\\b`).test(line));
    if (names.length > 0) leaks.push({ file: relative(root, reportFile), line: i + 1, names, text: line.trim() });
  });
  console.log(
    `${entry.importPath}: ${relative(root, reportFile)}${write ? ' written' : result.apiReportChanged ? ' DIFFERS' : ' up to date'}`,
  );
}

for (const { entry, reportFile, tempFile } of changed) {
  console.error(`\n--- ${entry.importPath}: the API differs from ${relative(root, reportFile)} ---`);
  if (!existsSync(reportFile)) {
    console.error(`${relative(root, reportFile)} is missing (new entry point?).`);
    continue;
  }
  try {
    execFileSync('diff', ['-u', '--label', relative(root, reportFile), '--label', 'built', reportFile, tempFile], { stdio: 'inherit' });
  } catch {
    // diff exits with 1 when the files differ: the diff has been printed.
  }
}
if (changed.length > 0) {
  fail(
    `${changed.length} API report(s) out of date: ${changed.map((c) => relative(root, c.reportFile)).join(', ')}.\n` +
      'If the change is intended, run `npm run api` and commit etc/api/.',
  );
}

if (leaks.length > 0) {
  const names = [...new Set(leaks.flatMap((l) => l.names))].sort();
  console.error(`\napi-report: internal type(s) in the public API: ${names.join(', ')}`);
  // Per report and name: the lines, and one that uses the name (a signature rather than its own declaration).
  for (const file of new Set(leaks.map((l) => l.file))) {
    console.error(`  ${file}`);
    for (const name of names) {
      const hits = leaks.filter((l) => l.file === file && l.names.includes(name));
      if (hits.length === 0) continue;
      const declaration = new RegExp(`^(export )?(declare )?(interface|type|class|const|function|enum) ${name}\\b`);
      const example =
        hits.find((l) => !l.text.startsWith('//') && !declaration.test(l.text)) ?? hits.find((l) => !l.text.startsWith('//')) ?? hits[0];
      console.error(`    ${name}: line${hits.length > 1 ? 's' : ''} ${hits.map((l) => l.line).join(', ')}, e.g. \`${example.text}\``);
    }
  }
  const message =
    `${leaks.length} line(s) of the API reports name internal types (list: INTERNAL_NAMES in scripts/api-report.mjs). ` +
    'A public declaration exposes them: export a public type in their place, or keep them out of the signature.';
  if (write) console.error(`\napi-report: warning: ${message} \`npm run api:check\` fails until then.`);
  else fail(message);
} else if (!broken && changed.length === 0) {
  console.log('api-report: no internal type in the public API.');
}
