// Failures the store has not answered yet (a slow store, a write under way) open the instance's circuit as soon as, by
// the rules, they would open the shared one; the store's record, when it comes, replaces the local guess.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, countWindow, type StateChangeEvent } from '../../src/index.js';
import { deferred, fail, ok, quiet, sharedCircuit, tick } from '../helpers/fleet-fixtures.js';
import { MemoryStore } from '../helpers/memory-store.js';

/** Instance A's writes wait until the test lets them through; B's go at once. Both on one fake clock. */
function slowFleet(
  options: { failureThreshold?: number; failureRateThreshold?: number; minimumCalls?: number; holdFirstRead?: boolean } = {},
) {
  const clock = { t: 0 };
  const store = new MemoryStore({ now: () => 1e12 + clock.t, timeout: 60_000 });
  const held: ReturnType<typeof deferred>[] = [];
  let holding: boolean | 'all' = false;
  const sa = store.handle({
    timeout: 60_000,
    gate: async (op) => {
      if (!holding || (op === 'read' && holding !== 'all')) return;
      const d = deferred();
      held.push(d);
      await d.promise;
    },
  });
  const sb = store.handle({ timeout: 60_000 });
  if (options.holdFirstRead) holding = 'all';
  const rules =
    options.failureRateThreshold === undefined
      ? { failureThreshold: options.failureThreshold ?? 3 }
      : {
          failureThreshold: undefined,
          failureRateThreshold: options.failureRateThreshold,
          window: countWindow(10),
          minimumCalls: options.minimumCalls ?? 4,
        };
  const common = { name: 'api', recoveryTimeout: 1_000, clock: { now: () => clock.t }, logger: quiet(), ...rules };
  const a = new CircuitBreaker({ ...common, store: sa });
  const b = new CircuitBreaker({ ...common, store: sb });
  const changes: StateChangeEvent[] = [];
  a.on('stateChange', (e) => changes.push(e));
  return {
    clock,
    store,
    a,
    b,
    changes,
    hold: () => {
      holding = true;
    },
    /** Lets every held write through, and the writes that follow. */
    release: async () => {
      holding = false;
      for (const d of held.splice(0)) d.resolve();
      for (let i = 0; i < 5; i++) await tick();
    },
    held,
  };
}

const failed = (b: CircuitBreaker) => b.execute(fail).catch(() => 'failed');

/** Once A's first record is in, holds its writes and makes `n` failing calls on it. */
async function failWhileHeld(f: ReturnType<typeof slowFleet>, n: number): Promise<void> {
  await tick();
  f.hold();
  for (let i = 0; i < n; i++) await failed(f.a);
}

