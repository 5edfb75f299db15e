// Mutation testing of the core: the rules, the breaker, the trackers, validation, snapshots, errors
// and backoff, judged by their own unit, property and model tests. `npm run test:mutation`.
import { base } from './shared.mjs';

export default {
  ...base('core'),
  mutate: [
    'src/core/*.ts',
    '!src/core/types.ts',
    '!src/core/fleet-link.ts',
    'src/trackers/*.ts',
    'src/options/*.ts',
    'src/snapshot/*.ts',
    'src/errors/*.ts',
    'src/backoff/*.ts',
  ],
  thresholds: { high: 95, low: 90, break: 90 },
};
