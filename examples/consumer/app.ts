/**
 * The consumer: a Hono app that calls the quote API through one breakwater breaker and
 * shows what the breaker does. `createConsumer` builds it without listening, so tests drive
 * it in-process with `app.request()`.
 */
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { CircuitBreaker, CircuitOpenError, type Clock, type LogRecord } from '../../src/index.js';
import type { Config } from './config.js';
import { jsonLogger, type LineWriter, stdoutWriter } from './log.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { Monitor } from './monitor.js';
import { renderPage } from './page.js';
import { describeError, fetchQuote, isUpstreamFailure } from './upstream.js';

/** What the consumer depends on besides its configuration; every field has a default. */
export interface ConsumerDeps {
  /** Where JSON log lines go (default stdout). */
  readonly write?: LineWriter;
  /** The fetch used for the quote API (default the global one, which msw intercepts in tests). */
  readonly fetch?: typeof fetch;
  /** The breaker's clock (tests move it instead of waiting). */
  readonly clock?: Clock;
}

/** Whole seconds for `Retry-After`: rounded up, at least 1 (a client retrying sooner would be rejected again). */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Three arcs in the states' colours. */
const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#0f172a"/><circle cx="16" cy="16" r="9" fill="none" stroke-width="5" stroke="#16a34a" stroke-dasharray="19 38"/><circle cx="16" cy="16" r="9" fill="none" stroke-width="5" stroke="#d97706" stroke-dasharray="0 19 19 38"/><circle cx="16" cy="16" r="9" fill="none" stroke-width="5" stroke="#dc2626" stroke-dasharray="0 38 19 0"/></svg>';

const asset = (name: string) => readFileSync(new URL(`./public/${name}`, import.meta.url), 'utf8');

/**
 * Builds the consumer: one breaker around the quote API, its monitor, and the Hono app with
 * `GET /`, `/api/state`, `/api/events`, `/healthz`, `/metrics` and the page's assets.
 */
export function createConsumer(config: Config, deps: ConsumerDeps = {}) {
  const logger = jsonLogger(deps.write ?? stdoutWriter);
  const fetchImpl = deps.fetch ?? ((input, init) => fetch(input, init));
  const breaker = new CircuitBreaker({
    name: 'quote-api',
    failureThreshold: config.failureThreshold,
    recoveryTimeout: config.recoveryTimeout,
    timeout: config.requestTimeout,
    // The probe is settled by the timeout at the latest: callers turned away meanwhile are told to come back
    // within that (Retry-After), not after the default minute.
    maxProbeWait: config.requestTimeout + 1_000,
    isFailure: isUpstreamFailure,
    logger,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
  });
  const monitor = new Monitor(breaker, config, (level, record, msg) => logger.line(level, record as LogRecord, msg));
  const css = asset('app.css');
  const js = asset('app.js');

  const app = new Hono();
  /** Open live-panel streams: they never end on their own, so shutdown closes them (and only them). */
  const streams = new Set<() => void>();

  app.get('/', async (c) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
    try {
      const quote = await breaker.execute(({ signal }) => fetchQuote(config.baseUrl, signal, fetchImpl));
      return c.html(renderPage({ kind: 'quote', quote }, monitor.view()), 200);
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        if (Number.isFinite(error.retryAfter)) c.header('retry-after', String(retryAfterSeconds(error.retryAfter)));
        return c.html(renderPage({ kind: 'open', retryAfterMs: error.retryAfter }, monitor.view()), 503);
      }
      return c.html(
        renderPage({ kind: 'upstream-error', detail: describeError(error), counted: isUpstreamFailure(error) }, monitor.view()),
        502,
      );
    }
  });

  app.get('/api/state', (c) => {
    c.header('cache-control', 'no-store');
    return c.json(monitor.view());
  });

  /** The live panel's feed: the full view now, then on every change. */
  app.get('/api/events', (c) =>
    streamSSE(c, async (stream) => {
      let id = 0;
      const send = (view: unknown) =>
        stream.writeSSE({ event: 'state', id: String(++id), data: JSON.stringify(view) }).catch(() => stream.abort());
      const off = monitor.subscribe((view) => void send(view));
      let closed = false;
      const end = () => {
        closed = true;
        off();
        streams.delete(close);
      };
      const close = () => {
        end();
        void stream.close();
      };
      streams.add(close);
      stream.onAbort(end);
      await send(monitor.view());
      // Keep-alive comments; also ends the handler once the client leaves.
      while (!closed) {
        await stream.sleep(15_000);
        if (!closed) await stream.write(': keep-alive\n\n').catch(() => stream.abort());
      }
    }),
  );

  app.get('/healthz', (c) => {
    c.header('cache-control', 'no-store');
    // The consumer is healthy while the API is down: that is what the breaker is for.
    return c.json({ status: 'ok', breaker: breaker.state });
  });

  app.get('/metrics', (c) =>
    c.body(renderMetrics(breaker, monitor), 200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' }),
  );

  app.get('/assets/app.css', (c) => c.body(css, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }));
  app.get('/assets/icon.svg', (c) => c.body(ICON, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }));
  app.get('/favicon.ico', (c) => c.redirect('/assets/icon.svg', 301));
  app.get('/assets/app.js', (c) => c.body(js, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }));

  app.notFound((c) => c.json({ error: `No route for ${c.req.method} ${c.req.path}` }, 404));

  /** Ends every live-panel stream (at shutdown: the server can then finish the requests still running). */
  const closeStreams = () => {
    for (const close of [...streams]) close();
  };
  return { app, breaker, monitor, logger, closeStreams };
}
