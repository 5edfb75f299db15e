// A caller's abort after the response has arrived still cancels the body, as it does with plain fetch (a real
// server: the body must actually stream).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerFetch } from '../../src/fetch/index.js';

let server: Server;
let base = '';
const open = new Set<import('node:http').ServerResponse>();

beforeAll(async () => {
  server = createServer((_req, res) => {
    // Headers and a first chunk now; the rest never comes (a slow download).
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk');
    open.add(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Reads the body until it ends or errors; says which. */
async function drain(res: Response, controller: AbortController): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read(); // the first chunk
  controller.abort(new Error('user navigated away'));
  const outcome = await Promise.race([
    reader.read().then(
      () => 'more data',
      (error: unknown) => `aborted: ${(error as Error).message}`,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('still streaming after 300 ms'), 300)),
  ]);
  await reader.cancel().catch(() => undefined);
  return outcome;
}

describe('a caller abort after the response', () => {
  it('plain fetch: aborting the signal while reading the body cancels it', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/stream`, { signal: controller.signal });
    expect(await drain(res, controller)).toBe('aborted: user navigated away');
  });

  it('breaker fetch (no timeout): aborting the signal while reading the body cancels it', async () => {
    const bfetch = createBreakerFetch();
    const controller = new AbortController();
    const res = await bfetch(`${base}/stream`, { signal: controller.signal });
    expect(await drain(res, controller)).toBe('aborted: user navigated away');
  });

  it('breaker fetch (signal on a Request, with a timeout): the same', async () => {
    const bfetch = createBreakerFetch({ breaker: { timeout: 5_000 } });
    const controller = new AbortController();
    const res = await bfetch(new Request(`${base}/stream`, { signal: controller.signal }));
    expect(await drain(res, controller)).toBe('aborted: user navigated away');
  });
});
