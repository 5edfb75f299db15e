import { describe, expect, it } from 'vitest';
import { Rejection, rejectSoon } from '../../src/async/reject-soon.js';

describe('rejectSoon', () => {
  it('rejects with the reason, unchanged', async () => {
    const reason = { not: 'an error' };
    await expect(rejectSoon(reason)).rejects.toBe(reason);
    await expect(rejectSoon(undefined)).rejects.toBeUndefined();
  });

  it('is still pending when returned, so the caller handles it before it rejects', async () => {
    let settled = false;
    const p = rejectSoon(new Error('x'));
    p.catch(() => {
      settled = true;
    });
    expect(settled).toBe(false);
    await p.catch(() => undefined);
    expect(settled).toBe(true);
  });
});

describe('Rejection', () => {
  it('returned from a then handler rejects the derived promise with its reason', async () => {
    const reason = new Error('boom');
    await expect(Promise.resolve(1).then(() => new Rejection(reason))).rejects.toBe(reason);
  });

  it('calls only the rejection handler, and tolerates none', () => {
    const seen: unknown[] = [];
    const r = new Rejection('why');
    r.then(
      () => seen.push('fulfilled'),
      (reason) => seen.push(reason),
    );
    r.then(undefined, null);
    expect(seen).toEqual(['why']);
  });
});
