/**
 * Watches the breaker through its events and keeps what the live panel, `/api/state` and
 * `/metrics` show: recent transitions and calls, a duration histogram, and the subscribers
 * of the live stream.
 */
import type { CircuitBreaker, CircuitState } from '../../src/index.js';
import type { Config } from './config.js';
import { describeError, isUpstreamFailure, UpstreamHttpError } from './upstream.js';

/** How a call through the breaker ended (one per page load). */
export type CallOutcome = 'success' | 'failure' | 'neutral' | 'timeout' | 'rejected' | 'limited';

/** Outcomes of calls that reached the API, the ones with a duration. */
export type TimedOutcome = Exclude<CallOutcome, 'rejected' | 'limited'>;

/** A transition as the panel lists it. */
export interface TransitionView {
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: string;
  /** ISO time. */
  readonly at: string;
}

/** A call as the panel lists it. */
export interface CallView {
  readonly outcome: CallOutcome;
  readonly at: string;
  /** Ms; null for a rejection or a call over the cap (the API was not called). */
  readonly durationMs: number | null;
  readonly detail: string;
}

/** Everything the panel shows: the body of `/api/state` and of each live-stream message. */
export interface StateView {
  readonly name: string;
  readonly state: CircuitState;
  /** ISO time the current state began. */
  readonly since: string;
  /** Ms until a call may get through: until the probe while open; while a probe runs, until it is decided at the latest; 0 when closed. */
  readonly retryAfterMs: number;
  /** ISO time of the next probe while open, else null. */
  readonly nextProbeAt: string | null;
  readonly consecutiveFailures: number;
  readonly settings: {
    readonly failureThreshold: number;
    readonly recoveryTimeout: number;
    readonly requestTimeout: number;
    /** MAX_CONCURRENT: calls to the API in flight at most; 0 for no cap. */
    readonly maxConcurrent: number;
    readonly baseUrl: string;
  };
  readonly counts: {
    readonly successes: number;
    readonly failures: number;
    readonly timeouts: number;
    readonly neutral: number;
    readonly rejected: number;
    /** Page loads turned away because MAX_CONCURRENT calls were already in flight (the API was not called). */
    readonly limited: number;
  };
  /** Newest first. */
  readonly transitions: readonly TransitionView[];
  /** Newest first. */
  readonly calls: readonly CallView[];
}

/** Histogram bucket bounds in seconds, spanning a fast local call to the slowest timeout. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Cumulative bucket counts (Prometheus `le` semantics), sum and count of durations in seconds. */
export interface Histogram {
  readonly counts: number[];
  sum: number;
  count: number;
}

const MAX_TRANSITIONS = 20;
const MAX_CALLS = 12;

const pushFront = <T>(list: T[], item: T, max: number) => {
  list.unshift(item);
  if (list.length > max) list.length = max;
};

/**
 * Subscribes to the breaker's events once and keeps the panel's data; logs one JSON line per
 * upstream error through `log`. Call `close()` to unsubscribe.
 */
export class Monitor {
  readonly #breaker: CircuitBreaker;
  readonly #config: Config;
  readonly #transitions: TransitionView[] = [];
  readonly #calls: CallView[] = [];
  readonly #listeners = new Set<(view: StateView) => void>();
  readonly #offs: Array<() => void> = [];
  #halfOpenTimer: ReturnType<typeof setTimeout> | undefined;
  /** Transitions by `from→to`, for `/metrics`. */
  readonly transitionCounts = new Map<string, number>();
  /** Call durations by outcome (rejections and calls over the cap have none). */
  readonly histograms = new Map<TimedOutcome, Histogram>();

