// Random interleavings of several instances' calls, probes, flushes and clock steps against one
// store, with the store's answers reordered by fast-check's scheduler, and the last instance joining
// late, and all of them possibly starting against a record generations on (a cold start): after every write, the
// shared state equals what the single-breaker model gives (the pure transitions applied in the
// order the store accepted the writes), and no failure or probe outcome is lost or counted twice.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admission, admitProbe, advanceAll, type Circuit, FAILURE, initialCircuit, type Outcome, settle } from '../../src/core/rules.js';
import { decodeCircuit, encodeCircuit } from '../../src/fleet/codec.js';
import { type Commit, type FleetHost, FleetSync, ITEM } from '../../src/fleet/engine.js';
import { modeOf, resolveOptions } from '../../src/options/validate.js';
import { createTracker } from '../../src/trackers/create.js';
import { MemoryStore } from '../helpers/memory-store.js';

const N = 3;
const OFFSET = 1e6; // the store's clock runs ahead of the instances'
const RUNS = Number(process.env.FLEET_PROPERTY_RUNS ?? 1000);

type Command =
  | { k: 'call'; i: number; o: Outcome }
  | { k: 'settle'; j: number; o: Outcome }
  | { k: 'advance'; ms: number }
  | { k: 'flush'; i: number }
  | { k: 'join' }
  | { k: 'step' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('call' as const), i: fc.nat(N - 1), o: fc.constantFrom<Outcome>(0, 1, 1, 2) }), weight: 5 },
  { arbitrary: fc.record({ k: fc.constant('settle' as const), j: fc.nat(5), o: fc.constantFrom<Outcome>(0, 0, 1, 2) }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 700 }) }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('flush' as const), i: fc.nat(N - 1) }), weight: 2 },
  { arbitrary: fc.constant({ k: 'step' as const }), weight: 4 },
  { arbitrary: fc.constant({ k: 'join' as const }), weight: 1 },
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

