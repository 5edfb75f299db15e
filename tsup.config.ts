import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'prometheus/index': 'src/exporters/prometheus.ts',
    'opentelemetry/index': 'src/exporters/opentelemetry.ts',
    'fetch/index': 'src/fetch/index.ts',
    'redis/index': 'src/redis/index.ts',
    'fleet/index': 'src/fleet/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  treeshake: true,
  tsconfig: 'tsconfig.build.json',
  // The integrations import the core (and breakwater/redis the fleet engine) by package name, so they share one copy.
  external: ['breakwater', 'breakwater/fleet'],
});
