// Entry point for a browser page: the result goes where the runner reads it.
import { smoke } from './smoke.mjs';

smoke().then(
  (passed) => {
    globalThis.__smoke = `SMOKE OK ${passed.join(',')}`;
  },
  (error) => {
    globalThis.__smoke = `SMOKE FAILED ${error?.stack ?? error}`;
  },
);
