// The fleet under faults, as a property: real breakers on one in-memory store, with store faults (operations
// refused, or timing out and landing later), key loss mid-run, manual controls and dispose(), in the three
// onStoreError policies. Checks, per landed write: the write is the pure rules applied to the record it replaced;
// no probe slot is freed that its writer does not hold; no failure is written twice; and at the end: no timer
// left, nothing pending. FLEET_WRONG_PERIOD=1 also checks that no failure counts in another closed period than
// the one it was admitted in (docs/fleet.md names the one case where it can: a call outliving an outage and a
// whole open/probe/close cycle).
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { advanceAll as advanceAllRules, type Circuit, FAILURE, type Outcome, settle } from '../../src/core/rules.js';
import { decodeCircuit } from '../../src/fleet/codec.js';
import type { CompareAndSetResult, FleetHost, FleetLink, SharedWrite } from '../../src/fleet/contract.js';
import { type Commit, FleetSync, ITEM } from '../../src/fleet/engine.js';
import { CircuitBreaker } from '../../src/index.js';
import { resolveOptions, type Settings } from '../../src/options/validate.js';
import { createTracker } from '../../src/trackers/create.js';
import { MemoryBackend, MemoryStore, type MemoryStoreOptions } from '../helpers/memory-store.js';

const N = 3;
const OFFSET = 1e6;
const RUNS = Number(process.env.FLEET_PROPERTY_RUNS ?? 300);
const HINT_BASE = 500;

interface Landed {
  version: string;
  writer: number;
  prev: { circuit: string; tracker: string; version: string } | undefined;
  next: SharedWrite;
  period: string; // closed period id of the new record ('' when not closed)
}

class TapStore extends MemoryStore {
  constructor(
    options: MemoryStoreOptions,
    backend: MemoryBackend,
    readonly index: number,
    readonly onLanded: (l: Landed) => void,
    readonly observer: (c: Commit) => void,
  ) {
    super(options, backend);
  }
  override join(settings: Settings, host: FleetHost): FleetLink {
    return new FleetSync(settings, this, host, this.observer);
  }
  override async compareAndSet(name: string, expected: string, next: SharedWrite): Promise<CompareAndSetResult> {
    const before = this.backend.rows.get(name);
    const prev = before === undefined ? undefined : { circuit: before.circuit, tracker: before.tracker, version: before.version };
    const result = await super.compareAndSet(name, expected, next);
    if (result.ok) this.onLanded({ version: result.version, writer: this.index, prev, next, period: '' });
    return result;
  }
}

type Op = 'forceOpen' | 'disable' | 'close' | 'reset';
type Command =
  | { k: 'call'; i: number }
  | { k: 'settle'; j: number; o: Outcome }
  | { k: 'advance'; ms: number }
  | { k: 'flush'; i: number }
  | { k: 'step' }
  | { k: 'fault'; i: number }
  | { k: 'heal'; i: number }
  | { k: 'lose' }
  | { k: 'control'; i: number; op: Op }
  | { k: 'dispose'; i: number };

const command = (controls: boolean, dispose: boolean): fc.Arbitrary<Command> =>
  fc.oneof(
    { arbitrary: fc.record({ k: fc.constant('call' as const), i: fc.nat(N - 1) }), weight: 6 },
    { arbitrary: fc.record({ k: fc.constant('settle' as const), j: fc.nat(7), o: fc.constantFrom<Outcome>(0, 1, 1, 2) }), weight: 5 },
    { arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 120 }) }), weight: 3 },
    { arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 200, max: 700 }) }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('flush' as const), i: fc.nat(N - 1) }), weight: 1 },
    { arbitrary: fc.constant({ k: 'step' as const }), weight: 10 },
    { arbitrary: fc.record({ k: fc.constant('fault' as const), i: fc.nat(N - 1) }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('heal' as const), i: fc.nat(N - 1) }), weight: 2 },
    { arbitrary: fc.constant({ k: 'lose' as const }), weight: 1 },
    {
      arbitrary: fc.record({
        k: fc.constant('control' as const),
        i: fc.nat(N - 1),
        op: fc.constantFrom<Op>('forceOpen', 'disable', 'close', 'reset'),
      }),
      weight: controls ? 1 : 0,
    },
    { arbitrary: fc.record({ k: fc.constant('dispose' as const), i: fc.nat(N - 1) }), weight: dispose ? 1 : 0 },
  );

