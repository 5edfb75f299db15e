// Mutation testing of the core: the rules, the breaker, the trackers, validation, snapshots, errors
// and backoff, judged by their own unit, property and model tests. `npm run test:mutation`.
import { base } from './shared.mjs';

export default {
  ...base('core'),
  mutate: [
    'src/core/rules.ts',
    'src/core/breaker.ts',
    'src/core/guarded-call.ts',
    'src/core/clock.ts',
    'src/trackers/*.ts',
    'src/options/*.ts',
    'src/snapshot/*.ts',
    'src/errors/*.ts',
    'src/backoff/*.ts',
  ],
  thresholds: { high: 95, low: 90, break: 90 },
};
