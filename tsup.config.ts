import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'prometheus/index': 'src/prometheus/index.ts',
    'opentelemetry/index': 'src/opentelemetry/index.ts',
    'fetch/index': 'src/fetch/index.ts',
    'redis/index': 'src/redis/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  treeshake: true,
  tsconfig: 'tsconfig.build.json',
  // The integrations import the core by its package name, so they share the one copy of its classes.
  external: ['breakwater'],
});
