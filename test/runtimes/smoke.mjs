// The runtime smoke test: plain JavaScript against the packed library, free of any runtime's APIs,
// so the same file runs on Node, Bun, Deno, the Workers runtime and in a browser page.
import { BreakerRegistry, CircuitBreaker, CircuitOpenError, parseSnapshot, TimeoutError } from 'breakwater';
import { createBreakerFetch } from 'breakwater/fetch';

function check(condition, what) {
  if (!condition) throw new Error(`smoke check failed: ${what}`);
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('smoke check failed: expected a rejection');
}

/** Runs every check; resolves with their names, rejects on the first failure. */
export async function smoke() {
  const passed = [];
  const clock = { t: 0, now: () => clock.t };
  const transitions = [];
  const breaker = new CircuitBreaker({ name: 'smoke', failureThreshold: 2, recoveryTimeout: 1000, clock });
  breaker.on('stateChange', ({ from, to }) => transitions.push(`${from}>${to}`));
  check((await breaker.execute(() => 42)) === 42, 'a call passes through');
  for (let i = 0; i < 2; i++) await rejection(breaker.execute(() => Promise.reject(new Error('down'))));
  check(breaker.state === 'open', 'opens after the threshold');
  let called = false;
  const open = await rejection(
    breaker.execute(() => {
      called = true;
    }),
  );
  check(open instanceof CircuitOpenError && open.retryAfter === 1000 && !called, 'rejects fast while open');
  clock.t = 1000;
  check(breaker.state === 'half-open', 'half-open once the recovery time is over');
  check((await breaker.execute(() => 'probe')) === 'probe' && breaker.state === 'closed', 'a probe closes it');
  check(transitions.join(',') === 'closed>open,open>half-open,half-open>closed', `transitions ${transitions}`);
  const copy = new CircuitBreaker({ initialState: parseSnapshot(JSON.stringify(breaker.toJSON())) });
  check(copy.state === 'closed', 'a snapshot restores');
  passed.push('breaker');

  const timed = new CircuitBreaker({ timeout: 20 });
  let aborted = false;
  const timeout = await rejection(
    timed.execute(({ signal }) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      return new Promise(() => {});
    }),
  );
  check(timeout instanceof TimeoutError && aborted, 'a timeout rejects and aborts the signal');
  passed.push('timeout');

  const registry = new BreakerRegistry({ maxSize: 1, defaults: { failureThreshold: 1 } });
  registry.get('a');
  registry.get('b');
  check([...registry].map(([key]) => key).join() === 'b', 'the registry evicts the least recently used');
  passed.push('registry');

  const fetch = createBreakerFetch({
    breaker: { failureThreshold: 1, clock },
    fetch: async () => new Response('busy', { status: 503, headers: { 'Retry-After': '30' } }),
  });
  const response = await fetch('https://upstream.example/x');
  check(response.status === 503 && (await response.text()) === 'busy', 'fetch returns the response unchanged');
  const refused = await rejection(fetch('https://upstream.example/y'));
  check(refused instanceof CircuitOpenError && refused.retryAfter === 30_000, 'Retry-After sets the open time');
  check(fetch.registry.get('https://upstream.example') instanceof CircuitBreaker, 'one copy of the core classes');
  // With a timeout, the given fetch gets the built request and the call's signal.
  const fetchWithTimeout = createBreakerFetch({
    breaker: { timeout: 5_000 },
    fetch: async (request, init) => new Response(`${request.method} ${request.url} ${init.signal.aborted}`),
  });
  const echoed = await (await fetchWithTimeout('https://upstream.example/z', { method: 'POST', body: 'x' })).text();
  check(echoed === 'POST https://upstream.example/z false', `fetch with a timeout passes the request and a signal (${echoed})`);
  passed.push('fetch');
  return passed;
}
