// A caller's abort after the response has arrived still cancels the body, as it does with plain fetch (a real
// server: the body must actually stream).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

/** Reads the first chunk, then aborts and reads on until the body ends or errors; says which. */
async function drain(res: Response, controller: AbortController): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read(); // the first chunk
  return abortWhileReading(reader, controller);
}

async function abortWhileReading(reader: ReadableStreamDefaultReader<Uint8Array>, controller: AbortController): Promise<string> {
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

  it('breaker fetch (with a timeout): the same after collections, with only a reader of the body left', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const bfetch = createBreakerFetch({ breaker: { timeout: 5_000 } });
    const controller = new AbortController();
    // Nothing but the reader is kept: what lets the caller's abort reach the body must survive collections.
    const reader = await bfetch(`${base}/stream`, { signal: controller.signal }).then((res) =>
      (res.body as ReadableStream<Uint8Array>).getReader(),
    );
    await reader.read();
    for (let round = 0; round < 20; round++) {
      gc();
      // Time, not a state: finalizers run in a task of their own, some time after a collection.
      await new Promise<void>((resolve) => setTimeout(resolve, 10));
    }
    expect(await abortWhileReading(reader, controller)).toBe('aborted: user navigated away');
  });
});
