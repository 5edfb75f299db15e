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
  // A quote API that answers when the test says so: the page load is surely in flight at SIGTERM.
  const arrived: Array<() => void> = [];
  let holding = false;
  const answer = (res: import('node:http').ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ quote: 'q', author: 'a', servedAt: new Date().toISOString() }));
  };
  const upstream = createServer((_req, res) => {
    if (!holding) return answer(res);
    for (const notify of arrived.splice(0)) notify();
    held.push(() => answer(res));
  });
  const held: Array<() => void> = [];
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;

  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/consumer/server.ts'], {
    env: { ...process.env, PORT: '0', BASE_URL: `http://127.0.0.1:${upstreamPort}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    let stopping!: () => void;
    const stopped = new Promise<void>((resolve) => (stopping = resolve));
    const url = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const record = JSON.parse(line) as { event?: string; url?: string };
        if (record.event === 'consumer.listening') resolve(record.url as string);
        if (record.event === 'consumer.stopping') stopping();
      });
    });
    expect(await get(`${url}/`)).toBe(200);

    holding = true;
    const reached = new Promise<void>((resolve) => arrived.push(resolve));
    const inFlight = get(`${url}/`);
    await reached; // the page load's call to the API is under way
    child.kill('SIGTERM');
    await stopped; // the server is shutting down with the page load still waiting on the API
    for (const release of held.splice(0)) release();
    // The visitor should get the page (200), not a connection cut mid-request.
    expect(await inFlight).toBe(200);
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await new Promise((resolve) => upstream.close(resolve));
  }
});
