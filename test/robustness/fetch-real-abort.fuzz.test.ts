/**
 * The fetch wrapper over the real global fetch and a local server: the caller's signal aborts at random
 * points (before the call, while waiting for headers, after the headers while the body streams, after the
 * body), with and without the breaker's timeout. No unhandled rejection, no hang, no timer left.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerFetch } from '../../src/fetch/index.js';
import { describeValue, Unhandled } from './harness.js';

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const headersAfter = Number(url.searchParams.get('h') ?? 0);
    const bodyFor = Number(url.searchParams.get('b') ?? 0);
    const status = Number(url.searchParams.get('s') ?? 200);
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'text/plain', ...(status === 503 ? { 'retry-after': '1' } : {}) });
      res.write('start ');
      setTimeout(() => res.end('end'), bodyFor);
    }, headersAfter);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('fetch wrapper over real fetch (fuzz)', () => {
  it('aborting at any point leaves no unhandled rejection and every promise settles', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          h: fc.integer({ min: 0, max: 30 }),
          b: fc.integer({ min: 0, max: 30 }),
          s: fc.constantFrom(200, 500, 503),
          abortAt: fc.option(fc.integer({ min: 0, max: 70 }), { nil: undefined }),
          readBody: fc.constantFrom('none', 'text', 'reader'),
          timeout: fc.option(fc.integer({ min: 5, max: 40 }), { nil: undefined }),
          viaRequest: fc.boolean(),
        }),
        async (p) => {
          const unhandled = new Unhandled();
          unhandled.install();
          const problems: string[] = [];
          try {
            const f = createBreakerFetch({
              breaker: { failureThreshold: 100, ...(p.timeout === undefined ? {} : { timeout: p.timeout }) },
            });
            const ctl = new AbortController();
            if (p.abortAt === 0) ctl.abort();
            else if (p.abortAt !== undefined) setTimeout(() => ctl.abort(), p.abortAt);
            const url = `${base}/?h=${p.h}&b=${p.b}&s=${p.s}`;
            let settled = false;
            const call = (p.viaRequest ? f(new Request(url, { signal: ctl.signal })) : f(url, { signal: ctl.signal })).then(
              async (res) => {
                if (p.readBody === 'text') await res.text().catch(() => {});
                else if (p.readBody === 'reader') {
                  const reader = res.body?.getReader();
                  try {
                    while (reader && !(await reader.read()).done) {}
                  } catch {}
                }
              },
              () => {},
            );
            void call.then(() => {
              settled = true;
            });
            await Promise.race([call, sleep(2_000)]);
            if (!settled) problems.push('never settled');
            // Time, not a state: room for a late abort (due 70 ms after the start at most, so it fires first) and for
            // a rejection it sets off to surface; a slow machine only leaves more.
            await sleep(100);
          } finally {
            unhandled.uninstall();
          }
          for (const u of unhandled.seen) problems.push(`unhandled: ${describeValue(u)}`);
          expect(problems).toEqual([]);
        },
      ),
      { numRuns: Number(process.env.FUZZ_REAL_RUNS ?? 60) },
    );
  });
});
