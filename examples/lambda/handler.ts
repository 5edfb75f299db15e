/**
 * The upstream API of the demo: a Lambda function behind an API Gateway HTTP API (payload v2.0).
 *
 *   GET /quote   → 200 {quote, author, servedAt}, or the injected fault
 *   GET /stats   → 200 {invocations, quoteCalls, fault} (read-only: lets tests count the calls that arrived)
 *   PUT /fault   → 200 {fault}; needs the `x-api-key` header (FAULT_API_KEY, demo default "demo-key")
 *
 * The gateway sends every route here (`$default`), so unknown paths and wrong methods get
 * this API's own JSON errors (404 / 405) rather than the gateway's. An event that is not an HTTP API
 * v2.0 request (the function invoked directly with `{}`, `null`, `[]`…) gets a 400; an unexpected
 * error a 500. Neither answer carries a stack trace.
 */
import { timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { applyFaultPatch, type Fault, FaultInputError, faultFromEnv } from './faults.js';
import { pickQuote } from './quotes.js';

/** The demo's API key when FAULT_API_KEY is not set. Set your own for anything reachable by others. */
export const DEMO_API_KEY = 'demo-key';

type Result = APIGatewayProxyStructuredResultV2;
type Route = (event: APIGatewayProxyEventV2) => Result | Promise<Result>;

/** What the API depends on, injectable for tests. */
export interface ApiDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  /** Where an unexpected error is reported (default console.error, which Lambda sends to its logs). */
  readonly logError?: (error: unknown) => void;
}

const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): Result => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
});

/** The longest part of a request an error message repeats: error bodies never grow with the input. */
export const ECHO_LIMIT = 100;

const bounded = (text: string, limit = ECHO_LIMIT): string => (text.length > limit ? `${text.slice(0, limit)}…` : text);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const kindOf = (value: unknown): string =>
  value === null || value === undefined ? String(value) : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

/**
 * Why `event` is not an API Gateway HTTP API (payload v2.0) request this handler can route, or undefined
 * when it is one. Checks only what the handler reads.
 */
export function malformed(event: unknown): string | undefined {
  if (!isObject(event)) return `the event is ${kindOf(event)}, not an object`;
  if (typeof event.rawPath !== 'string' || !event.rawPath.startsWith('/')) return 'rawPath must be a string starting with /';
  const http = isObject(event.requestContext) ? event.requestContext.http : undefined;
  if (!isObject(http) || typeof http.method !== 'string' || http.method === '') {
    return 'requestContext.http.method must be a non-empty string';
  }
  if (event.headers !== undefined && !isObject(event.headers)) return 'headers must be an object';
  if (event.body !== undefined && event.body !== null && typeof event.body !== 'string') return 'body must be a string';
  if (event.isBase64Encoded !== undefined && typeof event.isBase64Encoded !== 'boolean') return 'isBase64Encoded must be a boolean';
  return undefined;
}

const sameKey = (given: string, expected: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** Builds a handler with its own fault and counters (one per warm container). */
export function createApi(deps: ApiDeps = {}) {
  const env = deps.env ?? {};
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? (() => new Date());
  const logError = deps.logError ?? ((error: unknown) => console.error(error));
  const apiKey = env.FAULT_API_KEY || DEMO_API_KEY;
  let fault: Fault = faultFromEnv(env);
  let invocations = 0;
  let quoteCalls = 0;

  const faultView = () => ({ mode: fault.mode, ratio: fault.ratio, delayMs: fault.delayMs, quote: fault.quote });

  const quote: Route = async () => {
    quoteCalls++;
    if (fault.mode === 'error') return json(500, { error: 'Injected fault: mode "error"' });
    if (fault.mode === 'flaky' && random() < fault.ratio) return json(503, { error: 'Injected fault: mode "flaky"' });
    if (fault.mode === 'slow') await sleep(fault.delayMs);
    const { quote: text, author } = fault.quote ?? pickQuote(random);
    return json(200, { quote: text, author, servedAt: now().toISOString() });
  };

  const stats: Route = () => json(200, { invocations, quoteCalls, fault: faultView() });

  const putFault: Route = (event) => {
    const key = event.headers?.['x-api-key'];
    if (key === undefined || key === '') return json(401, { error: 'Missing x-api-key header' }, { 'www-authenticate': 'ApiKey' });
    if (!sameKey(key, apiKey)) return json(403, { error: 'Invalid API key' });
    const raw =
      event.body === undefined || event.body === null
        ? ''
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').toString('utf8')
          : event.body;
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return json(400, { error: 'The body must be JSON such as {"mode":"error"}' });
    }
    try {
      fault = applyFaultPatch(fault, body);
    } catch (error) {
      if (error instanceof FaultInputError) return json(400, { error: error.message });
      throw error;
    }
    return json(200, { fault: faultView() });
  };

  const routes: Record<string, Record<string, Route>> = {
    '/quote': { GET: quote },
    '/stats': { GET: stats },
    '/fault': { PUT: putFault },
  };

  const dispatch = (event: APIGatewayProxyEventV2): Result | Promise<Result> => {
    const path = event.rawPath.length > 1 ? event.rawPath.replace(/\/+$/, '') : event.rawPath;
    const method = event.requestContext.http.method.toUpperCase();
    const methods = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (methods === undefined) return json(404, { error: `No route for ${bounded(method, 20)} ${bounded(path)}` });
    const route = Object.hasOwn(methods, method) ? methods[method] : undefined;
    if (route === undefined) {
      const allow = Object.keys(methods).join(', ');
      return json(405, { error: `Method ${bounded(method, 20)} not allowed on ${path}; use ${allow}` }, { allow });
    }
    return route(event);
  };

  return async function handler(event: APIGatewayProxyEventV2): Promise<Result> {
    invocations++;
    // Invoked directly (console, SDK, a test event), the function gets whatever JSON was sent: answer that
    // with a 400 instead of a TypeError whose stack trace the runtime would send back.
    const problem = malformed(event as unknown);
    if (problem !== undefined) {
      return json(400, { error: `Expected an API Gateway HTTP API (payload v2.0) request event: ${problem}` });
    }
    try {
      return await dispatch(event);
    } catch (error) {
      logError(error);
      return json(500, { error: 'Internal error' });
    }
  };
}

/** The Lambda entry point (`handler.handler` in serverless.yml). */
export const handler = createApi({ env: process.env });
