import { describe, expect, it, vi } from 'vitest';
import { v2Event } from './events.js';
import { createApi, DEMO_API_KEY } from './handler.js';
import { QUOTES } from './quotes.js';

const NOW = new Date('2026-05-04T12:00:00.000Z');
const api = (env: Record<string, string> = {}, random = () => 0) =>
  createApi({ env, random, now: () => NOW, sleep: vi.fn(async () => undefined) });
const body = (result: { body?: string }) => JSON.parse(result.body ?? 'null');
const putFault = (payload: unknown, key: string | null = DEMO_API_KEY, raw?: string) =>
  v2Event('PUT', '/fault', {
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'x-api-key': key }) },
    body: raw ?? JSON.stringify(payload),
  });

describe('GET /quote', () => {
  it('returns a quote, its author and when it was served', async () => {
    const res = await api()(v2Event('GET', '/quote'));
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['content-type']).toMatch(/^application\/json/);
    expect(body(res)).toEqual({ ...QUOTES[0], servedAt: NOW.toISOString() });
  });

  it('accepts a trailing slash', async () => {
    expect((await api()(v2Event('GET', '/quote/'))).statusCode).toBe(200);
  });
});

describe('fault injection', () => {
  it('mode error answers 500 with a JSON error', async () => {
    const res = await api({ FAULT_MODE: 'error' })(v2Event('GET', '/quote'));
    expect(res.statusCode).toBe(500);
    expect(body(res).error).toMatch(/error/);
  });

  it('mode flaky fails the given ratio of calls with 503', async () => {
    const handle = api({ FAULT_MODE: 'flaky', FAULT_RATIO: '0.3' }, vi.fn().mockReturnValueOnce(0.29).mockReturnValue(0.3));
    expect((await handle(v2Event('GET', '/quote'))).statusCode).toBe(503);
    expect((await handle(v2Event('GET', '/quote'))).statusCode).toBe(200);
  });

  it('mode slow waits the configured delay, then answers', async () => {
    const sleep = vi.fn(async () => undefined);
    const handle = createApi({ env: { FAULT_MODE: 'slow', FAULT_DELAY_MS: '1234' }, sleep });
    expect((await handle(v2Event('GET', '/quote'))).statusCode).toBe(200);
    expect(sleep).toHaveBeenCalledWith(1234);
  });

  it('refuses an unknown FAULT_MODE at start', () => {
    expect(() => api({ FAULT_MODE: 'chaos' })).toThrow(/FAULT_MODE must be one of none \| error \| slow \| flaky; got "chaos"/);
  });

  it('PUT /fault switches the mode at run time', async () => {
    const handle = api();
    const res = await handle(putFault({ mode: 'error' }));
    expect(res.statusCode).toBe(200);
    expect(body(res).fault).toMatchObject({ mode: 'error' });
    expect((await handle(v2Event('GET', '/quote'))).statusCode).toBe(500);
    await handle(putFault({ mode: 'none' }));
    expect((await handle(v2Event('GET', '/quote'))).statusCode).toBe(200);
  });

  it('PUT /fault reads a base64-encoded body', async () => {
    const handle = api();
    const event = v2Event('PUT', '/fault', { headers: { 'x-api-key': DEMO_API_KEY }, body: '{"mode":"error"}', base64: true });
    expect((await handle(event)).statusCode).toBe(200);
    expect((await handle(v2Event('GET', '/quote'))).statusCode).toBe(500);
  });

  it('serves an override quote verbatim (the API does not escape; the consumer must)', async () => {
    const handle = api();
    const hostile = { quote: '<img src=x onerror=alert(1)>', author: '<script>alert(2)</script>' };
    await handle(putFault({ quote: hostile }));
    expect(body(await handle(v2Event('GET', '/quote')))).toMatchObject(hostile);
    await handle(putFault({ quote: null }));
    expect(body(await handle(v2Event('GET', '/quote'))).quote).toBe(QUOTES[0]?.quote);
  });

  it('uses the API key from FAULT_API_KEY when set', async () => {
    const handle = api({ FAULT_API_KEY: 's3cret' });
    expect((await handle(putFault({ mode: 'error' }))).statusCode).toBe(403);
    expect((await handle(putFault({ mode: 'error' }, 's3cret'))).statusCode).toBe(200);
  });
});

