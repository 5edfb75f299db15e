/**
 * Robustness fuzzer for CircuitBreaker: random options (throwing predicates, hints, backoff, loggers),
 * random listeners (throwing, rejecting, re-entrant), random calls (sync/async, Error and non-Error
 * throws, weird thenables, timeouts, caller signals aborted before/during/after, fallbacks) interleaved
 * with clock advances, manual controls, reads and dispose(). After everything: every promise settled,
 * no timer left, no unhandled rejection, nothing thrown synchronously out of execute(), and each call
 * ended in exactly one outcome event.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, type CircuitBreakerOptions, countWindow, exponentialBackoff, parseSnapshot, timeWindow } from '../../src/index.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { describeValue, drain, microtasks, realTurn, TestTimers, Tracker, Unhandled, until } from './harness.js';

const thrown = fc.constantFrom<() => unknown>(
  () => new Error('boom'),
  () => undefined,
  () => null,
  () => 'a string',
  () => 42,
  () => ({ plain: 'object' }),
  () => Symbol('sym'),
  () => Object.create(null),
  // biome-ignore lint/suspicious/noThenProperty: a non-callable then, deliberately.
  () => ({ then: 'not callable' }),
);

type FnSpec =
  | { kind: 'value-sync' }
  | { kind: 'throw-sync'; error: () => unknown }
  | { kind: 'resolve-later'; ms: number; honorSignal: boolean }
  | { kind: 'reject-later'; ms: number; error: () => unknown; honorSignal: boolean }
  | { kind: 'rejected-now'; error: () => unknown }
  | { kind: 'never'; honorSignal: boolean }
  | { kind: 'weird-thenable' }
  | { kind: 'throwing-then-getter' }
  | { kind: 'reentrant'; op: 'forceOpen' | 'close' | 'disable' | 'reset' | 'execute' | 'abortCaller' };

const fnSpec: fc.Arbitrary<FnSpec> = fc.oneof(
  fc.constant({ kind: 'value-sync' as const }),
  fc.record({ kind: fc.constant('throw-sync' as const), error: thrown }),
  fc.record({ kind: fc.constant('resolve-later' as const), ms: fc.integer({ min: 0, max: 80 }), honorSignal: fc.boolean() }),
  fc.record({
    kind: fc.constant('reject-later' as const),
    ms: fc.integer({ min: 0, max: 80 }),
    error: thrown,
    honorSignal: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('rejected-now' as const), error: thrown }),
  fc.record({ kind: fc.constant('never' as const), honorSignal: fc.boolean() }),
  fc.constant({ kind: 'weird-thenable' as const }),
  fc.constant({ kind: 'throwing-then-getter' as const }),
  fc.record({
    kind: fc.constant('reentrant' as const),
    op: fc.constantFrom(
      'forceOpen' as const,
      'close' as const,
      'disable' as const,
      'reset' as const,
      'execute' as const,
      'abortCaller' as const,
    ),
  }),
);

type SignalSpec =
  | { kind: 'none' }
  | { kind: 'pre-aborted'; reason: () => unknown }
  | { kind: 'abort-later'; ms: number; reason: () => unknown }
  | { kind: 'never-aborted' }
  | { kind: 'not-a-signal' }
  | { kind: 'null' }
  | { kind: 'shared' };

const signalSpec: fc.Arbitrary<SignalSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pre-aborted' as const), reason: thrown }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort-later' as const), ms: fc.integer({ min: 0, max: 100 }), reason: thrown }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'never-aborted' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'not-a-signal' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'null' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'shared' as const }) },
);

type FallbackSpec = 'none' | 'value' | 'throws' | 'rejects' | 'thenable-throws';
const fallbackSpec = fc.constantFrom<FallbackSpec>('none', 'none', 'value', 'throws', 'rejects', 'thenable-throws');

type Action =
  | { type: 'call'; fn: FnSpec; signal: SignalSpec; fallback: FallbackSpec; via: 'execute' | 'wrap' }
  | { type: 'advance'; ms: number }
  | { type: 'manual'; op: 'forceOpen' | 'close' | 'disable' | 'reset' }
  | { type: 'read'; what: 'state' | 'metrics' | 'toJSON' | 'flush' | 'dispose' | 'restore' }
  | { type: 'abortSome'; index: number }
  | { type: 'listen'; event: ListenEvent; behaviour: ListenBehaviour }
  | { type: 'unlisten'; index: number }
  | { type: 'store'; op: 'fail' | 'hang' | 'heal' | 'peer-forceOpen' | 'peer-close' | 'peer-fail' | 'dispose-await' };

type ListenEvent = 'stateChange' | 'success' | 'failure' | 'neutral' | 'rejected' | 'timeout';
type ListenBehaviour = 'throw' | 'throw-non-error' | 'reject' | 'forceOpen' | 'close' | 'execute' | 'read' | 'abortAll';

const listenEvent = fc.constantFrom<ListenEvent>('stateChange', 'success', 'failure', 'neutral', 'rejected', 'timeout');
const listenBehaviour = fc.constantFrom<ListenBehaviour>(
  'throw',
  'throw-non-error',
  'reject',
  'forceOpen',
  'close',
  'execute',
  'read',
  'abortAll',
);

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      type: fc.constant('call' as const),
      fn: fnSpec,
      signal: signalSpec,
      fallback: fallbackSpec,
      via: fc.constantFrom('execute' as const, 'execute' as const, 'wrap' as const),
    }),
  },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 120 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('manual' as const),
      op: fc.constantFrom('forceOpen' as const, 'close' as const, 'disable' as const, 'reset' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('read' as const),
      what: fc.constantFrom(
        'state' as const,
        'metrics' as const,
        'toJSON' as const,
        'flush' as const,
        'dispose' as const,
        'restore' as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('abortSome' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('listen' as const), event: listenEvent, behaviour: listenBehaviour }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('unlisten' as const), index: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('store' as const),
      op: fc.constantFrom(
        'fail' as const,
        'hang' as const,
        'heal' as const,
        'peer-forceOpen' as const,
        'peer-close' as const,
        'peer-fail' as const,
        'dispose-await' as const,
      ),
    }),
  },
);

type Predicate = 'none' | 'throws' | 'throws-non-error' | 'non-boolean' | 'sometimes';
const predicate = fc.constantFrom<Predicate>('none', 'none', 'throws', 'throws-non-error', 'non-boolean', 'sometimes');
type Hint = 'none' | 'throws' | 'nan' | 'negative' | 'infinity' | 'small' | 'string' | 'huge';
type Backoff = 'none' | 'exponential' | 'throws' | 'nan' | 'negative' | 'string' | 'small';
type LoggerSpec = 'none' | 'throws' | 'records';

const config = fc.record({
  mode: fc.oneof(
    fc.record({ type: fc.constant('consecutive' as const), threshold: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ type: fc.constant('count' as const), size: fc.integer({ min: 1, max: 5 }), minimumCalls: fc.integer({ min: 1, max: 3 }) }),
    fc.record({
      type: fc.constant('time' as const),
      duration: fc.integer({ min: 10, max: 200 }),
      minimumCalls: fc.integer({ min: 1, max: 3 }),
    }),
  ),
  recoveryTimeout: fc.integer({ min: 0, max: 60 }),
  halfOpenProbes: fc.integer({ min: 1, max: 2 }),
  successThreshold: fc.integer({ min: 1, max: 2 }),
  maxProbeWait: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
  timeout: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  slowCallDuration: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
  isFailure: predicate,
  isResultFailure: predicate,
  hint: fc.constantFrom<Hint>('none', 'none', 'throws', 'nan', 'negative', 'infinity', 'small', 'string', 'huge'),
  backoff: fc.constantFrom<Backoff>('none', 'none', 'exponential', 'throws', 'nan', 'negative', 'string', 'small'),
  logger: fc.constantFrom<LoggerSpec>('none', 'throws', 'records'),
  countEvents: fc.boolean(),
  store: fc.constantFrom('none' as const, 'none' as const, 'memory' as const),
  onStoreError: fc.constantFrom('local' as const, 'fail-open' as const, 'fail-closed' as const),
  syncInterval: fc.integer({ min: 1, max: 50 }),
  storeTimeout: fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
});
type Config = typeof config extends fc.Arbitrary<infer C> ? C : never;

function pred(p: Predicate): ((x: unknown) => boolean) | undefined {
  switch (p) {
    case 'none':
      return undefined;
    case 'throws':
      return () => {
        throw new Error('predicate boom');
      };
    case 'throws-non-error':
      return () => {
        throw 'predicate string';
      };
    case 'non-boolean':
      return (() => 'yes') as unknown as (x: unknown) => boolean;
    case 'sometimes':
      return (x) => typeof x === 'string' || typeof x === 'number';
  }
}

function optionsOf(c: Config): CircuitBreakerOptions {
  const mode: CircuitBreakerOptions =
    c.mode.type === 'consecutive'
      ? { failureThreshold: c.mode.threshold }
      : c.mode.type === 'count'
        ? { failureRateThreshold: 0.5, window: countWindow(c.mode.size), minimumCalls: c.mode.minimumCalls }
        : { failureRateThreshold: 0.5, window: timeWindow({ duration: c.mode.duration }), minimumCalls: c.mode.minimumCalls };
  const hint: Record<Hint, CircuitBreakerOptions['retryAfterHint']> = {
    none: undefined,
    throws: () => {
      throw new Error('hint boom');
    },
    nan: () => Number.NaN,
    negative: () => -5,
    infinity: () => Number.POSITIVE_INFINITY,
    small: () => 7,
    string: (() => '10') as unknown as CircuitBreakerOptions['retryAfterHint'],
    huge: () => 1e300,
  };
  const backoff: Record<Backoff, CircuitBreakerOptions['backoff']> = {
    none: undefined,
    exponential: exponentialBackoff({ multiplier: 2, maxDelay: 200, jitter: 0.5 }),
    throws: () => {
      throw new Error('backoff boom');
    },
    nan: () => Number.NaN,
    negative: () => -1,
    string: (() => 'soon') as unknown as CircuitBreakerOptions['backoff'],
    small: (attempt) => attempt * 3,
  };
  const thrower = () => {
    throw new Error('logger boom');
  };
  const logger =
    c.logger === 'none'
      ? undefined
      : c.logger === 'throws'
        ? { info: thrower, warn: thrower, error: thrower }
        : { info() {}, warn() {}, error() {} };
  return {
    name: 'fuzz',
    ...mode,
    recoveryTimeout: c.recoveryTimeout,
    halfOpenProbes: c.halfOpenProbes,
    successThreshold: c.successThreshold,
    ...(c.maxProbeWait === undefined ? {} : { maxProbeWait: c.maxProbeWait }),
    ...(c.timeout === undefined ? {} : { timeout: c.timeout }),
    ...(c.slowCallDuration === undefined ? {} : { slowCallDuration: c.slowCallDuration }),
    isFailure: pred(c.isFailure),
    isResultFailure: pred(c.isResultFailure),
    retryAfterHint: hint[c.hint],
    backoff: backoff[c.backoff],
    logger,
    clock: { now: () => Date.now(), wallNow: () => Date.now() },
  };
}

/** Runs one random scenario; returns a description of what went wrong, or nothing. */
async function scenario(c: Config, actions: Action[]): Promise<string[]> {
  const problems: string[] = [];
  const unhandled = new Unhandled();
  unhandled.install();
  const tracker = new Tracker();
  const timers = new TestTimers();
  const controllers: AbortController[] = [];
  const offs: (() => void)[] = [];
  let outcomeEvents = 0;
  let refused = 0;
  let inListenerCall = false;
  let fleetPeer: CircuitBreaker | undefined;
  let shared: AbortController | undefined;
  let fleetStore: MemoryStore | undefined;
  try {
    const store = c.store === 'memory' ? new MemoryStore({ now: () => Date.now(), timeout: c.storeTimeout }) : undefined;
    const fleet = store === undefined ? {} : { store, onStoreError: c.onStoreError, syncInterval: c.syncInterval };
    const breaker = new CircuitBreaker({ ...optionsOf(c), ...fleet });
    const peer =
      store === undefined
        ? undefined
        : new CircuitBreaker({ ...optionsOf(c), logger: undefined, store: store.handle(), syncInterval: c.syncInterval });
    fleetPeer = peer;
    fleetStore = store;
    if (c.countEvents) {
      for (const e of ['success', 'failure', 'neutral', 'rejected', 'timeout'] as const) {
        breaker.on(e, () => {
          outcomeEvents++;
        });
      }
    }
    const simpleCall = (label: string) => tracker.track(label, () => breaker.execute(() => 1));
    const makeFn = (spec: FnSpec, caller: AbortController | undefined) => (ctx: { signal: AbortSignal | undefined }) => {
      const onAbort = (reject: (e: unknown) => void) => {
        ctx.signal?.addEventListener('abort', () => reject(ctx.signal?.reason), { once: true });
      };
      switch (spec.kind) {
        case 'value-sync':
          return 'v';
        case 'throw-sync':
          throw spec.error();
        case 'resolve-later':
          return new Promise((resolve, reject) => {
            timers.later(spec.ms, () => resolve('later'));
            if (spec.honorSignal) onAbort(reject);
          });
        case 'reject-later':
          return new Promise((_, reject) => {
            timers.later(spec.ms, () => reject(spec.error()));
            if (spec.honorSignal) onAbort(reject);
          });
        case 'rejected-now': {
          const p = Promise.reject(spec.error());
          return p;
        }
        case 'never':
          return new Promise((_, reject) => {
            if (spec.honorSignal) onAbort(reject);
          });
        case 'weird-thenable':
          return {
            // biome-ignore lint/suspicious/noThenProperty: a deliberately odd thenable.
            then(res: (v: unknown) => void, rej: (e: unknown) => void) {
              res('first');
              rej('second');
              throw new Error('after settling');
            },
          };
        case 'throwing-then-getter':
          return Object.defineProperty({}, 'then', {
            get() {
              throw new Error('then getter');
            },
          });
        case 'reentrant':
          switch (spec.op) {
            case 'forceOpen':
            case 'close':
            case 'disable':
            case 'reset':
              breaker[spec.op]();
              throw new Error(`after ${spec.op}`);
            case 'execute':
              simpleCall('nested');
              return 'outer';
            case 'abortCaller':
              caller?.abort('aborted from inside fn');
              throw new Error('after abort');
          }
      }
    };
    const listen = (event: ListenEvent, behaviour: ListenBehaviour) =>
      breaker.on(event, () => {
        switch (behaviour) {
          case 'throw':
            throw new Error(`listener ${event}`);
          case 'throw-non-error':
            throw undefined;
          case 'reject':
            return Promise.reject(new Error(`async listener ${event}`));
          case 'forceOpen':
            breaker.forceOpen();
            return;
          case 'close':
            breaker.close();
            return;
          case 'execute':
            // Bounded: only while few calls exist, or a stateChange/outcome loop could recurse for ever.
            if (!inListenerCall && tracker.calls.length < 200) {
              inListenerCall = true;
              try {
                simpleCall(`from ${event} listener`);
              } finally {
                inListenerCall = false;
              }
            }
            return;
          case 'read':
            void breaker.state;
            breaker.metrics();
            breaker.toJSON();
            return;
          case 'abortAll':
            for (const ctl of controllers) ctl.abort('abortAll');
            return;
        }
      });

    let n = 0;
    for (const a of actions) {
      n++;
      switch (a.type) {
        case 'call': {
          let caller: AbortController | undefined;
          let signal: unknown;
          switch (a.signal.kind) {
            case 'none':
              break;
            case 'pre-aborted':
              caller = new AbortController();
              caller.abort(a.signal.reason());
              signal = caller.signal;
              break;
            case 'abort-later': {
              caller = new AbortController();
              const ctl = caller;
              const reason = a.signal.reason;
              timers.later(a.signal.ms, () => ctl.abort(reason()));
              signal = caller.signal;
              break;
            }
            case 'never-aborted':
              caller = new AbortController();
              signal = caller.signal;
              break;
            case 'not-a-signal':
              signal = { aborted: false };
              break;
            case 'null':
              signal = null;
              break;
            case 'shared':
              if (shared === undefined || shared.signal.aborted) {
                shared = new AbortController();
                controllers.push(shared);
              }
              caller = shared;
              signal = shared.signal;
              break;
          }
          if (caller !== undefined && caller !== shared) controllers.push(caller);
          const fallback =
            a.fallback === 'none'
              ? undefined
              : a.fallback === 'value'
                ? () => 'fallback'
                : a.fallback === 'throws'
                  ? () => {
                      throw new Error('fallback boom');
                    }
                  : a.fallback === 'rejects'
                    ? () => Promise.reject(new Error('fallback rejects'))
                    : () =>
                        Object.defineProperty({}, 'then', {
                          get() {
                            throw 'fallback then getter';
                          },
                        });
          const fn = makeFn(a.fn, caller);
          // A function that never settles, with neither a timeout nor a caller's signal to end it, hangs by design.
          const endable = c.timeout !== undefined || (caller !== undefined && !(a.via === 'wrap'));
          const label = `${a.fn.kind === 'never' && !endable ? 'MAY-HANG ' : ''}#${n} ${JSON.stringify(a)}`;
          if (a.via === 'wrap' && signal === undefined) {
            tracker.track(label, () => breaker.wrap(() => fn({ signal: undefined }), fallback === undefined ? undefined : { fallback })());
          } else {
            const opts =
              signal === undefined && fallback === undefined
                ? undefined
                : { ...(signal === undefined ? {} : { signal: signal as AbortSignal }), ...(fallback === undefined ? {} : { fallback }) };
            tracker.track(label, () => breaker.execute(fn, opts));
          }
          break;
        }
        case 'advance':
          await vi.advanceTimersByTimeAsync(a.ms);
          break;
        case 'manual':
          try {
            breaker[a.op]();
          } catch (error) {
            problems.push(`${a.op}() threw ${describeValue(error)}`);
          }
          break;
        case 'read':
          try {
            if (a.what === 'state') void breaker.state;
            else if (a.what === 'metrics') breaker.metrics();
            else if (a.what === 'toJSON') JSON.stringify(breaker.toJSON());
            else if (a.what === 'restore') {
              if (store === undefined) {
                const copy = new CircuitBreaker({ ...optionsOf(c), initialState: parseSnapshot(JSON.stringify(breaker.toJSON())) });
                tracker.track('copy call', () => copy.execute(() => 1));
              }
            } else tracker.track(a.what, () => breaker[a.what as 'flush' | 'dispose']());
          } catch (error) {
            problems.push(`${a.what} threw ${describeValue(error)}`);
          }
          break;
        case 'abortSome':
          if (controllers.length > 0) controllers[a.index % controllers.length]?.abort('abortSome');
          break;
        case 'listen':
          try {
            offs.push(listen(a.event, a.behaviour));
          } catch (error) {
            problems.push(`on() threw ${describeValue(error)}`);
          }
          break;
        case 'unlisten':
          if (offs.length > 0) offs[a.index % offs.length]?.();
          break;
        case 'store':
          if (store === undefined || peer === undefined) break;
          if (a.op === 'fail') store.fail = new Error('store down');
          else if (a.op === 'hang') store.hang = true;
          else if (a.op === 'heal') {
            store.fail = undefined;
            store.hang = false;
          } else if (a.op === 'peer-forceOpen') peer.forceOpen();
          else if (a.op === 'peer-close') peer.close();
          else if (a.op === 'peer-fail') tracker.track('peer call', () => peer.execute(() => Promise.reject(new Error('peer'))));
          else tracker.track('dispose', () => breaker.dispose());
          break;
      }
      await microtasks(3);
    }
    // Everything the caller could still end: abort every caller signal, then let time run out.
    for (const ctl of controllers) ctl.abort('end');
    if (fleetStore !== undefined) {
      // Fleet mode holds a flush timer while outcomes wait (documented): leave the store first.
      fleetStore.fail = undefined;
      fleetStore.hang = false;
      tracker.track('dispose', () => breaker.dispose());
      tracker.track('dispose', () => fleetPeer?.dispose());
    }
    const mayHang = (t: { label: string }) => t.label.startsWith('MAY-HANG');
    await until(() => tracker.unsettled().every(mayHang));
    const left = timers.libraryTimers();
    // Fleet mode: a store call in flight carries its (unref'd) timeout timer until it answers (documented).
    if (fleetStore === undefined && tracker.unsettled().every(mayHang) && left !== 0)
      problems.push(`${left} library timer(s) pending after every call settled`);
    await drain();
    for (const t of tracker.syncThrows) problems.push(`threw synchronously: ${t.label}: ${describeValue(t.error)}`);
    for (const t of tracker.unsettled().filter((u) => !u.label.startsWith('MAY-HANG'))) problems.push(`never settled: ${t.label}`);
    const pendingTimers = vi.getTimerCount();
    if (pendingTimers !== 0) problems.push(`${pendingTimers} timer(s) left after draining`);
    if (c.countEvents) {
      for (const t of tracker.calls) {
        if (t.outcome === 'rejected' && t.value instanceof TypeError && /execute\(\) needs a function/.test(String(t.value))) refused++;
      }
      const executeCalls =
        tracker.calls.filter((t) => t.settled && !['flush', 'dispose', 'peer call', 'copy call'].includes(t.label)).length - refused;
      if (outcomeEvents !== executeCalls) problems.push(`${executeCalls} calls but ${outcomeEvents} outcome events`);
    }
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

const stats = { runs: 0, actions: 0 };
describe('CircuitBreaker robustness (fuzz)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.spyOn(console, 'info').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.clearAllTimers();
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('never throws synchronously, leaks a timer, hangs or leaves an unhandled rejection', async () => {
    await fc.assert(
      fc.asyncProperty(config, fc.array(action, { minLength: 1, maxLength: 40, size: 'max' }), async (c, actions) => {
        vi.clearAllTimers();
        const problems = await scenario(c, actions);
        stats.runs++;
        stats.actions += actions.length;
        expect(problems).toEqual([]);
      }),
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 300),
        seed: process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED),
      },
    );
    if (process.env.FUZZ_STATS) console.log('stats', stats);
  });
});
