// Waiting on real time, for tests whose subject is real (Redis, sockets, processes): poll a condition rather than
// sleep a fixed time wherever a condition can be named.

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 5 ms; whether it came true within `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

/** Polls `check` every 5 ms; throws when it has not come true within `ms`. */
export async function untilOrThrow(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  if (!(await until(check, ms))) throw new Error(`condition not met within ${ms} ms`);
}
