// The usual transitions start at 0 when a breaker is tracked, so that increase() sees the first time a circuit opens.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { instrumentPrometheus } from '../../src/exporters/prometheus.js';
import { CircuitBreaker } from '../../src/index.js';

const clock = { t: 0, now: () => clock.t };

/** A text scrape as "name{labels}" -> value. */
async function scrape(register: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await register.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('breakwater/prometheus: the first transition', () => {
  it("the first closed -> open of a breaker is visible to increase() (the dashboard's Transitions panel): the series exists at 0 before it", async () => {
    const register = new Registry();
    const breaker = new CircuitBreaker({ name: 't', failureThreshold: 1, clock });
    instrumentPrometheus(breaker, { register });
    const before = await scrape(register); // Prometheus scrapes the healthy service
    await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    const after = await scrape(register);
    const key = 'breakwater_transitions_total{breaker="t",from="closed",to="open"}';
    expect(after.get(key)).toBe(1);
    // A series whose first sample is already 1 gives increase() = 0: it must exist at 0 before.
    expect(before.get(key)).toBe(0);
    for (const [from, to] of [
      ['open', 'half-open'],
      ['half-open', 'closed'],
      ['half-open', 'open'],
    ]) {
      expect(before.get(`breakwater_transitions_total{breaker="t",from="${from}",to="${to}"}`)).toBe(0);
    }
  });
});