  constructor(
    breaker: CircuitBreaker,
    config: Config,
    log: (level: 'warn' | 'error', record: Record<string, unknown>, msg: string) => void,
  ) {
    this.#breaker = breaker;
    this.#config = config;
    const call = (outcome: CallOutcome, duration: number | null, detail: string) => this.#record(outcome, duration, detail);
    const upstreamError = (outcome: CallOutcome, error: unknown, durationMs: number) => {
      const counted = isUpstreamFailure(error);
      log(
        counted ? 'error' : 'warn',
        {
          event: 'upstream.error',
          breaker: breaker.name,
          outcome,
          counted,
          url: `${config.baseUrl}/quote`,
          ...(error instanceof UpstreamHttpError ? { status: error.status } : {}),
          error,
          durationMs: Math.round(durationMs),
        },
        `Quote API call failed: ${describeError(error)}${counted ? '' : ' (neutral: not counted)'}`,
      );
    };
    this.#offs.push(
      breaker.on('success', (e) => call('success', e.duration, 'quote served')),
      breaker.on('failure', (e) => {
        upstreamError('failure', e.error, e.duration);
        call('failure', e.duration, describeError(e.error));
      }),
      breaker.on('timeout', (e) => {
        upstreamError('timeout', e.error, e.duration);
        call('timeout', e.duration, describeError(e.error));
      }),
      breaker.on('neutral', (e) => {
        upstreamError('neutral', e.error, e.duration);
        call('neutral', e.duration, `${describeError(e.error)} (not counted)`);
      }),
      breaker.on('rejected', () => call('rejected', null, 'failed fast, API not called')),
      breaker.on('limited', (e) => call('limited', null, `over the cap of ${e.error.limit} calls in flight, API not called`)),
      breaker.on('stateChange', (e) => {
        pushFront(this.#transitions, { from: e.from, to: e.to, reason: e.reason, at: new Date(e.at).toISOString() }, MAX_TRANSITIONS);
        const key = `${e.from}→${e.to}`;
        this.transitionCounts.set(key, (this.transitionCounts.get(key) ?? 0) + 1);
        this.#watchRecovery();
        this.#publish();
      }),
    );
  }

  /** The panel's view now. Reading the state lets the breaker move open → half-open when due. */
  view(): StateView {
    const m = this.#breaker.metrics();
    const c = this.#config;
    return {
      name: m.name ?? 'breaker',
      state: m.state,
      since: new Date(m.since).toISOString(),
      retryAfterMs: Math.ceil(m.retryAfter),
      nextProbeAt: m.state === 'open' && Number.isFinite(m.retryAfter) ? new Date(Date.now() + m.retryAfter).toISOString() : null,
      consecutiveFailures: m.window.failures,
      settings: {
        failureThreshold: c.failureThreshold,
        recoveryTimeout: c.recoveryTimeout,
        requestTimeout: c.requestTimeout,
        maxConcurrent: c.maxConcurrent,
        baseUrl: c.baseUrl,
      },
      counts: {
        successes: m.successes,
        failures: m.failures,
        timeouts: m.timeouts,
        neutral: m.neutral,
        rejected: m.rejected,
        limited: m.limited,
      },
      transitions: [...this.#transitions],
      calls: [...this.#calls],
    };
  }

  /** Subscribes to every change; returns the function that unsubscribes. */
  subscribe(listener: (view: StateView) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops watching (tests, shutdown). */
  close(): void {
    for (const off of this.#offs) off();
    this.#listeners.clear();
    clearTimeout(this.#halfOpenTimer);
  }

  /**
   * While open, read the state once the recovery time is over so the panel shows half-open
   * when it happens, not at the next page load. Unref'd: it never keeps the process alive.
   */
  #watchRecovery(): void {
    clearTimeout(this.#halfOpenTimer);
    this.#halfOpenTimer = undefined;
    const { state, retryAfter } = this.#breaker.metrics();
    if (state !== 'open' || !Number.isFinite(retryAfter)) return;
    this.#halfOpenTimer = setTimeout(() => {
      this.#halfOpenTimer = undefined;
      if (this.#breaker.state === 'open') this.#watchRecovery();
    }, retryAfter + 5);
    this.#halfOpenTimer.unref?.();
  }

  #record(outcome: CallOutcome, duration: number | null, detail: string): void {
    // NaN: a call already in flight when the monitor subscribed (it was not timed).
    const durationMs = duration !== null && Number.isFinite(duration) ? duration : null;
    pushFront(
      this.#calls,
      { outcome, at: new Date().toISOString(), durationMs: durationMs === null ? null : Math.round(durationMs), detail },
      MAX_CALLS,
    );
    if (durationMs !== null && outcome !== 'rejected' && outcome !== 'limited') this.#observe(outcome, durationMs / 1000);
    this.#publish();
  }

  #observe(outcome: TimedOutcome, seconds: number): void {
    let h = this.histograms.get(outcome);
    if (h === undefined) {
      h = { counts: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.histograms.set(outcome, h);
    }
    DURATION_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) h.counts[i] = (h.counts[i] ?? 0) + 1;
    });
    h.sum += seconds;
    h.count++;
  }

  #publish(): void {
    if (this.#listeners.size === 0) return;
    const view = this.view();
    for (const listener of this.#listeners) listener(view);
  }
}
