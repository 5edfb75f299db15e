// One breaker's line to the store on its own: the writer tags that mark its writes, the timeout and the throws of
// store operations, and timers that never keep a process alive.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreLink, unref } from '../../src/fleet/store-link.js';
import { MemoryStore } from '../helpers/memory-store.js';

const linkOn = (timeout?: number) => new StoreLink(new MemoryStore({ timeout }), 'api', { now: () => 0 });

afterEach(() => {
  vi.useRealTimers();
});

describe('writer tags', () => {
  it('are the instance id and a write number from 1', () => {
    const link = linkOn();
    const first = link.nextWriter();
    const id = first.slice(0, first.indexOf('.'));
    expect(id).toMatch(/^[0-9a-z]{1,8}$/);
    expect([first, link.nextWriter(), link.nextWriter()]).toEqual([`${id}.1`, `${id}.2`, `${id}.3`]);
  });

  it('tell this instance’s writes from any other', () => {
    const link = linkOn();
    const mine = link.nextWriter();
    const id = mine.slice(0, mine.indexOf('.'));
    expect(link.mine(mine)).toBe(true);
    expect(link.mine(`${id}.99`)).toBe(true);
    expect(link.mine(linkOn().nextWriter())).toBe(false);
    // Same length as this id, then a dot; this id then no dot; this id alone; nothing.
    expect(link.mine(`${'~'.repeat(id.length)}.1`)).toBe(false);
    expect(link.mine(`${id}x1`)).toBe(false);
    expect(link.mine(id)).toBe(false);
    expect(link.mine('')).toBe(false);
  });
});

describe('guard', () => {
  it('rejects an operation that does not answer within the store’s timeout, naming it', async () => {
    vi.useFakeTimers();
    const link = linkOn(50);
    const answer = link.guard(() => new Promise<never>(() => {})).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(50);
    const error = (await answer) as Error;
    expect(error.name).toBe('StoreTimeoutError');
    expect(error.message).toBe('breakwater: the store did not answer within 50 ms');
  });

  it('rejects with the error an operation throws synchronously, and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const link = linkOn(50);
    const thrown = new Error('no connection');
    await expect(
      link.guard(() => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('settles as the operation does, and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const link = linkOn(50);
    await expect(link.guard(() => Promise.resolve(7))).resolves.toBe(7);
    const refused = new Error('refused');
    await expect(link.guard(() => Promise.reject(refused))).rejects.toBe(refused);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('unref', () => {
  it('lets a timer not keep the process alive, and accepts a runtime’s timer without unref', () => {
    const timer = setTimeout(() => {}, 1_000);
    unref(timer);
    expect(timer.hasRef()).toBe(false);
    clearTimeout(timer);
    expect(() => unref(7 as unknown as ReturnType<typeof setTimeout>)).not.toThrow();
  });
});