describe('fleet mode against the single-breaker model', () => {
  it('keeps the shared state equal to the pure transitions applied in the store’s order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        settingsArb,
        fc.nat(4),
        fc.array(command, { minLength: 1, maxLength: 60 }),
        async (sched, extra, seedGeneration, commands) => {
          const clock = { t: 0 };
          const store = new MemoryStore({ now: () => clock.t + OFFSET, subscribe: true });
          const s = resolveOptions({
            store,
            name: 'p',
            recoveryTimeout: 500,
            maxProbeWait: 300,
            syncInterval: 3_600_000,
            clock: { now: () => clock.t },
            ...extra,
          });

          // A record some generations on, closed, already in the store (written before any instance starts).
          const seeded = seedGeneration === 0 ? undefined : { ...initialCircuit(OFFSET), generation: seedGeneration };
          if (seeded !== undefined) {
            const r = await store.compareAndSet('p', '', {
              circuit: encodeCircuit(seeded),
              tracker: '',
              settings: '',
              writer: 'seed.1',
              at: OFFSET,
              ttl: 0,
            });
            expect(r.ok).toBe(true);
          }
          const commits: Commit[] = [];
          const problems: string[] = [];
          const commitWriter = new Map<Commit, number>();
          const observe = (i: number) => (commit: Commit) => {
            commits.push(commit);
            commitWriter.set(commit, i);
          };

          const locals: Circuit[] = [];
          const recorded: number[][] = Array.from({ length: N }, () => []);
          const held: { i: number; generation: number }[] = [];
          const pending: Promise<unknown>[] = [];
          const start = (i: number) => {
            locals[i] = initialCircuit(clock.t);
            const host: FleetHost = {
              circuit: () => locals[i] as Circuit,
              adopt: (next) => {
                locals[i] = next;
              },
              tracker: createTracker(s),
              settleLocally: () => problems.push('no store faults in this test'),
              emit: (event, payload) => {
                if (event === 'storeError') problems.push(`store error: ${String((payload as { error: unknown }).error)}`);
              },
              log: () => {},
            };
            const handle = store.handle({ subscribe: true, gate: () => sched.schedule(Promise.resolve()) });
            return new FleetSync(s, handle, host, observe(i));
          };
          // The last instance starts when a `join` comes (its calls before that are not made).
          const fleets: (FleetSync | undefined)[] = Array.from({ length: N }, (_, i) => (i < N - 1 ? start(i) : undefined));
          const joined = () => fleets.filter((f): f is FleetSync => f !== undefined);

          // For each closed-state failure, in order: the shared closed generation when its call was made (-1: not closed).
          const admittedUnder: number[][] = Array.from({ length: N }, () => []);
          const record = (i: number, o: Outcome, probe: boolean, generation: number) => {
            const code = o | (probe ? 8 : 0);
            if (o === FAILURE || probe) recorded[i]?.push(code);
            if (o === FAILURE && !probe) {
              const row = store.row('p');
              const sharedNow = row === undefined ? undefined : decodeCircuit(row.circuit);
              admittedUnder[i]?.push(sharedNow === undefined ? -2 : sharedNow.state === 'closed' ? sharedNow.generation : -1);
            }
            (fleets[i] as FleetSync).record(o, false, probe, generation);
          };

          for (const cmd of commands) {
            if (cmd.k === 'join') fleets[N - 1] ??= start(N - 1);
            else if ((cmd.k === 'call' || cmd.k === 'flush') && fleets[cmd.i] === undefined) continue;
            else if (cmd.k === 'advance') clock.t += cmd.ms;
            else if (cmd.k === 'flush') pending.push((fleets[cmd.i] as FleetSync).flush());
            else if (cmd.k === 'step') {
              if (sched.count() > 0) await sched.waitOne();
            } else if (cmd.k === 'settle') {
              const probe = held.splice(cmd.j % Math.max(1, held.length), 1)[0];
              if (probe !== undefined) record(probe.i, cmd.o, true, probe.generation);
            } else {
              const i = cmd.i;
              const c = advanceAll(locals[i] as Circuit, clock.t, s);
              locals[i] = c;
              const admit = admission(c, s);
              if (admit === 'pass') record(i, cmd.o, false, c.generation);
              else if (admit === 'probe') {
                pending.push(
                  (fleets[i] as FleetSync).admitProbe().then((ticket) => {
                    if (ticket?.admit === 'probe') held.push({ i, generation: ticket.generation });
                    else if (ticket?.admit === 'pass') record(i, cmd.o, false, ticket.generation);
                  }),
                );
              }
            }
          }
          // Drain: settle held probes, flush everything, let the store answer all.
          for (let round = 0; round < 20; round++) {
            for (const probe of held.splice(0)) record(probe.i, FAILURE, true, probe.generation);
            for (const f of joined()) pending.push(f.flush());
            await sched.waitAll();
            if (!joined().some((f) => f.pending) && held.length === 0) break;
          }
          await Promise.all(pending);

          expect(problems).toEqual([]);

          // The model: one circuit and one tracker, stepped through the writes in the order the store accepted them.
          const log = store.backend.log.slice(seeded === undefined ? 0 : 1);
          const written = commits.filter((c) => c.written).sort((a, b) => Number(a.version) - Number(b.version));
          expect(written.map((c) => c.version)).toEqual(log.map((r) => r.version));
          if (process.env.FLEET_PROPERTY_DEBUG) console.log(JSON.stringify({ mode: modeOf(s), commits, log }));
          let model: Circuit | undefined;
          const modelTracker = createTracker(s);
          const after = new Map<string, { circuit: Circuit | undefined; tracker: string }>([
            ['', { circuit: undefined, tracker: '' }],
            ...(seeded === undefined ? [] : [[store.backend.log[0]?.version ?? '', { circuit: seeded, tracker: '' }] as const]),
          ]);
          const processed: number[][] = Array.from({ length: N }, () => []);
          /** The model's circuit before each item of a commit was settled. */
          const before = new Map<Commit, Circuit[]>();
          const countItems = (commit: Commit, writer: number) => {
            if (commit.kind !== 'outcomes') return;
            for (let x = 0; x < commit.items.length; x += ITEM) {
              const code = commit.items[x] as number;
              if ((code & 3) === FAILURE || (code & 8) !== 0) processed[writer]?.push(code);
            }
          };
          written.forEach((commit, k) => {
            const row = log[k];
            // The first write starts from the seeded record, or from an absent one (the model's circuit starts then).
            model = advanceAll(model ?? seeded ?? initialCircuit(commit.now), commit.now, s);
            if (commit.kind === 'outcomes') {
              const seen: Circuit[] = [];
              before.set(commit, seen);
              for (let x = 0; x < commit.items.length; x += ITEM) {
                const code = commit.items[x] as number;
                seen.push(model);
                model = settle(
                  model,
                  modelTracker,
                  (code & 3) as Outcome,
                  false,
                  (code & 8) !== 0,
                  commit.items[x + 1] as number,
                  commit.now,
                  s,
                );
              }
            } else if (commit.kind === 'probe' && commit.admit === 'probe') {
              expect(admission(model, s)).toBe('probe');
              model = admitProbe(model, commit.now, s);
            }
            expect(decodeCircuit(row?.circuit ?? '')).toEqual(model);
            expect(commit.next).toEqual(model);
            expect(row?.tracker).toBe(JSON.stringify(modelTracker.toJSON(commit.now, (x) => x)));
            after.set(commit.version, { circuit: model, tracker: row?.tracker ?? '' });
          });
          // Steps that wrote nothing must change nothing in the model either, at the version they read.
          for (const commit of commits) {
            countItems(commit, commitWriter.get(commit) ?? -1);
            if (commit.written) continue;
            const at = after.get(commit.version);
            expect(at).toBeDefined();
            const base = at?.circuit ?? initialCircuit(commit.now);
            let c = advanceAll(base, commit.now, s);
            expect(c).toEqual(base);
            const tracker = createTracker(s);
            const snapshot = at?.tracker ? JSON.parse(at.tracker) : undefined;
            if (snapshot) tracker.restore(snapshot, commit.now, (x) => x);
            if (commit.kind === 'outcomes') {
              const seen: Circuit[] = [];
              before.set(commit, seen);
              for (let x = 0; x < commit.items.length; x += ITEM) {
                const code = commit.items[x] as number;
                seen.push(c);
                c = settle(c, tracker, (code & 3) as Outcome, false, (code & 8) !== 0, commit.items[x + 1] as number, commit.now, s);
              }
            }
            expect(c).toEqual(base);
          }
          // Nothing lost, nothing twice: every failure and probe outcome was judged against the store once, in order.
          expect(processed).toEqual(recorded);
          // And none ignored that should count: a failure made while the shared circuit was closed counts if that
          // closed circuit is still the shared one when it is written, whatever the instance knew when it called
          // (a cold start, a stale instance). It may be ignored only when the circuit moved on meanwhile.
          const dropped: string[] = [];
          const next = Array.from({ length: N }, () => 0);
          for (const commit of commits) {
            if (commit.kind !== 'outcomes') continue;
            const writer = commitWriter.get(commit) ?? -1;
            const states = before.get(commit) ?? [];
            for (let x = 0; x < commit.items.length; x += ITEM) {
              const code = commit.items[x] as number;
              if ((code & 3) !== FAILURE || (code & 8) !== 0) continue;
              const k = next[writer] ?? 0;
              next[writer] = k + 1;
              const under = admittedUnder[writer]?.[k];

              const at = states[x / ITEM];
              const generation = commit.items[x + 1] as number;
              if (at !== undefined && at.state === 'closed' && at.generation === under && generation !== at.generation) {
                dropped.push(`instance ${writer}: a failure made under closed generation ${under} was written as ${generation}`);
              }
            }
          }
          expect(dropped).toEqual([]);
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
  }, 120_000);
});
