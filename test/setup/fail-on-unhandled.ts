// Any unhandled rejection or uncaught exception fails the run: the library promises there are none.
import { afterAll } from 'vitest';

const problems: unknown[] = [];
const onProblem = (reason: unknown) => problems.push(reason);
process.on('unhandledRejection', onProblem);
process.on('uncaughtException', onProblem);

afterAll(() => {
  process.off('unhandledRejection', onProblem);
  process.off('uncaughtException', onProblem);
  if (problems.length > 0) throw new Error(`unhandled rejection or uncaught exception: ${problems.map(String).join('; ')}`);
});
