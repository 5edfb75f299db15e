// Heap and timers per idle breaker: build `count` breakers, keep them, collect garbage, and divide.
import { createHook } from 'node:async_hooks';
import { breakwaterModes, ConsecutiveBreaker, CountBreaker, circuitBreaker, handleAll, Opossum, SamplingBreaker } from './contenders.mjs';

const action = async () => 1;

/** Idle breakers as users would create them: defaults, or the mode's usual options. */
const idleBuilders = [
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

/** Measures builder `index`: heap bytes per breaker (median of `repeats`), timers and handles per breaker. */
export async function measureOne(index, { count, repeats }) {
  if (typeof globalThis.gc !== 'function') throw new Error('run node with --expose-gc to measure memory');
  const b = idleBuilders[index];
  // Warm-up: compile the constructors and fill the inline caches before anything is counted.
  for (let i = 0; i < 1000; i++) b.dispose(b.make());
  const bytes = [];
  let timers = 0;
  let alive = 0;
  for (let r = 0; r < repeats; r++) {
    const kept = new Array(count).fill(null);
    await gc();
    const { hook, live } = timerCounter();
    hook.enable();
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
  }
  bytes.sort((x, y) => x - y);
  return { name: b.name, lib: b.lib, bytes: Math.round(bytes[bytes.length >> 1]), timers, handles: alive };
}

/** Every builder, each in its own `node --expose-gc` process. */
export async function measureIdle({ count, repeats }) {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const child = new URL('./idle-child.mjs', import.meta.url).pathname;
  const results = [];
  for (let i = 0; i < idleBuilders.length; i++) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', child, String(i), String(count), String(repeats)]);
    results.push(JSON.parse(stdout));
  }
  return results;
}
