import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Every ```ts block of the README and docs/ is type-checked against the sources, so a renamed option,
 * method or export breaks this test instead of the reader's code. Snippets use the reader's own names
 * (`url`, `app`, `loadUser`); only the errors those cause are allowed. A block preceded by
 * `<!-- not checked -->` (a signature summary, say) is skipped.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const files = [
  'README.md',
  ...readdirSync(`${root}docs`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Errors a snippet may have because the reader's code is left out. */
const ALLOWED = new Set([
  2304, // cannot find name: the reader's own variables and functions
  2552, // cannot find name (with a suggestion): the same
  2355, // a function with a declared return type and a `/* … */` body
  7006, // parameter implicitly any: a callback of the reader's framework, whose types are left out
  7031, // binding element implicitly any: the same, destructured
  18004, // no value for a shorthand property: the reader's own variable (`{ client }`)
]);
/**
 * Modules the project does not install, declared with the members the docs use (as their own docs
 * describe them), so that the snippets around them are checked too.
 */
const STUBS = `
declare module 'axios' {
  export interface AxiosError { response?: { status: number; headers: Record<string, string | undefined> } }
  export function isAxiosError(value: unknown): value is AxiosError;
  const axios: { get(url: string, config?: { signal?: AbortSignal }): Promise<{ data: unknown }> };
  export default axios;
}
`;

interface Snippet {
  readonly file: string;
  readonly line: number;
  readonly code: string;
}

function snippets(): Snippet[] {
  const found: Snippet[] = [];
  for (const file of files) {
    const lines = readFileSync(`${root}${file}`, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] !== '```ts') continue;
      const end = lines.indexOf('```', i + 1);
      if (lines[i - 1]?.trim() !== '<!-- not checked -->') found.push({ file, line: i + 2, code: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return found;
}

const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
  baseUrl: root,
  // Every entry of the package, mapped to its source: without one, `breakwater/…` resolves to the repository's own
  // package (its build in dist/), and the check would depend on whether a build was made first.
  paths: {
    breakwater: ['src/index.ts'],
    'breakwater/prometheus': ['src/exporters/prometheus.ts'],
    'breakwater/opentelemetry': ['src/exporters/opentelemetry.ts'],
    'breakwater/fetch': ['src/fetch/index.ts'],
    'breakwater/redis': ['src/redis/index.ts'],
    'breakwater/fleet': ['src/fleet/index.ts'],
  },
};

describe('code in the README and docs/', () => {
  const all = snippets();

  it('has snippets to check', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it('maps every entry of the package to its source', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, unknown> };
    const entries = Object.keys(pkg.exports)
      .filter((entry) => entry !== './package.json')
      .map((entry) => entry.replace(/^\./, 'breakwater'));
    expect(Object.keys(options.paths ?? {}).sort()).toEqual(entries.sort());
  });

  it('type-checks against the sources', () => {
    const names = all.map((_, i) => `${root}.tmp/snippet-${i}.ts`);
    const stubs = `${root}.tmp/snippet-stubs.d.ts`;
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const getSourceFile = host.getSourceFile.bind(host);
    const byName = new Map(names.map((name, i) => [name, `export {};\n${(all[i] as Snippet).code}\n`]));
    byName.set(stubs, STUBS);
    host.fileExists = (name) => byName.has(name) || ts.sys.fileExists(name);
    host.readFile = (name) => byName.get(name) ?? readFile(name);
    host.getSourceFile = (name, language) => {
      const text = byName.get(name);
      return text === undefined ? getSourceFile(name, language) : ts.createSourceFile(name, text, language, true);
    };
    const program = ts.createProgram([stubs, ...names], options, host);
    const problems: string[] = [];
    for (const [i, name] of names.entries()) {
      const source = program.getSourceFile(name);
      for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
        const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
        if (ALLOWED.has(d.code)) continue;
        const s = all[i] as Snippet;
        const line = d.file === undefined || d.start === undefined ? 0 : d.file.getLineAndCharacterOfPosition(d.start).line;
        problems.push(`${s.file}:${s.line + line - 1}: TS${d.code} ${text}`);
      }
    }
    expect(problems).toEqual([]);
    // One compilation of every snippet: 10 s on an idle machine, over 30 s with every core busy.
  }, 180_000);
});

/** A heading's anchor as the repository's markdown renderer makes it: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(join(root, file), 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (heading)
      anchors.add(
        (heading[1] as string)
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, '')
          .replace(/ /g, '-'),
      );
  }
  return anchors;
}

describe('links in the README and docs/', () => {
  it('every link to a heading reaches one', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const [, target] of readFileSync(join(root, file), 'utf8').matchAll(/\]\(([^)\s]*#[^)\s]+)\)/g)) {
        const [path, anchor] = (target as string).split('#') as [string, string];
        if (/^https?:/.test(path)) continue;
        checked++;
        const dest = path === '' ? file : normalize(join(dirname(file), path));
        if (!existsSync(join(root, dest)) || !anchorsOf(dest).has(anchor)) broken.push(`${file}: ${target}`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });

  it('every relative link to a file reaches one', () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const [, target] of readFileSync(join(root, file), 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)\s]*)?\)/g)) {
        if (/^[a-z]+:/.test(target as string)) continue;
        if (!existsSync(join(root, dirname(file), target as string))) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('the API reference', () => {
  it('covers every entry point the package exports', () => {
    const json = (file: string) => JSON.parse(readFileSync(join(root, file), 'utf8'));
    // Each export's source file, as tsup.config.ts builds it.
    const sources: Record<string, string> = {
      '.': 'src/index.ts',
      './prometheus': 'src/exporters/prometheus.ts',
      './opentelemetry': 'src/exporters/opentelemetry.ts',
      './fetch': 'src/fetch/index.ts',
      './redis': 'src/redis/index.ts',
      './fleet': 'src/fleet/index.ts',
    };
    const exported = Object.keys(json('package.json').exports).filter((key) => key !== './package.json');
    expect(exported.sort()).toEqual(Object.keys(sources).sort());
    expect([...json('typedoc.json').entryPoints].sort()).toEqual(Object.values(sources).sort());
  });
});
