/**
 * A flaky upstream behind a breaker, in real time: watch the circuit open, fail fast,
 * let a probe through after the recovery timeout and close again.
 *
 *   npm run example
 */
import { CircuitBreaker, CircuitOpenError } from '../src/index.js';

const started = Date.now();
const stamp = () => `+${String(Date.now() - started).padStart(5)} ms`;

/** An upstream that is down for its first 900 ms, then healthy. */
let upstreamCalls = 0;
async function flakyUpstream(): Promise<string> {
  upstreamCalls++;
  await new Promise((r) => setTimeout(r, 20));
  if (Date.now() - started < 900) throw new Error(`upstream failed (call ${upstreamCalls})`);
  return `upstream answered (call ${upstreamCalls})`;
}

const breaker = new CircuitBreaker({ name: 'flaky-upstream', failureThreshold: 3, recoveryTimeout: 400, timeout: 200 });
breaker.on('stateChange', ({ from, to, reason }) => console.log(`${stamp()}  ⚡ ${from} → ${to}  (${reason})`));

for (let i = 1; i <= 20; i++) {
  try {
    const answer = await breaker.execute(flakyUpstream);
    console.log(`${stamp()}  call ${String(i).padStart(2)}: ✓ ${answer}`);
  } catch (error) {
    const text =
      error instanceof CircuitOpenError
        ? `✗ rejected by the breaker, retry in ${Math.ceil(error.retryAfter)} ms (upstream not called)`
        : `✗ ${(error as Error).message}`;
    console.log(`${stamp()}  call ${String(i).padStart(2)}: ${text}`);
  }
  await new Promise((r) => setTimeout(r, 60));
}

const m = breaker.metrics();
console.log(
  `\nstate: ${breaker.state} · upstream calls: ${upstreamCalls} of 20 · successes ${m.successes}, failures ${m.failures}, rejected ${m.rejected}`,
);
