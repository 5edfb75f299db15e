// Interleaved timing: every case of a scenario runs one batch per round, in a rotating order,
// so that a noisy neighbour or a GC pause hurts all cases alike. We keep the per-batch
// ns/call figures and report their median.

/** Builds a loop with its own function identity, so one case's call site never turns another's polymorphic. */
function makeLoop(rejects) {
  const body = rejects ? 'try { await call(); } catch {}' : 'await call();';
  // A fresh function per case keeps inline caches apart.
  return new Function('call', 'n', `return (async () => { for (let i = 0; i < n; i++) { ${body} } })();`);
}

const now = () => process.hrtime.bigint();

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs one batch of `n` calls; returns ns per call. */
async function batch(c, n) {
  if (c.beforeBatch) await c.beforeBatch(n);
  // Let timers and I/O run between batches (awaits of settled promises never yield to the event loop).
  await new Promise((r) => setImmediate(r));
  const t0 = now();
  await c.loop(c.call, n);
  const t1 = now();
  return Number(t1 - t0) / n;
}

/**
 * Calibrates each case's batch size to about `batchNs`, then runs `rounds` interleaved rounds.
 * A case may fix its batch size (`batch`) when its cost changes with the calls it makes.
 * @returns {Promise<Map<string, number[]>>} ns/call samples per case name
 */
export async function runInterleaved(cases, { rounds, batchNs, rejects, minBatch = 256, maxBatch = 20_000 }) {
  for (const c of cases) {
    c.loop = makeLoop(rejects);
    if (c.setup) await c.setup();
    // Warm-up: let the JIT settle and measure the cost of a call.
    let n = c.batch ?? 64;
    await batch(c, n);
    if (c.batch === undefined) {
      // The fastest warm-up batch sets the size: a GC pause or a noisy neighbour must not shrink it.
      let fastest = Number.POSITIVE_INFINITY;
      for (let k = 0; k < 5; k++) fastest = Math.min(fastest, await batch(c, Math.min(maxBatch, 1000)));
      n = Math.max(minBatch, Math.min(maxBatch, Math.round(batchNs / Math.max(fastest, 1))));
    }
    c.n = n;
  }
  const samples = new Map(cases.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(r + k) % cases.length];
      samples.get(c.name).push(await batch(c, c.n));
    }
  }
  for (const c of cases) if (c.teardown) await c.teardown();
  return samples;
}
