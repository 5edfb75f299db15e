/** What a breaker tells: the fallback event and count, the time of the last failure, and a rejection log that does not flood. */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, type FallbackEvent } from '../../src/index.js';
import { ManualClock, memoryLogger } from '../helpers/clock.js';

const down = () => Promise.reject(new Error('down'));

describe('fallback', () => {
  it('emits one fallback event per call its fallback answered, with the error it replaced, and counts them', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'fb', failureThreshold: 1, clock });
    const events: FallbackEvent[] = [];
    breaker.on('fallback', (e) => events.push(e));
    expect(await breaker.execute(() => 'fine', { fallback: () => 'unused' })).toBe('fine');
    expect(await breaker.execute(down, { fallback: () => 'after failure' })).toBe('after failure');
    expect(await breaker.execute(() => 'x', { fallback: () => 'while open' })).toBe('while open');
    expect(events.map((e) => [e.name, (e.error as Error).message])).toEqual([
      ['fb', 'down'],
      ['fb', 'Circuit "fb" is open'],
    ]);
    expect(events[1]?.error).toBeInstanceOf(CircuitOpenError);
    expect(breaker.metrics().fallbacks).toBe(2);
    breaker.reset();
    expect(breaker.metrics().fallbacks).toBe(0);
  });

  it('a fallback that throws rejects with its own error, and still counts', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5 });
    await expect(
      breaker.execute(down, {
        fallback: () => {
          throw new Error('fallback broke');
        },
      }),
    ).rejects.toThrow('fallback broke');
    expect(breaker.metrics().fallbacks).toBe(1);
  });
});

describe('lastFailureAt', () => {
  it('is the wall-clock time of the last counted failure, a timeout included; neutral errors and successes leave it', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 10, clock, isFailure: (e) => (e as Error).message !== 'neutral' });
    expect(breaker.metrics().lastFailureAt).toBeNull();
    clock.advance(1_000);
    await expect(breaker.execute(down)).rejects.toThrow();
    expect(breaker.metrics().lastFailureAt).toBe(clock.wallNow());
    const at = clock.wallNow();
    clock.advance(500);
    await breaker.execute(() => 'ok');
    await expect(breaker.execute(() => Promise.reject(new Error('neutral')))).rejects.toThrow();
    expect(breaker.metrics().lastFailureAt).toBe(at);
    breaker.reset();
    expect(breaker.metrics().lastFailureAt).toBeNull();
  });
});

describe('the rejection log', () => {
  it('writes at most one breaker.rejected record a second, with the calls refused since the last', async () => {
    const clock = new ManualClock();
    const logger = memoryLogger();
    const breaker = new CircuitBreaker({ name: 'quiet', failureThreshold: 1, recoveryTimeout: 60_000, clock, logger });
    await expect(breaker.execute(down)).rejects.toThrow();
    const rejected = () => logger.records.filter((r) => r.record.event === 'breaker.rejected');
    for (let i = 0; i < 500; i++) await expect(breaker.execute(() => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(rejected()).toHaveLength(1);
    expect(rejected()[0]?.record).toMatchObject({ event: 'breaker.rejected', breaker: 'quiet', rejected: 1, state: 'open' });
    clock.advance(999);
    await expect(breaker.execute(() => 'x')).rejects.toThrow();
    expect(rejected()).toHaveLength(1);
    clock.advance(1);
    await expect(breaker.execute(() => 'x')).rejects.toThrow();
    expect(rejected()).toHaveLength(2);
    expect(rejected()[1]?.record).toMatchObject({ rejected: 501 });
    expect(rejected()[1]?.message).toBe('Circuit "quiet" is open: 501 calls rejected');
    expect(rejected()[1]?.level).toBe('warn');
  });

  it('tells the refusals not yet logged before the transition that ends them, and logs every transition', async () => {
    const clock = new ManualClock();
    const logger = memoryLogger();
    const breaker = new CircuitBreaker({ name: 'q', failureThreshold: 1, recoveryTimeout: 5_000, clock, logger });
    await expect(breaker.execute(down)).rejects.toThrow();
    for (let i = 0; i < 10; i++) await expect(breaker.execute(() => 'x')).rejects.toThrow();
    clock.advance(5_000);
    expect(breaker.state).toBe('half-open');
    await breaker.execute(() => 'probe');
    const events = logger.records.map((r) => [r.record.event, r.record.rejected ?? r.record.to]);
    expect(events).toEqual([
      ['breaker.stateChange', 'open'],
      ['breaker.rejected', 1],
      ['breaker.rejected', 9],
      ['breaker.stateChange', 'half-open'],
      ['breaker.stateChange', 'closed'],
    ]);
  });
});
