// Mutation testing of the fleet engine (phases, batching, compare-and-set, recovery, the mirror of
// the store's record), judged by the in-memory fleet tests. `npm run test:mutation`.
import { base } from './shared.mjs';

export default {
  ...base('fleet'),
  mutate: [
    'src/fleet/engine.ts',
    'src/fleet/phase.ts',
    'src/fleet/batch.ts',
    'src/fleet/compare-and-set.ts',
    'src/fleet/recovery.ts',
    'src/fleet/mirror.ts',
    'src/fleet/store-link.ts',
    'src/fleet/options.ts',
  ],
  thresholds: { high: 90, low: 80, break: 80 },
};
