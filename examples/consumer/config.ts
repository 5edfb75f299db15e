/** The consumer's settings. They come only from the environment. */
export interface Config {
  /** Interface to listen on (default 127.0.0.1; 0.0.0.0 in a container). */
  readonly host: string;
  readonly port: number;
  /** The quote API's base URL, without a trailing slash: the consumer calls `${baseUrl}/quote`. */
  readonly baseUrl: string;
  readonly failureThreshold: number;
  /** Ms the circuit stays open before one probe is let through. */
  readonly recoveryTimeout: number;
  /** Ms a call to the API may take before it counts as a failure (TimeoutError). */
  readonly requestTimeout: number;
  /**
   * Calls to the API in flight at most; a page load beyond it is answered 503 at once without calling
   * the API (the breaker's `maxConcurrent`). 0: no cap.
   */
  readonly maxConcurrent: number;
}

/** An environment variable had an invalid value; the message names it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The value each variable takes when it is unset or empty. */
export const DEFAULTS = {
  HOST: '127.0.0.1',
  PORT: '3000',
  BASE_URL: 'http://127.0.0.1:4000',
  FAILURE_THRESHOLD: '5',
  RECOVERY_TIMEOUT: '60000',
  REQUEST_TIMEOUT: '2000',
  MAX_CONCURRENT: '100',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads an integer variable; `problems` collects a message naming it when the value is not an integer in range. */
function integer(env: Env, name: keyof typeof DEFAULTS, min: number, max: number, problems: string[]): number {
  const raw = (env[name] ?? '').trim() || DEFAULTS[name];
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(env[name])}`);
  }
  return value;
}

function baseUrl(env: Env, problems: string[]): string {
  const raw = (env.BASE_URL ?? '').trim() || DEFAULTS.BASE_URL;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    // A bare `?` or `#` leaves `search` and `hash` empty but would still end up in `${baseUrl}/quote`.
    raw.includes('?') ||
    raw.includes('#') ||
    url.username !== '' ||
    url.password !== ''
  ) {
    // Credentials in the URL: fetch refuses them, and the page, /api/state and the logs would show them.
    const shown =
      url === undefined || (url.username === '' && url.password === '') ? JSON.stringify(env.BASE_URL) : 'a URL with credentials';
    problems.push(`BASE_URL must be an http(s) URL without credentials, query or fragment, such as http://127.0.0.1:4000; got ${shown}`);
    return raw;
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Builds the configuration from `env`; unset or empty variables take their default.
 * @throws {ConfigError} listing every invalid variable by name, so the process can stop at start.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const config: Config = {
    host: (env.HOST ?? '').trim() || DEFAULTS.HOST,
    port: integer(env, 'PORT', 0, 65_535, problems),
    baseUrl: baseUrl(env, problems),
    failureThreshold: integer(env, 'FAILURE_THRESHOLD', 1, 1_000_000, problems),
    recoveryTimeout: integer(env, 'RECOVERY_TIMEOUT', 1, 86_400_000, problems),
    requestTimeout: integer(env, 'REQUEST_TIMEOUT', 1, 600_000, problems),
    maxConcurrent: integer(env, 'MAX_CONCURRENT', 0, 1_000_000, problems),
  };
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return config;
}
