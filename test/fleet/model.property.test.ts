// Random interleavings of several instances' calls, probes, flushes and clock steps against one
// store, with the store's answers reordered by fast-check's scheduler, and the last instance joining
// late, and all of them possibly starting against a record generations on (a cold start): after every write, the
// shared state equals what the single-breaker model gives (the pure transitions applied in the
// order the store accepted the writes), and no failure or probe outcome is lost or counted twice. The test sees
// only what an instance is given (its calls' outcomes) and what reaches the store (a recording store handle):
// every write must be explained by the rules and a run of the outcomes that instance was handed (`replay.ts`).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FleetHost } from '../../src/core/fleet-link.js';
import { admission, advanceAll, type Circuit, FAILURE, initialCircuit, type Outcome } from '../../src/core/rules.js';
import { decodeCircuit, encodeCircuit } from '../../src/fleet/codec.js';
import { FleetSync } from '../../src/fleet/engine.js';
import { countWindow } from '../../src/index.js';
import { modeOf, resolveOptions } from '../../src/options/breaker-options.js';
import { createTracker } from '../../src/trackers/create.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { RecordingStore, WriteLog } from '../helpers/recording-store.js';
import { explain, type Handed, type Held } from '../helpers/replay.js';

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
    window: fc.constant(countWindow(4)),
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
            const r = await store.compareAndSet(
              'p',
              { version: '', writer: '' },
              {
                circuit: encodeCircuit(seeded),
                tracker: '',
                settings: '',
                writer: 'seed.1',
                at: OFFSET,
                ttl: 0,
              },
            );
            expect(r.ok).toBe(true);
          }
          const problems: string[] = [];
          let seq = 0;
          const log = new WriteLog(() => seq);

          const locals: Circuit[] = [];
          // Per instance, every outcome handed to it, in order; and whether it has adopted a shared record yet.
          const handed: Handed[][] = Array.from({ length: N }, () => []);
          const adopted: boolean[] = [];
          const held: { i: number; generation: number }[] = [];
          const pending: Promise<unknown>[] = [];
          const start = (i: number) => {
            locals[i] = initialCircuit(clock.t);
            const host: FleetHost = {
              circuit: () => locals[i] as Circuit,
              adopt: (next) => {
                locals[i] = next;
                adopted[i] = true;
              },
              tracker: createTracker(s),
              settleLocally: () => problems.push('no store faults in this test'),
              emit: (event, payload) => {
                if (event === 'storeError') problems.push(`store error: ${String((payload as { error: unknown }).error)}`);
              },
              log: () => {},
            };
            const handle = RecordingStore.on(store.backend, log, i, {
              now: () => clock.t + OFFSET,
              subscribe: true,
              gate: () => sched.schedule(Promise.resolve()),
            });
            return new FleetSync(s, handle, host);
          };
          // The last instance starts when a `join` comes (its calls before that are not made).
          const fleets: (FleetSync | undefined)[] = Array.from({ length: N }, (_, i) => (i < N - 1 ? start(i) : undefined));
          const joined = () => fleets.filter((f): f is FleetSync => f !== undefined);

          const record = (i: number, o: Outcome, probe: boolean, generation: number) => {
            const row = store.row('p');
            const sharedNow = row === undefined ? undefined : decodeCircuit(row.circuit);
            const under = sharedNow === undefined ? -2 : sharedNow.state === 'closed' ? sharedNow.generation : -1;
            // Before its first record, an instance's generation is its own (the initial one): the engine may move it.
            const own = !probe && !adopted[i] && generation === 0;
            handed[i]?.push({ outcome: o, slow: false, probe, generation, hint: undefined, under, own, seq: ++seq });
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

          // Every write reached the store through an instance's handle, each on the record it replaced.
          const landed = log.landed;
          const stored = store.backend.log.slice(seeded === undefined ? 0 : 1);
          expect(landed.map((w) => w.version)).toEqual(stored.map((r) => r.version));
          if (process.env.FLEET_PROPERTY_DEBUG) console.log(JSON.stringify({ mode: modeOf(s), handed, landed }));
          // Each write is the pure rules applied to the record it replaced, with a run of the outcomes its instance was
          // handed, in order; every failure and probe outcome left out changed nothing (nothing lost, nothing twice);
          // a failure made while the shared circuit was closed counts if that closed circuit is still the shared one.
          const history: Held[] = [
            { version: '', circuit: initialCircuit(0), tracker: '', at: 0 },
            ...store.backend.log.map((row) => ({ ...row, circuit: decodeCircuit(row.circuit) as Circuit })),
          ];
          const unexplained: string[] = [];
          for (let i = 0; i < N; i++) {
            const mine = landed.filter((w) => w.from === i);
            const why = explain({ s, quietSuccesses: modeOf(s) === 'consecutive' }, mine, handed[i] ?? [], history);
            if (why !== undefined) unexplained.push(`instance ${i}: ${why}`);
          }
          expect(unexplained).toEqual([]);
          // A probe slot is written only when the rules admit one.
          for (const w of landed) {
            const prev = w.replaced === undefined ? undefined : decodeCircuit(w.replaced.circuit);
            if (prev === undefined || w.circuit === undefined) continue;
            const b = advanceAll(prev, w.write.at, s);
            if (w.circuit.state === 'half-open' && w.circuit.generation === b.generation && w.circuit.probes > b.probes) {
              expect(admission(b, s)).toBe('probe');
            }
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
  }, 120_000);
});
