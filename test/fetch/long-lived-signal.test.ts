// One caller signal shared by every request (a server's shutdown signal, say): nothing per request may stay tied
// to it once the request is over.
import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBreakerFetch } from '../../src/fetch/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Collects until `left()` is 0, or 50 rounds have passed (finalizers run in a task of their own, some time after). */
async function collectUntilNone(left: () => number): Promise<number> {
  for (let round = 0; round < 50 && left() > 0; round++) {
    gc();
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
  }
  return left();
}

/** Signals the runtime keeps as followers of `signal` (`AbortSignal.any` records them there). */
function followers(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  const set = key === undefined ? undefined : (signal as unknown as Record<symbol, Set<unknown> | undefined>)[key];
  return set?.size ?? 0;
}

describe('breaker fetch with one long-lived caller signal', () => {
  it('ties nothing to it once requests are over', async () => {
    const fetch = createBreakerFetch({ breaker: { timeout: 5_000 }, fetch: async () => new Response('ok') });
    const shutdown = new AbortController();
    for (let i = 0; i < 3_000; i++) await (await fetch(`https://h${i % 3}.example/`, { signal: shutdown.signal })).text();
    expect(await collectUntilNone(() => getEventListeners(shutdown.signal, 'abort').length + followers(shutdown.signal))).toBe(0);
  });

  it('holds one listener on it at most while requests come and go, however many there are', async () => {
    // Past the runtime's own warning level for one signal (1500): a listener per request would be a leak warning.
    const fetch = createBreakerFetch({ breaker: { timeout: 5_000 }, fetch: async () => new Response('ok') });
    const shutdown = new AbortController();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    let most = 0;
    try {
      for (let i = 0; i < 2_000; i++) {
        await (await fetch(`https://h${i % 3}.example/`, { signal: shutdown.signal })).text();
        most = Math.max(most, getEventListeners(shutdown.signal, 'abort').length + followers(shutdown.signal));
      }
      // A warning is emitted on a later tick.
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(most).toBe(1);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('a request whose fetch rejects leaves nothing either', async () => {
    const fetch = createBreakerFetch({
      breaker: { timeout: 5_000, failureThreshold: 1_000_000 },
      fetch: async () => Promise.reject(new TypeError('fetch failed')),
    });
    const shutdown = new AbortController();
    for (let i = 0; i < 500; i++) await fetch('https://down.example/', { signal: shutdown.signal }).catch(() => undefined);
    expect(await collectUntilNone(() => getEventListeners(shutdown.signal, 'abort').length + followers(shutdown.signal))).toBe(0);
  });
});

describe('breaker fetch where the runtime has no weak references', () => {
  afterEach(() => {
    vi.resetModules();
  });
  // The breaker's listener on the caller's signal (the runtime's `Request` adds one of its own, dropped when collected).
  const ours = (signal: AbortSignal) => getEventListeners(signal, 'abort').filter((listener) => listener.name === 'onAbort').length;
  /** The wrapper as loaded where `FinalizationRegistry` is missing (put back at once: the runtime's own fetch uses it). */
  async function withoutWeakRefs() {
    vi.stubGlobal('FinalizationRegistry', undefined);
    vi.resetModules();
    try {
      return (await import('../../src/fetch/index.js')).createBreakerFetch;
    } finally {
      vi.unstubAllGlobals();
    }
  }

  it('a caller abort still reaches the request after its headers, and the listener goes with it', async () => {
    const create = await withoutWeakRefs();
    let sent: AbortSignal | undefined;
    const fetch = create({
      breaker: { timeout: 5_000 },
      fetch: async (_input, init) => {
        sent = init?.signal ?? undefined;
        return new Response('ok');
      },
    });
    const shutdown = new AbortController();
    await fetch('https://a.example/', { signal: shutdown.signal });
    expect(ours(shutdown.signal)).toBe(1);
    shutdown.abort(new Error('shutting down'));
    expect(sent?.aborted).toBe(true);
    expect(sent?.reason).toEqual(new Error('shutting down'));
    expect(ours(shutdown.signal)).toBe(0);
  });

  it('a timeout aborts the request, and the caller keeps no listener for it', async () => {
    const create = await withoutWeakRefs();
    const fetch = create({
      breaker: { timeout: 20 },
      fetch: (_input, init) =>
        new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason))),
    });
    const shutdown = new AbortController();
    await expect(fetch('https://a.example/', { signal: shutdown.signal })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(ours(shutdown.signal)).toBe(0);
  });
});
