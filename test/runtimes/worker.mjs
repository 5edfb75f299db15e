// Entry point for the Workers runtime: a request runs the smoke test and answers its result.
import { smoke } from './smoke.mjs';

export default {
  async fetch() {
    try {
      return new Response(`SMOKE OK ${(await smoke()).join(',')}`);
    } catch (error) {
      return new Response(`SMOKE FAILED ${error?.stack ?? error}`, { status: 500 });
    }
  },
};
