// A 503 served while the half-open probe is still running: the page keeps saying when to come back, and that
// the probe is under way (the next request is turned away too), not that the next request is the probe.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumFlags, chromiumPath } from '../../scripts/lib/chromium.mjs';
import { createConsumer } from './app.js';

const QUOTE = { quote: 'q', author: 'a', servedAt: '2026-05-04T12:00:00.000Z' };

describe.skipIf(!existsSync(chromiumPath))('503 while a probe is in flight, in Chromium', () => {
  it('the page keeps telling the user when to come back', async () => {
    let release: (() => void) | undefined;
    let mode: 'fail' | 'hang' = 'fail';
    const c = createConsumer(
      {
        host: '127.0.0.1',
        port: 0,
        baseUrl: 'http://quotes.test',
        failureThreshold: 1,
        recoveryTimeout: 300,
        requestTimeout: 5_000,
        maxConcurrent: 0,
      },
      {
        write: () => {},
        fetch: (async (_input: unknown, init?: RequestInit) => {
          if (mode === 'fail') return new Response('boom', { status: 500 });
          return new Promise<Response>((resolve, reject) => {
            release = () => resolve(Response.json(QUOTE));
            init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
          });
        }) as typeof fetch,
      },
    );
    const server = serve({ fetch: c.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    const site = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const profile = mkdtempSync(join(tmpdir(), 'bw-probe-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: [...chromiumFlags],
    });
    try {
      expect((await fetch(site)).status).toBe(502); // opens (threshold 1)
      await new Promise((r) => setTimeout(r, 400)); // recovery over: half-open
      mode = 'hang';
      const probe = fetch(site); // the probe, in flight
      await new Promise((r) => setTimeout(r, 100));

      const page = context.pages()[0] ?? (await context.newPage());
      const res = await page.goto(site);
      expect(res?.status()).toBe(503);
      expect(Number(res?.headers()['retry-after'])).toBeGreaterThanOrEqual(5);
      // A reload now is rejected again: the next request is NOT the probe.
      expect((await fetch(site)).status).toBe(503);

      const shown = await page.evaluate(() => ({
        retryVisible: (document.getElementById('retry')?.offsetParent ?? null) !== null,
        claimsNextIsProbe: Array.from(document.querySelectorAll('.when-half-open')).some((e) => (e as HTMLElement).offsetParent !== null),
        saysProbeRunning: Array.from(document.querySelectorAll('.when-probing')).some((e) => (e as HTMLElement).offsetParent !== null),
      }));
      release?.();
      expect((await probe).status).toBe(200);
      expect(shown).toEqual({ retryVisible: true, claimsNextIsProbe: false, saysProbeRunning: true });
    } finally {
      release?.();
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      c.monitor.close();
      c.closeStreams();
      await new Promise((r) => server.close(r));
    }
  }, 30_000);
});
