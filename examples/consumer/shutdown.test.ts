// Graceful shutdown of the real server process: live-panel streams end, page loads still running finish.
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';

/** GET url; resolves with the status, or with the socket error's code (the connection was cut). */
const get = (url: string) =>
  new Promise<number | string>((resolve) => {
    const req = request(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });

it('SIGTERM lets a page load already in flight finish', async () => {
  // A healthy but slowish quote API: 400 ms per answer (well within REQUEST_TIMEOUT).
  const upstream = createServer((_req, res) => {
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ quote: 'q', author: 'a', servedAt: new Date().toISOString() }));
    }, 400);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;

  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/consumer/server.ts'], {
    env: { ...process.env, PORT: '0', BASE_URL: `http://127.0.0.1:${upstreamPort}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const record = JSON.parse(line) as { event?: string; url?: string };
        if (record.event === 'consumer.listening') resolve(record.url as string);
      });
    });
    expect(await get(`${url}/`)).toBe(200);

    const inFlight = get(`${url}/`);
    await new Promise((r) => setTimeout(r, 100)); // the call to the API is under way (a real process: no fake clock)
    child.kill('SIGTERM');
    // The visitor should get the page (200), not a connection cut mid-request.
    expect(await inFlight).toBe(200);
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await new Promise((resolve) => upstream.close(resolve));
  }
});
