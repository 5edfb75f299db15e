// The timed scenarios. Every case is one call, awaited; `bare` is the same call without a breaker.
import { breakwaterModes, CircuitBreaker, cockatiel, countWindow, LONG_MS, opossum, timeWindow } from './contenders.mjs';

const VALUE = { ok: true };
/** Built once: neither the bare call nor any breaker pays for the error's stack. */
const ERR = new Error('upstream failed');
const resolves = async () => VALUE;
const syncFn = () => VALUE;
const rejects = async () => {
  throw ERR;
};
/** Pass and fail handlers of the hand-written floor, allocated once. */
const floor = { failures: 0 };
const floorOk = (v) => {
  floor.failures = 0;
  return v;
};
const floorErr = (e) => {
  floor.failures++;
  throw e;
};

/** Runs `n` calls of `call` untimed (to fill windows or open circuits). */
async function drive(call, n) {
  for (let i = 0; i < n; i++) {
    try {
      await call();
    } catch {}
  }
}

/** The three breakwater modes as cases; `extra` per mode configures them for the scenario. */
function breakwaterCases(fn, extra) {
  return Object.entries(breakwaterModes).map(([mode, make]) => {
    const breaker = make(extra[mode] ?? {});
    return { name: `breakwater (${mode})`, lib: 'breakwater', mode, breaker, call: () => breaker.execute(fn) };
  });
}

export function closedResolves() {
  const coc = cockatiel();
  const opo = opossum(resolves);
  return {
    id: 'closed-resolves',
    title: 'closed, async fn resolves',
    rejects: false,
    cases: [
      { name: 'bare', call: () => resolves() },
      { name: 'floor: minimal .then wrapper', call: () => resolves().then(floorOk, floorErr) },
      ...breakwaterCases(resolves, {}),
      { name: 'cockatiel (consecutive)', lib: 'cockatiel', call: () => coc.execute(resolves) },
      { name: 'opossum', lib: 'opossum', call: () => opo.fire(), teardown: () => opo.shutdown() },
    ],
  };
}

export function closedSync() {
  const coc = cockatiel();
  const opo = opossum(syncFn);
  return {
    id: 'closed-sync',
    title: 'closed, sync fn',
    rejects: false,
    cases: [
      { name: 'bare', call: () => syncFn() },
      ...breakwaterCases(syncFn, {}),
      { name: 'cockatiel (consecutive)', lib: 'cockatiel', call: () => coc.execute(syncFn) },
      { name: 'opossum', lib: 'opossum', call: () => opo.fire(), teardown: () => opo.shutdown() },
    ],
  };
}

/**
 * Every call fails and no breaker may open. Consecutive breakers get a threshold no run reaches;
 * windowed ones a `minimumCalls` no run reaches (a count window of 1,000,000, cleared untimed when
 * it nears full); opossum `errorThresholdPercentage: 100` (it opens only above 100 %). opossum's
 * failure cost grows with the calls in its window, so it gets a fresh breaker per batch of 200 calls
 * (its cheapest case); `window-fill` shows the growth.
 */
export function closedRejects() {
  const coc = cockatiel(Number.MAX_SAFE_INTEGER);
  const bw = breakwaterCases(rejects, {
    consecutive: { failureThreshold: Number.MAX_SAFE_INTEGER },
    count: { window: countWindow(1_000_000), minimumCalls: 1_000_000 },
    time: { minimumCalls: Number.MAX_SAFE_INTEGER },
  });
  const count = bw.find((c) => c.mode === 'count');
  let counted = 0;
  count.beforeBatch = (n) => {
    counted += n;
    if (counted >= 900_000) {
      count.breaker.close();
      counted = n;
    }
  };
  let opo = opossum(rejects, { errorThresholdPercentage: 100 });
  return {
    id: 'closed-rejects',
    title: 'closed, fn rejects (never opens)',
    rejects: true,
    cases: [
      { name: 'bare', call: () => rejects() },
      { name: 'floor: minimal .then wrapper', call: () => rejects().then(floorOk, floorErr) },
      ...bw,
      { name: 'cockatiel (consecutive)', lib: 'cockatiel', call: () => coc.execute(rejects) },
      {
        name: 'opossum',
        lib: 'opossum',
        batch: 200,
        call: () => opo.fire(),
        beforeBatch: () => {
          opo.shutdown();
          opo = opossum(rejects, { errorThresholdPercentage: 100 });
        },
        teardown: () => opo.shutdown(),
      },
    ],
  };
}

