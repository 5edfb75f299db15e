/**
 * Robustness fuzzers for the entry points: `createBreakerFetch` (a stubbed fetch), `BreakerRegistry`
 * (eviction, delete/clear, watch, throwing listeners and detaches during calls) and `@circuit`.
 * After everything: every promise settled, no timer left, no unhandled rejection, no synchronous throw
 * out of the call.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBreakerFetch } from '../../src/fetch/index.js';
import { BreakerRegistry, CircuitBreaker, countWindow } from '../../src/index.js';
import { describeValue, drain, microtasks, realTurn, TestTimers, Tracker, Unhandled, until } from './harness.js';

type Upstream =
  | { kind: 'status'; status: number; retryAfter: string | null; ms: number }
  | { kind: 'network-error'; ms: number }
  | { kind: 'throw-sync' }
  | { kind: 'not-a-response'; value: 'undefined' | 'null' | 'object' | 'proxy' }
  | { kind: 'never'; honorSignal: boolean };

const retryAfterValue = fc.constantFrom<string | null>(
  null,
  '0',
  '1',
  '120',
  '99999999999999999999',
  '-1',
  'soon',
  'Wed, 21 Oct 2015 07:28:00 GMT',
  'Sun, 06 Nov 2094 08:49:37 GMT',
  'Sunday, 06-Nov-94 08:49:37 GMT',
  'Sun Nov  6 08:49:37 1994',
  '',
  '1e3',
);
const upstream: fc.Arbitrary<Upstream> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('status' as const),
      status: fc.constantFrom(200, 204, 404, 429, 500, 503),
      retryAfter: retryAfterValue,
      ms: fc.integer({ min: 0, max: 50 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('network-error' as const), ms: fc.integer({ min: 0, max: 50 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'throw-sync' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('not-a-response' as const),
      value: fc.constantFrom('undefined' as const, 'null' as const, 'object' as const, 'proxy' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('never' as const), honorSignal: fc.boolean() }) },
);

type Input = 'string' | 'url' | 'request' | 'request-with-signal' | 'invalid' | 'relative' | 'non-string';
type SignalSpec =
  | { kind: 'none' }
  | { kind: 'pre-aborted' }
  | { kind: 'abort-later'; ms: number }
  | { kind: 'never-aborted' }
  | { kind: 'null' };
const signalSpec: fc.Arbitrary<SignalSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pre-aborted' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort-later' as const), ms: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'never-aborted' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'null' as const }) },
);

type FetchAction =
  | { type: 'fetch'; origin: number; input: Input; upstream: Upstream; signal: SignalSpec }
  | { type: 'advance'; ms: number }
  | { type: 'registry'; op: 'clear' | 'delete' | 'forceOpen' | 'reset' | 'metrics' | 'dispose'; origin: number }
  | { type: 'abortSome'; index: number };

const fetchAction: fc.Arbitrary<FetchAction> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('fetch' as const),
      origin: fc.integer({ min: 0, max: 3 }),
      input: fc.constantFrom<Input>('string', 'string', 'url', 'request', 'request-with-signal', 'invalid', 'relative', 'non-string'),
      upstream,
      signal: signalSpec,
    }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 100 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('registry' as const),
      op: fc.constantFrom(
        'clear' as const,
        'delete' as const,
        'forceOpen' as const,
        'reset' as const,
        'metrics' as const,
        'dispose' as const,
      ),
      origin: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('abortSome' as const), index: fc.nat() }) },
);

const fetchConfig = fc.record({
  threshold: fc.integer({ min: 1, max: 3 }),
  recoveryTimeout: fc.integer({ min: 0, max: 60 }),
  timeout: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  maxOrigins: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  maxRetryAfter: fc.option(fc.constantFrom(0, 10, 1000), { nil: undefined }),
  isFailureResponse: fc.constantFrom('default' as const, 'throws' as const, 'non-boolean' as const),
  keyOf: fc.constantFrom('default' as const, 'throws' as const, 'empty' as const),
  optionsFor: fc.constantFrom('none' as const, 'throws' as const, 'undefined' as const, 'tighter' as const, 'rate' as const),
  listeners: fc.constantFrom('none' as const, 'throwing' as const, 'watch-throwing-detach' as const),
});

const ORIGINS = ['http://a.test', 'http://b.test', 'https://c.test:8443', 'http://d.test'];

async function fetchScenario(c: typeof fetchConfig extends fc.Arbitrary<infer C> ? C : never, actions: FetchAction[]): Promise<string[]> {
  const problems: string[] = [];
  const unhandled = new Unhandled();
  unhandled.install();
  const tracker = new Tracker();
  const timers = new TestTimers();
  const controllers: AbortController[] = [];
  try {
    const upstreams = new Map<string, Upstream>();
    const stub = ((input: RequestInfo | URL, init?: RequestInit) => {
      const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const u = upstreams.get(new URL(href).searchParams.get('n') ?? '') ?? { kind: 'status', status: 200, retryAfter: null, ms: 0 };
      const signal = init?.signal ?? undefined;
      const respond = (): Response => {
        if (u.kind !== 'status') throw new Error('unreachable');
        const headers = u.retryAfter === null ? undefined : { 'Retry-After': u.retryAfter };
        return new Response(u.status === 204 ? null : 'body', { status: u.status, headers });
      };
      switch (u.kind) {
        case 'status':
        case 'network-error':
          return new Promise<Response>((resolve, reject) => {
            timers.later(u.ms, () => (u.kind === 'status' ? resolve(respond()) : reject(new TypeError('fetch failed'))));
            signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
          });
        case 'throw-sync':
          throw new TypeError('sync fetch failure');
        case 'not-a-response':
          return Promise.resolve(
            u.value === 'undefined'
              ? undefined
              : u.value === 'null'
                ? null
                : u.value === 'object'
                  ? { status: 503 }
                  : new Proxy(
                      {},
                      {
                        get() {
                          throw new Error('proxy');
                        },
                      },
                    ),
          ) as unknown as Promise<Response>;
        case 'never':
          return new Promise<Response>((_, reject) => {
            if (u.honorSignal) signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
          });
      }
    }) as typeof fetch;
    const clock = { now: () => Date.now(), wallNow: () => Date.now() };
    const fetcher = createBreakerFetch({
      breaker: {
        failureThreshold: c.threshold,
        recoveryTimeout: c.recoveryTimeout,
        clock,
        ...(c.timeout === undefined ? {} : { timeout: c.timeout }),
      },
      fetch: stub,
      ...(c.maxOrigins === undefined ? {} : { maxOrigins: c.maxOrigins }),
      ...(c.maxRetryAfter === undefined ? {} : { maxRetryAfter: c.maxRetryAfter }),
      ...(c.isFailureResponse === 'default'
        ? {}
        : c.isFailureResponse === 'throws'
          ? {
              isFailureResponse: () => {
                throw new Error('judge boom');
              },
            }
          : { isFailureResponse: (() => 1) as unknown as (r: Response) => boolean }),
      ...(c.keyOf === 'default'
        ? {}
        : c.keyOf === 'throws'
          ? {
              keyOf: (url: URL) => {
                if (url.hostname === 'd.test') throw new Error('keyOf boom');
                return url.origin;
              },
            }
          : { keyOf: (url: URL) => (url.hostname === 'd.test' ? '' : url.origin) }),
      ...(c.optionsFor === 'none'
        ? {}
        : {
            optionsFor: (origin: string) => {
              if (c.optionsFor === 'throws' && origin.includes('c.test')) throw new Error('optionsFor boom');
              if (c.optionsFor === 'undefined') return undefined;
              if (c.optionsFor === 'rate') return { failureRateThreshold: 0.5, window: countWindow(100), minimumCalls: 1, clock };
              return { timeout: 5, clock };
            },
          }),
    });
    if (c.listeners === 'throwing') {
      fetcher.registry.on('add', () => {
        throw new Error('add listener');
      });
      fetcher.registry.on('remove', () => Promise.reject(new Error('remove listener')));
    } else if (c.listeners === 'watch-throwing-detach') {
      fetcher.registry.watch((breaker) => {
        const off = breaker.on('stateChange', () => {
          throw new Error('state listener');
        });
        return () => {
          off();
          throw new Error('detach boom');
        };
      });
    }

    let n = 0;
    for (const a of actions) {
      n++;
      switch (a.type) {
        case 'fetch': {
          const origin = ORIGINS[a.origin];
          let caller: AbortController | undefined;
          let signal: AbortSignal | null | undefined;
          if (a.signal.kind !== 'none' && a.signal.kind !== 'null') {
            caller = new AbortController();
            controllers.push(caller);
            signal = caller.signal;
            if (a.signal.kind === 'pre-aborted') caller.abort();
            else if (a.signal.kind === 'abort-later') {
              const ctl = caller;
              timers.later(a.signal.ms, () => ctl.abort());
            }
          } else if (a.signal.kind === 'null') signal = null;
          const url = `${origin}/path?n=${n}`;
          let input: RequestInfo | URL;
          let init: RequestInit | undefined = signal === undefined ? undefined : { signal };
          switch (a.input) {
            case 'string':
              input = url;
              break;
            case 'url':
              input = new URL(url);
              break;
            case 'request':
              input = new Request(url);
              break;
            case 'request-with-signal':
              input = new Request(url, signal === undefined ? {} : { signal });
              init = undefined;
              break;
            case 'invalid':
              input = 'http://';
              break;
            case 'relative':
              input = '/relative';
              break;
            case 'non-string':
              input = 42 as unknown as string;
              break;
          }
          upstreams.set(String(n), a.upstream);
          const endable =
            c.timeout !== undefined || c.optionsFor === 'tighter' || (c.optionsFor === 'throws' && a.origin !== 2) || caller !== undefined;
          const label = `${a.upstream.kind === 'never' && !endable ? 'MAY-HANG ' : ''}#${n} ${JSON.stringify(a)}`;
          tracker.track(label, () => fetcher(input, init));
          break;
        }
        case 'advance':
          await vi.advanceTimersByTimeAsync(a.ms);
          break;
        case 'registry':
          try {
            const key = new URL(ORIGINS[a.origin] as string).origin;
            if (a.op === 'clear') fetcher.registry.clear();
            else if (a.op === 'delete') fetcher.registry.delete(key);
            else if (a.op === 'metrics') JSON.stringify(fetcher.registry.metrics());
            else {
              const b = fetcher.registry.peek(key);
              if (b !== undefined) {
                if (a.op === 'dispose') tracker.track('dispose', () => b.dispose());
                else b[a.op]();
              }
            }
          } catch (error) {
            problems.push(`registry ${a.op} threw ${describeValue(error)}`);
          }
          break;
        case 'abortSome':
          if (controllers.length > 0) controllers[a.index % controllers.length]?.abort();
          break;
      }
      await microtasks(3);
    }
    for (const ctl of controllers) ctl.abort('end');
    const mayHang = (t: { label: string }) => t.label.startsWith('MAY-HANG');
    await until(() => tracker.unsettled().every(mayHang));
    const left = timers.libraryTimers();
    if (tracker.unsettled().every(mayHang) && left !== 0) problems.push(`${left} library timer(s) pending after every call settled`);
    await drain();
    for (const t of tracker.syncThrows) problems.push(`threw synchronously: ${t.label}: ${describeValue(t.error)}`);
    for (const t of tracker.unsettled().filter((u) => !mayHang(u))) problems.push(`never settled: ${t.label}`);
    if (vi.getTimerCount() !== 0) problems.push(`${vi.getTimerCount()} timer(s) left after draining`);
  } catch (error) {
    problems.push(`scenario threw: ${describeValue(error)} ${(error as Error)?.stack ?? ''}`);
  } finally {
    await realTurn();
    await realTurn();
    unhandled.uninstall();
  }
  for (const u of unhandled.seen) problems.push(`unhandled: ${describeValue(u)}`);
  return problems;
}

// ── registry ───────────────────────────────────────────────────────────────

type RegistryAction =
  | { type: 'call'; key: number; fn: 'ok' | 'fail' | 'later' | 'never-timeout'; reentrant: 'none' | 'delete' | 'clear' | 'get-other' }
  | { type: 'advance'; ms: number }
  | { type: 'delete' | 'clear' | 'iterate-get' | 'metrics'; key: number }
  | { type: 'watch'; attach: 'ok' | 'throws' | 'returns-value' | 'detach-throws' | 'detach-rejects' | 'throws-on-third' }
  | { type: 'unwatch'; index: number }
  | { type: 'listen'; event: 'add' | 'remove'; behaviour: 'throw' | 'reject' | 'delete-it' | 'get-new' | 'clear' };

const registryAction: fc.Arbitrary<RegistryAction> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('call' as const),
      key: fc.integer({ min: 0, max: 5 }),
      fn: fc.constantFrom('ok' as const, 'fail' as const, 'later' as const, 'never-timeout' as const),
      reentrant: fc.constantFrom('none' as const, 'none' as const, 'delete' as const, 'clear' as const, 'get-other' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 80 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constantFrom('delete' as const, 'clear' as const, 'iterate-get' as const, 'metrics' as const),
      key: fc.integer({ min: 0, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('watch' as const),
      attach: fc.constantFrom(
        'ok' as const,
        'throws' as const,
        'returns-value' as const,
        'detach-throws' as const,
        'detach-rejects' as const,
        'throws-on-third' as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('unwatch' as const), index: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('listen' as const),
      event: fc.constantFrom('add' as const, 'remove' as const),
      behaviour: fc.constantFrom('throw' as const, 'reject' as const, 'delete-it' as const, 'get-new' as const, 'clear' as const),
    }),
  },
);

async function registryScenario(maxSize: number, timeout: number, actions: RegistryAction[]): Promise<string[]> {
  const problems: string[] = [];
  const unhandled = new Unhandled();
  unhandled.install();
  const tracker = new Tracker();
  const timers = new TestTimers();
  const unwatch: (() => void)[] = [];
  let nested = 0;
  try {
    const registry = new BreakerRegistry({
      maxSize,
      defaults: { failureThreshold: 1, recoveryTimeout: 20, timeout, clock: { now: () => Date.now() } },
    });
    const key = (i: number) => `k${i}`;
    let n = 0;
    for (const a of actions) {
      n++;
      try {
        switch (a.type) {
          case 'call': {
            const breaker = registry.get(key(a.key));
            tracker.track(`#${n} ${JSON.stringify(a)}`, () =>
              breaker.execute(() => {
                if (a.reentrant === 'delete') registry.delete(key(a.key));
                else if (a.reentrant === 'clear') registry.clear();
                else if (a.reentrant === 'get-other') registry.get(key((a.key + 1) % 6));
                if (a.fn === 'ok') return 1;
                if (a.fn === 'fail') throw new Error('fail');
                if (a.fn === 'later') return new Promise((resolve) => timers.later(10, () => resolve(2)));
                return new Promise(() => {});
              }),
            );
            break;
          }
          case 'advance':
            await vi.advanceTimersByTimeAsync(a.ms);
            break;
          case 'delete':
            registry.delete(key(a.key));
            break;
          case 'clear':
            registry.clear();
            break;
          case 'iterate-get':
            for (const k of registry.keys()) registry.get(k);
            break;
          case 'metrics':
            JSON.stringify(registry.metrics());
            break;
          case 'watch': {
            let count = 0;
            const mode = a.attach;
            try {
              unwatch.push(
                registry.watch((breaker) => {
                  count++;
                  if (mode === 'throws' || (mode === 'throws-on-third' && count === 3)) throw new Error('attach boom');
                  if (mode === 'returns-value') return 42 as unknown as () => void;
                  const off = breaker.on('failure', () => {
                    throw new Error('watched listener');
                  });
                  return () => {
                    off();
                    if (mode === 'detach-throws') throw new Error('detach boom');
                    if (mode === 'detach-rejects') return Promise.reject(new Error('detach rejects')) as unknown as undefined;
                  };
                }),
              );
            } catch {
              // A throwing attach for a breaker already there is thrown from watch(): documented.
            }
            break;
          }
          case 'unwatch':
            if (unwatch.length > 0) unwatch.splice(a.index % unwatch.length, 1)[0]?.();
            break;
          case 'listen':
            registry.on(a.event, ({ key: k }) => {
              if (nested > 3) return;
              nested++;
              try {
                if (a.behaviour === 'throw') throw new Error('registry listener');
                if (a.behaviour === 'reject') return Promise.reject(new Error('registry listener rejects'));
                if (a.behaviour === 'delete-it') registry.delete(k);
                if (a.behaviour === 'get-new') registry.get(`${k}-x`);
                if (a.behaviour === 'clear') registry.clear();
              } finally {
                nested--;
              }
            });
            break;
        }
      } catch (error) {
        problems.push(`#${n} ${a.type} threw ${describeValue(error)}`);
      }
      await microtasks(3);
    }
    await until(() => tracker.unsettled().length === 0);
    const left = timers.libraryTimers();
    if (tracker.unsettled().length === 0 && left !== 0) problems.push(`${left} library timer(s) pending after every call settled`);
    await drain();
    for (const t of tracker.syncThrows) problems.push(`threw synchronously: ${t.label}: ${describeValue(t.error)}`);
    for (const t of tracker.unsettled()) problems.push(`never settled: ${t.label}`);
    if (vi.getTimerCount() !== 0) problems.push(`${vi.getTimerCount()} timer(s) left after draining`);
  } catch (error) {
    problems.push(`scenario threw: ${describeValue(error)} ${(error as Error)?.stack ?? ''}`);
  } finally {
    await realTurn();
    await realTurn();
    unhandled.uninstall();
  }
  for (const u of unhandled.seen) problems.push(`unhandled: ${describeValue(u)}`);
  return problems;
}

const runs = Number(process.env.FUZZ_RUNS ?? 300);
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

describe('entry points robustness (fuzz)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.clearAllTimers();
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('createBreakerFetch: no synchronous throw, hang, leaked timer or unhandled rejection', async () => {
    await fc.assert(
      fc.asyncProperty(fetchConfig, fc.array(fetchAction, { minLength: 1, maxLength: 30, size: 'max' }), async (c, actions) => {
        vi.clearAllTimers();
        expect(await fetchScenario(c, actions)).toEqual([]);
      }),
      { numRuns: runs, seed },
    );
  });

  it('BreakerRegistry: no synchronous throw from execute, hang, leaked timer or unhandled rejection', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(registryAction, { minLength: 1, maxLength: 30, size: 'max' }),
        async (maxSize, timeout, actions) => {
          vi.clearAllTimers();
          expect(await registryScenario(maxSize, timeout, actions)).toEqual([]);
        },
      ),
      { numRuns: runs, seed },
    );
  });

  it('CircuitBreaker.wrap and execute with odd arguments never throw synchronously', async () => {
    const odd = fc.constantFrom<unknown>(undefined, null, 0, 'str', {}, [], () => 1, { signal: 'x' }, { fallback: 1 }, { signal: null });
    await fc.assert(
      fc.asyncProperty(odd, odd, fc.constantFrom('closed', 'open', 'half-open', 'forced-open', 'disabled'), async (fn, opts, state) => {
        const unhandled = new Unhandled();
        unhandled.install();
        const problems: string[] = [];
        try {
          const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 10, clock: { now: () => Date.now() } });
          if (state !== 'closed') await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
          if (state === 'half-open') await vi.advanceTimersByTimeAsync(10);
          if (state === 'forced-open') breaker.forceOpen();
          if (state === 'disabled') breaker.disable();
          const tracker = new Tracker();
          tracker.track('execute', () => breaker.execute(fn as () => unknown, opts as undefined));
          await drain();
          for (const t of tracker.syncThrows) problems.push(`threw synchronously: ${describeValue(t.error)}`);
          for (const t of tracker.unsettled()) problems.push(`never settled: ${t.label}`);
        } finally {
          await realTurn();
          unhandled.uninstall();
        }
        for (const u of unhandled.seen) problems.push(`unhandled: ${describeValue(u)}`);
        expect(problems).toEqual([]);
      }),
      { numRuns: runs, seed },
    );
  });
});