describe('bad input gets a JSON error with the right status', () => {
  const cases: Array<[string, () => ReturnType<typeof putFault>, number, RegExp]> = [
    ['no API key', () => putFault({ mode: 'error' }, null), 401, /Missing x-api-key/],
    ['a wrong API key', () => putFault({ mode: 'error' }, 'nope'), 403, /Invalid API key/],
    ['a wrong key of the same length', () => putFault({ mode: 'error' }, 'demo-kez'), 403, /Invalid API key/],
    ['an unknown mode', () => putFault({ mode: 'chaos' }), 400, /mode must be one of none \| error \| slow \| flaky; got "chaos"/],
    ['a ratio above 1', () => putFault({ ratio: 2 }), 400, /ratio must be a number from 0 to 1; got 2/],
    ['a negative delay', () => putFault({ delayMs: -1 }), 400, /delayMs must be an integer/],
    ['a malformed quote', () => putFault({ quote: { quote: 1 } }), 400, /quote must be null or/],
    ['an unknown field', () => putFault({ mood: 'error' }), 400, /Unknown field\(s\): mood/],
    ['a body that is not an object', () => putFault(['error']), 400, /must be a JSON object/],
    ['a body that is not JSON', () => putFault(undefined, DEMO_API_KEY, '{mode:'), 400, /must be JSON/],
    ['no body', () => v2Event('PUT', '/fault', { headers: { 'x-api-key': DEMO_API_KEY } }), 400, /must be JSON/],
  ];
  it.each(cases)('%s', async (_name, event, status, message) => {
    const handle = api();
    const res = await handle(event());
    expect(res.statusCode).toBe(status);
    expect(res.headers?.['content-type']).toMatch(/^application\/json/);
    expect(body(res).error).toMatch(message);
    expect(body(await handle(v2Event('GET', '/stats'))).fault.mode).toBe('none');
  });

  it('an unknown route is 404', async () => {
    const res = await api()(v2Event('GET', '/quotes'));
    expect(res.statusCode).toBe(404);
    expect(body(res)).toEqual({ error: 'No route for GET /quotes' });
  });

  it('an inherited property name is not a route', async () => {
    expect((await api()(v2Event('GET', '/constructor'))).statusCode).toBe(404);
  });

  it('a wrong method is 405 with Allow', async () => {
    const res = await api()(v2Event('DELETE', '/quote'));
    expect(res.statusCode).toBe(405);
    expect(res.headers?.allow).toBe('GET');
    expect((await api()(v2Event('GET', '/fault'))).headers?.allow).toBe('PUT');
  });
});

describe('GET /stats', () => {
  it('counts every call the handler received, and the quote calls', async () => {
    const handle = api();
    await handle(v2Event('GET', '/quote'));
    await handle(v2Event('GET', '/nowhere'));
    await handle(putFault({ mode: 'error' }));
    await handle(v2Event('GET', '/quote'));
    expect(body(await handle(v2Event('GET', '/stats')))).toEqual({
      invocations: 5,
      quoteCalls: 2,
      fault: { mode: 'error', ratio: 0.5, delayMs: 5000, quote: null },
    });
  });
});

describe('a malformed event (the function invoked directly)', () => {
  const event = (patch: Record<string, unknown>) => ({ ...v2Event('GET', '/quote'), ...patch });
  const cases: Array<[string, unknown, RegExp]> = [
    ['{}', {}, /rawPath must be a string/],
    ['null', null, /the event is null/],
    ['[]', [], /the event is an array/],
    ['a string', 'GET /quote', /the event is a string/],
    ['a number', 42, /the event is a number/],
    ['undefined', undefined, /the event is undefined/],
    ['a REST API (v1) event', { httpMethod: 'GET', path: '/quote', resource: '/quote' }, /rawPath must be a string/],
    ['no requestContext', { rawPath: '/quote' }, /requestContext\.http\.method/],
    ['requestContext.http null', event({ requestContext: { http: null } }), /requestContext\.http\.method/],
    ['a method that is not a string', event({ requestContext: { http: { method: 7 } } }), /requestContext\.http\.method/],
    ['a rawPath without a slash', event({ rawPath: 'quote' }), /rawPath must be a string starting with \//],
    ['headers that are not an object', event({ headers: 'x-api-key: demo-key' }), /headers must be an object/],
    ['a body that is not a string', event({ body: { mode: 'error' } }), /body must be a string/],
    ['isBase64Encoded that is not a boolean', event({ isBase64Encoded: 'yes' }), /isBase64Encoded must be a boolean/],
  ];
  it.each(cases)('%s: 400 with a JSON error, no stack trace', async (_name, input, reason) => {
    const handle = api();
    const res = await handle(input as Parameters<typeof handle>[0]);
    expect(res.statusCode).toBe(400);
    expect(res.headers?.['content-type']).toMatch(/^application\/json/);
    const error = body(res).error as string;
    expect(error).toMatch(/^Expected an API Gateway HTTP API \(payload v2\.0\) request event: /);
    expect(error).toMatch(reason);
    expect(res.body).not.toMatch(/TypeError|\bat .+:\d+:\d+|node:internal|handler\.ts/);
    // The warm container keeps serving, and counted the call.
    expect((await handle(v2Event('GET', '/quote'))).statusCode).toBe(200);
    expect(body(await handle(v2Event('GET', '/stats')))).toMatchObject({ invocations: 3, quoteCalls: 1 });
  });

  it('an unexpected error is a 500 with a generic JSON error, reported to the logs, not to the caller', async () => {
    const logged: unknown[] = [];
    const boom = new Error('clock broke');
    const handle = createApi({
      now: () => {
        throw boom;
      },
      random: () => 0,
      logError: (error) => logged.push(error),
    });
    const res = await handle(v2Event('GET', '/quote'));
    expect(res.statusCode).toBe(500);
    expect(body(res)).toEqual({ error: 'Internal error' });
    expect(res.body).not.toContain('clock broke');
    expect(logged).toEqual([boom]);
  });
});

describe('error bodies do not grow with the input', () => {
  it('a 404 repeats at most 100 characters of the path', async () => {
    const path = `/${'a'.repeat(15_000)}`;
    const res = await api()(v2Event('GET', path));
    expect(res.statusCode).toBe(404);
    expect(body(res).error).toBe(`No route for GET ${path.slice(0, 100)}…`);
    expect((res.body ?? '').length).toBeLessThan(200);
  });

  it('a long unknown method is cut too', async () => {
    const res = await api()(v2Event('X'.repeat(5_000), '/quote'));
    expect(res.statusCode).toBe(405);
    expect((res.body ?? '').length).toBeLessThan(200);
  });
});
