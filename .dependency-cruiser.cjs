// The import rules of src/, checked by dependency-cruiser: `npm run check:deps`.
// Type-only imports are seen too (tsPreCompilationDeps), and told apart from imports that load code at run time.

/** The fleet engine and the integrations: what the core entry must not pull in. */
const OUTSIDE_THE_CORE = '^src/(fleet|redis|fetch|exporters)/';
/**
 * The store contract (BreakerStore and the types of a breaker joining a store) is types only. The core names
 * it in its options and its breaker, so a type-only import of it is allowed; no code of src/fleet is.
 */
const STORE_CONTRACT = '^src/fleet/contract[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle of imports in src/ that load code: module initialisation order then depends on which file is imported first.',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-circular-types',
      severity: 'error',
      comment: 'A cycle in src/ with a type-only import in it: harmless at run time, but modules that cannot be understood apart.',
      from: { path: '^src/' },
      to: { circular: true, via: { dependencyTypes: ['type-only'] } },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A file of src/ that nothing imports and that imports nothing: dead, or an entry point missing from tsup.config.ts.',
      from: { orphan: true, path: '^src/', pathNot: '[.]d[.]ts$' },
      to: {},
    },
    {
      name: 'core-free-of-fleet',
      severity: 'error',
      comment:
        'src/core, src/trackers and src/options (the core entry) must not load the fleet engine or an integration: ' +
        'they ship in `breakwater`, the fleet engine in `breakwater/fleet`.',
      from: { path: '^src/(core|trackers|options)/' },
      to: { path: OUTSIDE_THE_CORE, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-free-of-fleet-types',
      severity: 'error',
      comment:
        'The core may name the store contract (src/fleet/contract.ts, types only), and no other type of the fleet or an integration.',
      from: { path: '^src/(core|trackers|options)/' },
      to: { path: OUTSIDE_THE_CORE, pathNot: STORE_CONTRACT, dependencyTypes: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|node_modules)/' },
    tsPreCompilationDeps: true,
    // Resolves `breakwater` and `breakwater/fleet` (imported by name from the integrations) to src/ through "paths".
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.cjs', '.d.ts'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
