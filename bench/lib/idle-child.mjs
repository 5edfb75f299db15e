// Measures one kind of idle breaker in a fresh process (run by memory.mjs), so that what the timed
// scenarios left on the heap cannot blur the figure. Prints one JSON line.
import { measureOne } from './memory.mjs';

const [index, count, repeats] = process.argv.slice(2).map(Number);
process.stdout.write(`${JSON.stringify(await measureOne(index, { count, repeats }))}\n`);
