// Heap and timers per idle breaker: build `count` breakers, keep them, collect garbage, and divide.
import { createHook } from 'node:async_hooks';
import { breakwaterModes, ConsecutiveBreaker, CountBreaker, circuitBreaker, handleAll, Opossum, SamplingBreaker } from './contenders.mjs';

const action = async () => 1;

/** Idle breakers as users would create them: defaults, or the mode's usual options. */
export const idleBuilders = [
  { name: 'breakwater (consecutive)', lib: 'breakwater', make: () => breakwaterModes.consecutive(), dispose() {} },
  { name: 'breakwater (count window, 100 calls)', lib: 'breakwater', make: () => breakwaterModes.count(), dispose() {} },
  { name: 'breakwater (time window, 10 buckets)', lib: 'breakwater', make: () => breakwaterModes.time(), dispose() {} },
  {
    name: 'cockatiel (consecutive)',
    lib: 'cockatiel',
    make: () => circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }),
    dispose() {},
  },
  {
    name: 'cockatiel (count, 100 calls)',
    lib: 'cockatiel',
    make: () => circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new CountBreaker({ threshold: 0.5, size: 100 }) }),
    dispose() {},
  },
  {
    name: 'cockatiel (sampling, 10 s)',
    lib: 'cockatiel',
    make: () => circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000 }) }),
    dispose() {},
  },
  { name: 'opossum (defaults)', lib: 'opossum', make: () => new Opossum(action), dispose: (b) => b.shutdown() },
];

const gc = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
};

const used = () => {
  const m = process.memoryUsage();
  // Typed arrays above a few dozen bytes keep their storage outside the JS heap: count it too.
  return m.heapUsed + m.arrayBuffers;
};

/** Timers (ref'd or not) that exist right now, seen through async_hooks; and what keeps the loop alive. */
function timerCounter() {
  const live = new Set();
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout' || type === 'Immediate') live.add(id);
    },
    destroy(id) {
      live.delete(id);
    },
  });
  return { hook, live };
}

const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap').length;

/**
 * @returns per builder: heap bytes per breaker (median of `repeats`), timers per breaker (all timers, ref'd or
 * not), handles per breaker (resources that keep the process alive).
 */
export async function measureIdle({ count, repeats }) {
  if (typeof globalThis.gc !== 'function') throw new Error('run node with --expose-gc to measure memory');
  const results = [];
  for (const b of idleBuilders) {
    const bytes = [];
    let timers = 0;
    let alive = 0;
    for (let r = 0; r < repeats; r++) {
      await gc();
      const { hook, live } = timerCounter();
      hook.enable();
      const kept = new Array(count).fill(null);
      const handles0 = handles();
      const before = used();
      for (let i = 0; i < count; i++) kept[i] = b.make();
      await gc();
      const after = used();
      timers = live.size / count;
      alive = (handles() - handles0) / count;
      hook.disable();
      bytes.push((after - before) / count);
      for (const k of kept) b.dispose(k);
      kept.length = 0;
    }
    bytes.sort((x, y) => x - y);
    results.push({ name: b.name, lib: b.lib, bytes: Math.round(bytes[bytes.length >> 1]), timers, handles: alive });
  }
  return results;
}
