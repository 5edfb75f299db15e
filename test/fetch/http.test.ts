// breakwater/fetch against the real global fetch and local HTTP servers: what counts, and on which origin.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerFetch } from '../../src/fetch/index.js';
import { CircuitOpenError } from '../../src/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];
const held = new Set<ServerResponse>();
async function serve(handler: Handler): Promise<{ base: string; hits: () => number; port: number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { base: `http://127.0.0.1:${port}`, hits: () => hits, port };
}
afterAll(async () => {
  for (const res of held) res.destroy();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

let ok: Awaited<ReturnType<typeof serve>>;
let failing: Awaited<ReturnType<typeof serve>>;
let redirector: Awaited<ReturnType<typeof serve>>;
let trickle: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  ok = await serve((req, res) => {
    req.resume();
    res.end('ok');
  });
  failing = await serve((_req, res) => {
    res.writeHead(500);
    res.end('down');
  });
  // Redirects every request to the failing server (another origin: 127.0.0.1 with another port).
  redirector = await serve((_req, res) => {
    res.writeHead(302, { location: `${failing.base}/x` });
    res.end();
  });
  // Headers at once, one chunk, then the body stalls.
  trickle = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first');
    held.add(res);
  });
});

describe("a caller's own mistake is not the upstream's failure", () => {
  it('a request fetch refuses before sending (GET with a body) does not open the origin', async () => {
    const bfetch = createBreakerFetch({ breaker: { failureThreshold: 1 } });
    // Plain fetch refuses this locally; no byte reaches the server.
    await expect(fetch(`${ok.base}/`, { method: 'GET', body: 'x' })).rejects.toThrow(TypeError);
    const before = ok.hits();
    await expect(bfetch(`${ok.base}/`, { method: 'GET', body: 'x' })).rejects.toThrow(TypeError);
    expect(ok.hits()).toBe(before);
    // A refusal of the caller's request does not shut the origin off for everyone.
    expect(bfetch.registry.get(ok.base).state).toBe('closed');
    const res = await bfetch(`${ok.base}/`);
    expect(res.status).toBe(200);
  });

  it('re-sending a Request whose body was already used does not open the origin', async () => {
    const bfetch = createBreakerFetch({ breaker: { failureThreshold: 1 } });
    const req = new Request(`${ok.base}/`, { method: 'POST', body: 'payload' });
    expect((await bfetch(req)).status).toBe(200);
    expect(req.bodyUsed).toBe(true);
    await expect(bfetch(req)).rejects.toThrow(TypeError); // the caller's bug, as with plain fetch
    expect(bfetch.registry.get(ok.base).state).toBe('closed');
  });

  it('a URL with credentials (refused by fetch before sending) does not open the origin', async () => {
    const bfetch = createBreakerFetch({ breaker: { failureThreshold: 1 } });
    const before = ok.hits();
    await expect(bfetch(`http://user:pw@127.0.0.1:${ok.port}/`)).rejects.toThrow(TypeError);
    expect(ok.hits()).toBe(before);
    expect(bfetch.registry.get(ok.base).state).toBe('closed');
  });
});

describe('redirects: fetch follows them within the call', () => {
  it("the outcome counts on the origin of the URL called, not the redirect's target", async () => {
    const bfetch = createBreakerFetch({ breaker: { failureThreshold: 1 } });
    const res = await bfetch(`${redirector.base}/`);
    expect(res.status).toBe(500);
    expect(res.url.startsWith(failing.base)).toBe(true);
    expect(bfetch.registry.get(redirector.base).state).toBe('open');
    expect(bfetch.registry.has(failing.base)).toBe(false);
  });

  it('an open target is reached through a redirect: the circuit guards the URLs of its origin', async () => {
    const bfetch = createBreakerFetch({ breaker: { failureThreshold: 1, recoveryTimeout: 60_000 } });
    await bfetch(`${failing.base}/`);
    await expect(bfetch(`${failing.base}/`)).rejects.toBeInstanceOf(CircuitOpenError);
    const before = failing.hits();
    await bfetch(`${redirector.base}/`);
    expect(failing.hits()).toBe(before + 1);
  });
});

describe('the response is judged at its headers', () => {
  it("the breaker's timeout bounds the wait for headers, not the body: a stalled body is the caller's to bound", async () => {
    const bfetch = createBreakerFetch({ breaker: { failureThreshold: 1, timeout: 50 } });
    const res = await bfetch(`${trickle.base}/`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const outcome = await Promise.race([
      reader.read().then(() => 'more'),
      new Promise<string>((r) => setTimeout(() => r('still waiting'), 200)),
    ]);
    await reader.cancel().catch(() => undefined);
    expect(outcome).toBe('still waiting');
    expect(bfetch.registry.get(trickle.base).metrics()).toMatchObject({ successes: 1, timeouts: 0, state: 'closed' });
  });

  it('an error while reading the body reaches the caller and does not count', async () => {
    const cut = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const bfetch = createBreakerFetch({ breaker: { failureThreshold: 1 } });
    const res = await bfetch(`${cut.base}/`);
    await expect(res.text()).rejects.toThrow(TypeError);
    expect(bfetch.registry.get(cut.base).metrics()).toMatchObject({ successes: 1, failures: 0, state: 'closed' });
  });
});

describe('a Request passed through unchanged', () => {
  it("keeps the Request's referrer, with or without a signal in play", async () => {
    const echo = await serve((req, res) => res.end(req.headers.referer ?? 'none'));
    const make = () => new Request(`${echo.base}/x`, { referrer: `${echo.base}/page`, referrerPolicy: 'unsafe-url' });
    // Plain fetch sends it.
    expect(await (await fetch(make())).text()).toBe(`${echo.base}/page`);
    const bfetch = createBreakerFetch();
    expect(await (await bfetch(make())).text()).toBe(`${echo.base}/page`);
    const timed = createBreakerFetch({ breaker: { timeout: 5_000 } });
    expect(await (await timed(make())).text()).toBe(`${echo.base}/page`);
  });
});