const settingsArb = fc.oneof(
  fc.record({
    failureThreshold: fc.integer({ min: 1, max: 3 }),
    halfOpenProbes: fc.integer({ min: 1, max: 2 }),
    successThreshold: fc.integer({ min: 1, max: 2 }),
  }),
  fc.record({
    failureRateThreshold: fc.constantFrom(0.5, 0.75),
    minimumCalls: fc.integer({ min: 1, max: 3 }),
    window: fc.constant({ type: 'count' as const, size: 4 }),
    halfOpenProbes: fc.integer({ min: 1, max: 2 }),
  }),
);

class Tagged extends Error {
  constructor(
    readonly id: number,
    readonly neutral: boolean,
  ) {
    super(`call ${id}`);
  }
}

const stats = { runs: 0, storeError: 0, recovered: 0, unansweredLanded: 0, counted: 0, lose: 0, disposedInFault: 0 };
afterEach(() => {
  if (process.env.FLEET_STATS) console.log(JSON.stringify(stats));
  vi.useRealTimers();
});

describe('fleet mode with faults, key loss, controls and dispose, against the rules', () => {
  for (const variant of [
    { name: 'faults and key loss', controls: false, dispose: false },
    { name: 'with manual controls', controls: true, dispose: false },
    { name: 'with dispose', controls: false, dispose: true },
    { name: 'everything', controls: true, dispose: true },
  ]) {
    it(variant.name, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          settingsArb,
          fc.constantFrom('local', 'fail-open', 'fail-closed'),
          fc.array(command(variant.controls, variant.dispose), { minLength: 1, maxLength: 100 }),
          async (sched, extra, policy, commands) => {
            vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
            try {
              const clock = { t: 0 };
              const backend = new MemoryBackend();
              const landed: Landed[] = [];
              const commits: { c: Commit; i: number }[] = [];
              // closed-period bookkeeping: the period id of the record currently stored
              let currentPeriod = '';
              const onLanded = (l: Landed) => {
                const prev = l.prev === undefined ? undefined : decodeCircuit(l.prev.circuit);
                const next = decodeCircuit(l.next.circuit) as Circuit;
                if (next.state !== 'closed') currentPeriod = '';
                else if (prev === undefined || prev.state !== 'closed' || prev.generation !== next.generation || currentPeriod === '') {
                  currentPeriod = l.version;
                }
                l.period = currentPeriod;
                landed.push(l);
              };
              const periodByVersion = new Map<string, string>();
              const handles: TapStore[] = [];
              const gate = () => sched.schedule(Promise.resolve());
              for (let i = 0; i < N; i++) {
                handles.push(
                  new TapStore({ now: () => clock.t + OFFSET, subscribe: true, gate, timeout: 250 }, backend, i, onLanded, (c) =>
                    commits.push({ c, i }),
                  ),
                );
              }
              const problems: string[] = [];
              const logger = {
                info: () => {},
                warn: () => {},
                error: (f: Record<string, unknown>, m: string) => {
                  if (f.event !== 'breaker.storeError') problems.push(`error log: ${String(f.event)} ${m}`);
                },
              };
              const s = {
                name: 'p',
                recoveryTimeout: 500,
                maxProbeWait: 300,
                syncInterval: 100,
                onStoreError: policy,
                clock: { now: () => clock.t },
                logger,
                isFailure: (e: unknown) => !(e instanceof Tagged && e.neutral),
                retryAfterHint: (e: unknown) => (e instanceof Tagged ? HINT_BASE + e.id / 1024 : undefined),
                ...extra,
              };
              const rs = resolveOptions({ ...s, store: handles[0] } as never);
              const breakers = handles.map((h) => new CircuitBreaker({ ...s, store: h }));
              const events: string[] = [];
              breakers.forEach((b, i) => {
                b.on('storeError', (e) => events.push(`${clock.t} ${i} storeError ${String((e as { error: unknown }).error)}`));
                b.on('storeRecovered', () => events.push(`${clock.t} ${i} storeRecovered`));
                b.on('stateChange', (e) => events.push(`${clock.t} ${i} ${e.from}->${e.to} ${e.reason} ${e.source}`));
              });
              const disposed = new Set<number>();
              const running: { id: number; i: number; resolve: () => void; reject: (e: Error) => void }[] = [];
              const done: Promise<unknown>[] = [];
              // For each failure id: the closed period of the shared record when its call was admitted.
              const admittedIn = new Map<number, string>();
              let nextId = 1;
              let controlled = false;

              for (const cmd of commands) {
                switch (cmd.k) {
                  case 'call': {
                    const id = nextId++;
                    const row = backend.rows.get('p');
                    const b = breakers[cmd.i] as CircuitBreaker;
                    const p = b.execute(
                      () =>
                        new Promise<void>((resolve, reject) => {
                          admittedIn.set(id, row === undefined ? 'absent' : currentPeriod === '' ? 'not-closed' : currentPeriod);
                          running.push({ id, i: cmd.i, resolve, reject });
                        }),
                    );
                    done.push(p.catch(() => {}));
                    break;
                  }
                  case 'settle': {
                    const call = running.splice(cmd.j % Math.max(1, running.length), 1)[0];
                    if (call === undefined) break;
                    if (cmd.o === 0) call.resolve();
                    else call.reject(new Tagged(call.id, cmd.o === 2));
                    break;
                  }
                  case 'advance':
                    clock.t += cmd.ms;
                    vi.advanceTimersByTime(cmd.ms);
                    break;
                  case 'flush':
                    done.push((breakers[cmd.i] as CircuitBreaker).flush());
                    break;
                  case 'step':
                    if (sched.count() > 0) await sched.waitOne();
                    break;
                  case 'fault':
                    (handles[cmd.i] as TapStore).fail = new Error('ECONNRESET store');
                    break;
                  case 'heal':
                    (handles[cmd.i] as TapStore).fail = undefined;
                    break;
                  case 'lose':
                    backend.rows.delete('p');
                    currentPeriod = '';
                    break;
                  case 'control':
                    controlled = true;
                    (breakers[cmd.i] as CircuitBreaker)[cmd.op]();
                    break;
                  case 'dispose':
                    disposed.add(cmd.i);
                    done.push((breakers[cmd.i] as CircuitBreaker).dispose());
                    break;
                }
              }
              // Drain: the store answers again, every call fails, time passes, everything is written.
              for (const h of handles) h.fail = undefined;
              const settleAll = async () => {
                for (let k = 0; k < 12; k++) {
                  await new Promise<void>((r) => setImmediate(r));
                  await sched.waitAll();
                }
              };
              await settleAll();
              for (let round = 0; round < 30; round++) {
                for (let k = 0; k < 22; k++) {
                  clock.t += 50;
                  vi.advanceTimersByTime(50);
                  await settleAll();
                }
                for (const call of running.splice(0)) call.reject(new Tagged(call.id, false));
                await settleAll();
                // calls that read the store back during a fault
                for (const b of breakers) done.push(b.execute(() => Promise.resolve()).catch(() => {}));
                for (const b of breakers) done.push(b.flush());
                await settleAll();
                if (process.env.FLEET_DEBUG) events.push(`round ${round} end: sched ${sched.count()} timers ${vi.getTimerCount()}`);
                if (round >= 3 && sched.count() === 0 && running.length === 0 && vi.getTimerCount() === 0) break;
              }
              for (const b of breakers) done.push(b.flush());
              await settleAll();
              await Promise.all(done);
              await sched.waitAll();

              if (process.env.FLEET_DEBUG) {
                console.log(JSON.stringify({ policy, extra, commands }));
                console.log(events.join('\n'));
                for (const l of landed)
                  console.log('landed', l.version, 'by', l.writer, l.prev?.version, l.prev?.circuit, '->', l.next.circuit, l.next.writer);
                for (const { c, i } of commits)
                  console.log(
                    'commit',
                    i,
                    c.kind,
                    c.version,
                    c.written,
                    'items' in c ? JSON.stringify(c.items) : '',
                    'admit' in c ? c.admit : '',
                    'op' in c ? c.op : '',
                  );
              }
              stats.runs++;
              stats.storeError += events.filter((e) => e.includes('storeError')).length;
              stats.recovered += events.filter((e) => e.includes('storeRecovered')).length;
              stats.unansweredLanded += landed.filter((l) => !commits.some((x) => x.c.written && x.c.version === l.version)).length;
              stats.lose += commands.filter((c) => c.k === 'lose').length;
              expect(problems).toEqual([]);
              // 1. each landed write is the rules applied to the record it replaced (answered writes: with their items).
              const byVersion = new Map(commits.filter((x) => x.c.written).map((x) => [x.c.version, x] as const));
              const bad: string[] = [];
              for (const l of landed) {
                periodByVersion.set(l.version, l.period);
                const x = byVersion.get(l.version);
                if (x === undefined || l.prev === undefined) continue;
                const commit = x.c;
                const base = decodeCircuit(l.prev.circuit);
                if (base === undefined) continue;
                const tracker = createTracker(rs);
                if (l.prev.tracker !== '') tracker.restore(JSON.parse(l.prev.tracker), commit.now, (t) => t);
                let c = base;
                const { advanceAll, admitProbe, manual } = await import('../../src/core/rules.js');
                c = advanceAll(c, commit.now, rs);
                if (commit.kind === 'outcomes') {
                  for (let k = 0; k < commit.items.length; k += ITEM) {
                    const code = commit.items[k] as number;
                    const hint = commit.items[k + 2] as number;
                    c = settle(
                      c,
                      tracker,
                      (code & 3) as Outcome,
                      (code & 4) !== 0,
                      (code & 8) !== 0,
                      commit.items[k + 1] as number,
                      commit.now,
                      rs,
                      hint,
                    );
                  }
                } else if (commit.kind === 'probe' && commit.admit === 'probe') c = admitProbe(c, commit.now, rs);
                else if (commit.kind === 'control') c = manual(c, commit.op, tracker, commit.now);
                if (JSON.stringify(c) !== JSON.stringify(commit.next))
                  bad.push(`v${l.version}: rules give ${JSON.stringify(c)}, written ${JSON.stringify(commit.next)}`);
              }
              expect(bad).toEqual([]);

              // 2. no failure written twice; none counted in another closed period than the one it was admitted in.
              const seen = new Map<number, string>();
              const twice: string[] = [];
              const wrongPeriod: string[] = [];
              for (const { c: commit, i } of commits) {
                if (commit.kind !== 'outcomes') continue;
                for (let k = 0; k < commit.items.length; k += ITEM) {
                  const code = commit.items[k] as number;
                  const hint = commit.items[k + 2] as number;
                  if ((code & 3) !== FAILURE || hint < HINT_BASE) continue;
                  const id = Math.round((hint - HINT_BASE) * 1024);
                  if (commit.written && seen.has(id)) twice.push(`failure ${id} of instance ${i} in ${seen.get(id)} and ${commit.version}`);
                  if (commit.written) seen.set(id, commit.version);
                }
              }
              expect(twice).toEqual([]);
              // counted: find the landed write whose tracker/circuit took it. Re-run each answered write item by item.
              for (const l of landed) {
                const x = byVersion.get(l.version);
                if (x === undefined || l.prev === undefined) continue;
                const commit = x.c;
                if (commit.kind !== 'outcomes') continue;
                const base = decodeCircuit(l.prev.circuit);
                if (base === undefined) continue;
                const { advanceAll } = await import('../../src/core/rules.js');
                const c0 = advanceAll(base, commit.now, rs);
                const basePeriod = periodByVersion.get(l.prev.version) ?? '?';
                for (let k = 0; k < commit.items.length; k += ITEM) {
                  const code = commit.items[k] as number;
                  const hint = commit.items[k + 2] as number;
                  if ((code & 3) !== FAILURE || (code & 8) !== 0 || hint < HINT_BASE) continue;
                  const id = Math.round((hint - HINT_BASE) * 1024);
                  // counted if the item's generation is the closed base's (the batch stops counting once it opens)
                  if (c0.state !== 'closed' || commit.items[k + 1] !== c0.generation) continue;
                  stats.counted++;
                  const under = admittedIn.get(id);
                  if (under === 'absent') continue; // key missing when called: counts in the next record created
                  if (under !== basePeriod) {
                    wrongPeriod.push(
                      `failure ${id} of instance ${x.i}: admitted in period ${under}, counted in ${basePeriod} (v${l.version})`,
                    );
                  }
                }
              }
              if (process.env.FLEET_WRONG_PERIOD) expect(wrongPeriod).toEqual([]);

              // 3. slots: a write that frees or decides a trial's slot comes from an instance holding one.
              const held = new Map<string, number>(); // `${writer}:${generation}`
              const freed: string[] = [];
              for (const l of landed) {
                const raw = l.prev === undefined ? undefined : decodeCircuit(l.prev.circuit);
                const prev = raw === undefined ? undefined : advanceAllRules(raw, l.next.at, rs);
                const next = decodeCircuit(l.next.circuit) as Circuit;
                if (prev === undefined || prev.state !== 'half-open') continue;
                const key = `${l.writer}:${prev.generation}`;
                if (next.state === 'half-open' && next.generation === prev.generation) {
                  const delta = next.probes - prev.probes;
                  if (delta > 0) held.set(key, (held.get(key) ?? 0) + delta);
                  else if (delta < 0) {
                    const h = held.get(key) ?? 0;
                    if (h < -delta)
                      freed.push(`v${l.version}: instance ${l.writer} freed ${-delta} slot(s) of gen ${prev.generation} holding ${h}`);
                    held.set(key, h + delta);
                  }
                } else if (
                  prev.probes > 0 &&
                  (next.reason === 'probe-failed' || next.reason === 'probe-succeeded') &&
                  next.generation === prev.generation + 1
                ) {
                  const h = held.get(key) ?? 0;
                  if (h < 1) freed.push(`v${l.version}: instance ${l.writer} decided the trial of gen ${prev.generation} holding no slot`);
                }
              }
              expect(freed).toEqual([]);

              // 4. nothing pending, no timer left; no breaker stuck in a fallback state.
              expect(vi.getTimerCount()).toBe(0);
              if (!controlled) {
                const stuck = breakers.map((b, i) => `${i}:${b.state}`).filter((x) => x.endsWith('forced-open') || x.endsWith('disabled'));
                expect(stuck).toEqual([]);
              }
            } finally {
              vi.useRealTimers();
            }
          },
        ),
        {
          numRuns: RUNS,
          verbose: 1,
          ...(process.env.FLEET_PROPERTY_SEED === undefined
            ? {}
            : { seed: Number(process.env.FLEET_PROPERTY_SEED), path: process.env.FLEET_PROPERTY_PATH, endOnFailure: true }),
        },
      );
    }, 300_000);
  }
});
