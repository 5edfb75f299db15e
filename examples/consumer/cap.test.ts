// The cap on calls in flight (MAX_CONCURRENT), end to end: the real server process in front of an API that holds
// every call until the test lets it go.
import { spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import type { StateView } from './monitor.js';

/** Resolves once `condition()` holds; rejects after `ms` (no fixed sleeps: the machine may be slow or fast). */
async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it('with MAX_CONCURRENT=2 and two page loads waiting on the API, a third is a 503 with Retry-After: 1 at once, without a call', async () => {
  const held: ServerResponse[] = [];
  let calls = 0;
  const upstream = createServer((req, res) => {
    if (req.url !== '/quote') return void res.writeHead(404).end();
    calls++;
    held.push(res);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const release = () => {
    for (const res of held.splice(0)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ quote: 'q', author: 'a', servedAt: new Date().toISOString() }));
    }
  };

  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/consumer/server.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      BASE_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      MAX_CONCURRENT: '2',
      REQUEST_TIMEOUT: '20000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the consumer exited with ${code} before listening`)));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const record = JSON.parse(line) as { event?: string; url?: string; maxConcurrent?: number };
        if (record.event === 'consumer.listening') {
          expect(record.maxConcurrent).toBe(2);
          resolve(record.url as string);
        }
      });
    });

    const first = fetch(`${url}/`);
    const second = fetch(`${url}/`);
    await until(() => calls === 2, 'two calls held by the API');

    const started = Date.now();
    const res = await fetch(`${url}/`);
    const page = await res.text();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page).toContain('data-kind="limited"');
    expect(page).toContain('Too many requests at once');
    expect(page).toContain('MAX_CONCURRENT');
    expect(page).not.toContain('The circuit breaker is open');
    // At once: far below the 20 s the held calls may take.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(calls).toBe(2);

    const busy = (await (await fetch(`${url}/api/state`)).json()) as StateView;
    expect(busy).toMatchObject({ state: 'closed', consecutiveFailures: 0, settings: { maxConcurrent: 2 } });
    expect(busy.counts).toMatchObject({ limited: 1, rejected: 0, failures: 0, successes: 0 });

    release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    // The slots are free again: the next page load calls the API.
    const again = fetch(`${url}/`);
    await until(() => calls === 3, 'a third call once the slots are free');
    release();
    expect((await again).status).toBe(200);
  } finally {
    release();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await new Promise((resolve) => upstream.close(resolve));
  }
});
