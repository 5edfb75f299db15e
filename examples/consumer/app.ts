/**
 * The consumer: a Hono app that calls the quote API through one breakwater breaker and
 * shows what the breaker does. `createConsumer` builds it without listening, so tests drive
 * it in-process with `app.request()`.
 */
import { readFileSync } from 'node:fs';
import { type Handler, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { CircuitBreaker, CircuitOpenError, type Clock, ConcurrencyLimitError, type LogRecord } from '../../src/index.js';
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

/** The longest part of a request (path, method) an error message repeats; the rest is cut with an ellipsis. */
export const ECHO_LIMIT = 100;

/** `text`, cut to `ECHO_LIMIT` characters: error bodies never grow with what the client sent. */
export const bounded = (text: string, limit = ECHO_LIMIT): string => (text.length > limit ? `${text.slice(0, limit)}…` : text);

/** What every path answers to; any other method is a 405 with this `Allow`. */
const ALLOW = 'GET, HEAD';

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
    // Past the cap, a call is turned away at once (ConcurrencyLimitError) and the API is not called: a flood
    // cannot pile up a call per connection on an API that hangs while the breaker waits for its first failures.
    ...(config.maxConcurrent > 0 ? { maxConcurrent: config.maxConcurrent } : {}),
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
  });
  const monitor = new Monitor(breaker, config, (level, record, msg) => logger.line(level, record as LogRecord, msg));
  const css = asset('app.css');
  const js = asset('app.js');

  const app = new Hono();
  /** Open live-panel streams: they never end on their own, so shutdown closes them (and only them). */
  const streams = new Set<() => void>();
  /** Every path served: another method than GET or HEAD on one of them is a 405, not a 404. */
  const paths = new Set<string>();
  /** Serves `path` for GET and HEAD (Hono answers HEAD with the GET handler and drops the body). */
  const get = (path: string, handler: Handler) => {
    paths.add(path);
    app.get(path, handler);
  };

  get('/', async (c) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
    if (c.req.method === 'HEAD') {
      // A HEAD has no body to fill: answer with the status the page would have as the breaker stands,
      // without calling the API. 503 while the breaker turns calls away (open, or its probe in flight), or
      // while MAX_CONCURRENT calls are in flight.
      const { retryAfter, inFlight } = breaker.metrics();
      const type = { 'content-type': 'text/html; charset=UTF-8' };
      if (retryAfter > 0) {
        if (Number.isFinite(retryAfter)) c.header('retry-after', String(retryAfterSeconds(retryAfter)));
        return c.body(null, 503, type);
      }
      if (config.maxConcurrent > 0 && inFlight >= config.maxConcurrent) return c.body(null, 503, { ...type, 'retry-after': '1' });
      return c.body(null, 200, type);
    }
    try {
      const quote = await breaker.execute(({ signal }) => fetchQuote(config.baseUrl, signal, fetchImpl));
      return c.html(renderPage({ kind: 'quote', quote }, monitor.view()), 200);
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        if (Number.isFinite(error.retryAfter)) c.header('retry-after', String(retryAfterSeconds(error.retryAfter)));
        return c.html(renderPage({ kind: 'open', retryAfterMs: error.retryAfter }, monitor.view()), 503);
      }
      if (error instanceof ConcurrencyLimitError) {
        // Busy, not broken: the calls in flight settle within REQUEST_TIMEOUT, most much sooner.
        c.header('retry-after', '1');
        return c.html(renderPage({ kind: 'limited' }, monitor.view()), 503);
      }
      return c.html(
        renderPage({ kind: 'upstream-error', detail: describeError(error), counted: isUpstreamFailure(error) }, monitor.view()),
        502,
      );
    }
  });

  get('/api/state', (c) => {
    c.header('cache-control', 'no-store');
    return c.json(monitor.view());
  });

  /** The live panel's feed: the full view now, then on every change. */
  get('/api/events', (c) => {
    // HEAD: the stream's headers only. A stream started for it would never be read, nor ever end.
    if (c.req.method === 'HEAD') return c.body(null, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    return streamSSE(c, async (stream) => {
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
    });
  });

  get('/healthz', (c) => {
    c.header('cache-control', 'no-store');
    // The consumer is healthy while the API is down: that is what the breaker is for.
    return c.json({ status: 'ok', breaker: breaker.state });
  });

  get('/metrics', (c) =>
    c.body(renderMetrics(breaker, monitor), 200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' }),
  );

  get('/assets/app.css', (c) => c.body(css, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }));
  get('/assets/icon.svg', (c) => c.body(ICON, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }));
  get('/favicon.ico', (c) => c.redirect('/assets/icon.svg', 301));
  get('/assets/app.js', (c) => c.body(js, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }));

  app.notFound((c) => {
    const { method, path } = c.req;
    if (paths.has(path)) {
      return c.json({ error: `Method ${bounded(method, 20)} not allowed on ${path}; use ${ALLOW}` }, 405, { allow: ALLOW });
    }
    return c.json({ error: `No route for ${bounded(method, 20)} ${bounded(path)}` }, 404);
  });

  /** Ends every live-panel stream (at shutdown: the server can then finish the requests still running). */
  const closeStreams = () => {
    for (const close of [...streams]) close();
  };
  return { app, breaker, monitor, logger, closeStreams };
}