describe('failures the store has not answered yet', () => {
  it('opens the instance once the failures behind the write reach the threshold, before the store answers', async () => {
    const f = slowFleet({ failureThreshold: 3 });
    await failWhileHeld(f, 2);
    // Two failures (one being written, one waiting): below the threshold, calls still go through.
    expect(f.a.state).toBe('closed');
    expect(f.held).toHaveLength(1);
    await failed(f.a);
    expect(f.a.state).toBe('open');
    expect(f.changes).toMatchObject([{ from: 'closed', to: 'open', source: 'local' }]);
    // Still no answer from the store, and nothing written: the next call is refused without running.
    expect(sharedCircuit(f.store)).toBeNull();
    let ran = false;
    await expect(
      f.a.execute(async () => {
        ran = true;
        return 'x';
      }),
    ).rejects.toBeInstanceOf(CircuitOpenError);
    expect(ran).toBe(false);
    // The store answers: its record is the same open circuit, so nothing changes again.
    await f.release();
    expect(sharedCircuit(f.store)?.[0]).toBe('open');
    expect(f.a.state).toBe('open');
    expect(f.b.state).toBe('open');
    expect(f.changes).toHaveLength(1);
  });

  it('reopens on time: the open circuit it guessed lasts the recovery timeout from the failure', async () => {
    const f = slowFleet({ failureThreshold: 2 });
    await tick();
    // The record known was read at 0; the failures come at 500, on the store's clock as the instance estimates it.
    f.clock.t = 500;
    await failWhileHeld(f, 2);
    expect(f.a.state).toBe('open');
    f.clock.t = 1_499;
    expect(f.a.state).toBe('open');
    f.clock.t = 1_500;
    expect(f.a.state).toBe('half-open');
    await f.release();
  });

  it('does not guess from successes: a success behind the write breaks the run of failures', async () => {
    const f = slowFleet({ failureThreshold: 3 });
    await tick();
    // Answered at once: the shared record holds one failure.
    await failed(f.a);
    await tick();
    expect(f.a.state).toBe('closed');
    f.hold();
    await f.a.execute(ok);
    await failed(f.a);
    await failed(f.a);
    // Failure, success, failure, failure: a run of two, so the rules keep the circuit closed.
    expect(f.a.state).toBe('closed');
    await f.release();
    expect(f.a.state).toBe('closed');
    expect(sharedCircuit(f.store)?.[0]).toBe('closed');
    await failed(f.a);
    await tick();
    expect(f.a.state).toBe('open');
  });

  it('counts the fleet’s failures already in the shared record', async () => {
    const f = slowFleet({ failureThreshold: 3 });
    await tick();
    // B's two failures are in the shared record; A's first failure, held, makes the third.
    await failed(f.b);
    await failed(f.b);
    await tick();
    expect(f.a.state).toBe('closed');
    await failWhileHeld(f, 1);
    expect(f.a.state).toBe('open');
    await f.release();
    expect(f.b.state).toBe('open');
  });

  it('takes an open circuit others wrote as theirs, though its own outcomes wait', async () => {
    const f = slowFleet({ failureThreshold: 3 });
    await tick();
    await failed(f.a);
    await tick();
    // A's success waits (it would break the run); B's two failures then open the shared circuit (A's, B's, B's).
    f.hold();
    await f.a.execute(ok);
    await failed(f.b);
    await tick();
    expect(f.a.state).toBe('closed');
    await failed(f.b);
    await tick();
    expect(f.b.state).toBe('open');
    expect(f.a.state).toBe('open');
    expect(f.changes.map((e) => [e.to, e.source])).toEqual([['open', 'remote']]);
    await f.release();
  });

  it('gives way to the store: a record others wrote meanwhile replaces the guess', async () => {
    const f = slowFleet({ failureThreshold: 2 });
    await failWhileHeld(f, 2);
    expect(f.a.state).toBe('open');
    // Meanwhile B disables the breaker: its record wins, and A's failures no longer count.
    f.b.disable();
    await tick();
    expect(f.a.state).toBe('disabled');
    await f.release();
    expect(f.a.state).toBe('disabled');
    expect(sharedCircuit(f.store)?.[0]).toBe('disabled');
    expect(f.changes.map((e) => [e.to, e.source])).toEqual([
      ['open', 'local'],
      ['disabled', 'remote'],
    ]);
  });

  it('on a cold start, counts the guessed failures in the record the store answers with', async () => {
    // A's first read waits: its failures wait behind it, and the answer (no record yet) makes the guess.
    const f = slowFleet({ failureThreshold: 1, holdFirstRead: true });
    await failed(f.a);
    await failed(f.a);
    expect(f.a.state).toBe('closed');
    f.held.shift()?.resolve();
    await tick();
    await tick();
    expect(f.a.state).toBe('open');
    await f.release();
    // The failures counted in the record the guess was made from (not lost to a generation the guess started):
    // one write, which opens the circuit.
    expect(f.store.backend.log.map((row) => (JSON.parse(row.circuit) as string[])[0])).toEqual(['open']);
    expect(f.b.state).toBe('open');
    expect(f.changes.map((e) => e.to)).toEqual(['open']);
  });

  it('uses the same rules in rate mode: below minimumCalls no guess opens it', async () => {
    const f = slowFleet({ failureRateThreshold: 0.5, minimumCalls: 4 });
    await failWhileHeld(f, 3);
    expect(f.a.state).toBe('closed');
    await failed(f.a);
    expect(f.a.state).toBe('open');
    await f.release();
    expect(sharedCircuit(f.store)?.[0]).toBe('open');
  });
});
