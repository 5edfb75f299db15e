// What the tests of `npm run demo` share: a free port to run on, and the processes left in the demo's groups.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

/** A port nothing listens on right now. */
export const freePort = (): Promise<number> =>
  new Promise<number>((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });

/** Processes whose group is one of `groups` (the demo starts each child in its own group). */
export const survivors = (groups: number[]): string[] =>
  execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, pgid]) => groups.includes(Number(pgid)))
    .map((cols) => cols.join(' '));
