// Entry point for runtimes that run a module file: prints one line the runner checks.
import { smoke } from './smoke.mjs';

const passed = await smoke();
console.log(`SMOKE OK ${passed.join(',')}`);