/** The circuit was opened by real failures and stays open for the run; `fn` is never called. */
export function open() {
  const REJECTED = Promise.reject(ERR);
  REJECTED.catch(() => {});
  let called = 0;
  const counting = async () => {
    called++;
    throw ERR;
  };
  const bw = breakwaterCases(counting, {
    consecutive: { failureThreshold: 1, recoveryTimeout: LONG_MS },
    count: { minimumCalls: 1, recoveryTimeout: LONG_MS },
    time: { minimumCalls: 1, recoveryTimeout: LONG_MS },
  });
  for (const c of bw) c.setup = () => drive(c.call, 1);
  const coc = cockatiel(1, LONG_MS);
  const opo = opossum(counting, { resetTimeout: LONG_MS });
  return {
    id: 'open',
    title: 'open, fn not called',
    rejects: true,
    cases: [
      { name: 'bare (pre-built rejection)', call: () => REJECTED },
      ...bw,
      {
        name: 'cockatiel (consecutive)',
        lib: 'cockatiel',
        setup: () => drive(() => coc.execute(counting), 1),
        call: () => coc.execute(counting),
      },
      {
        name: 'opossum',
        lib: 'opossum',
        setup: () => drive(() => opo.fire(), 1),
        call: () => opo.fire(),
      },
    ],
    // fn ran once per breaker to open it, never again.
    check: () => {
      if (called !== bw.length + 2) throw new Error(`open path called fn ${called} times; expected ${bw.length + 2}`);
      for (const c of bw) if (c.breaker.state !== 'open') throw new Error(`${c.name} is ${c.breaker.state}, not open`);
      const peersOpen = opo.opened && coc.state === 1;
      opo.shutdown();
      if (!peersOpen) throw new Error('a peer breaker is not open');
    },
  };
}

/**
 * Failure cost with `size` calls in the window. Before each batch the window is refilled untimed with
 * `size` successes, so every timed failure meets `size` to `size + batch` recorded calls and no breaker
 * opens (each window keeps ≥ 50 % successes; thresholds are 100 %).
 */
export function windowFill(size, { opossumBatch }) {
  // Half the smallest window at most, so a count window never holds only failures.
  const batch = 500;
  const ok = async () => VALUE;
  const mkBw = (window) => new CircuitBreaker({ failureRateThreshold: 1, minimumCalls: 1, window });
  const bwCase = (name, window) => {
    let breaker = mkBw(window);
    return {
      name,
      lib: 'breakwater',
      batch,
      call: () => breaker.execute(rejects),
      beforeBatch: async () => {
        breaker = mkBw(window);
        await drive(() => breaker.execute(ok), size);
      },
    };
  };
  const opoCase = (name, extra) => {
    // opossum binds its action at construction: one action that fails or succeeds as told
    // lets the same breaker be filled with successes (one extra function call per failure).
    let action = rejects;
    const make = () => opossum(() => action(), { errorThresholdPercentage: 100, rollingCountTimeout: 600_000, ...extra });
    let breaker = make();
    return {
      name,
      lib: 'opossum',
      batch: opossumBatch,
      call: () => breaker.fire(),
      beforeBatch: async () => {
        breaker.shutdown();
        breaker = make();
        action = ok;
        await drive(() => breaker.fire(), size);
        action = rejects;
      },
      teardown: () => breaker.shutdown(),
    };
  };
  return {
    id: `window-fill-${size}`,
    title: `fn rejects, ${size.toLocaleString('en')} calls in the window`,
    rejects: true,
    size,
    cases: [
      { name: 'bare', batch, call: () => rejects() },
      bwCase('breakwater (count)', countWindow(size)),
      bwCase('breakwater (time)', timeWindow({ duration: 600_000 })),
      opoCase('opossum', {}),
      opoCase('opossum (rollingPercentilesEnabled: false)', { rollingPercentilesEnabled: false }),
    ],
  };
}
