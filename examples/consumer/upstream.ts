/**
 * The call to the quote API and how its failures are classified. Each kind of failure has its
 * own error class so the breaker's `isFailure` predicate (and the page) can tell them apart.
 */
import { TimeoutError } from '../../src/index.js';

/** What `GET ${BASE_URL}/quote` returns. */
export interface Quote {
  readonly quote: string;
  readonly author: string;
  readonly servedAt: string;
}

/** The API could not be reached (connection refused, DNS, reset). */
export class UpstreamNetworkError extends Error {
  override readonly name = 'UpstreamNetworkError';
}

/** The API answered with a status other than 2xx. */
export class UpstreamHttpError extends Error {
  override readonly name = 'UpstreamHttpError';
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`Quote API answered HTTP ${status}`);
  }
}

/** The API answered 2xx with something that is not a quote. */
export class UpstreamBadResponseError extends Error {
  override readonly name = 'UpstreamBadResponseError';
}

/**
 * The breaker's expected-error predicate: network errors, timeouts, 5xx and malformed answers
 * mean the API is unwell and count; a 4xx means *our* request was wrong and is neutral.
 */
export function isUpstreamFailure(error: unknown): boolean {
  if (error instanceof UpstreamHttpError) return error.status >= 500;
  return error instanceof UpstreamNetworkError || error instanceof TimeoutError || error instanceof UpstreamBadResponseError;
}

/** A short description for pages and logs. */
export function describeError(error: unknown): string {
  if (error instanceof UpstreamHttpError) return `HTTP ${error.status}`;
  if (error instanceof TimeoutError) return `no answer within ${error.timeout} ms`;
  if (error instanceof UpstreamNetworkError) return 'could not connect';
  if (error instanceof UpstreamBadResponseError) return 'malformed answer';
  return error instanceof Error ? error.message : String(error);
}

/** Calls `${baseUrl}/quote`, turning every way it can go wrong into one of the errors above. */
export async function fetchQuote(baseUrl: string, signal: AbortSignal | undefined, fetchImpl: typeof fetch = fetch): Promise<Quote> {
  let res: Response;
  try {
    res = await fetchImpl(`${baseUrl}/quote`, { signal: signal ?? null, headers: { accept: 'application/json' } });
  } catch (error) {
    // Aborted by the breaker's timeout: the breaker has already settled the call as a timeout.
    if (signal?.aborted) throw signal.reason;
    throw new UpstreamNetworkError(`Could not reach ${baseUrl}/quote: ${(error as Error)?.message}`, { cause: error });
  }
  let text: string;
  try {
    text = await res.text();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new UpstreamNetworkError(`Connection to ${baseUrl} broke while reading the answer`, { cause: error });
  }
  if (!res.ok) throw new UpstreamHttpError(res.status, text.slice(0, 500));
  let data: Partial<Record<keyof Quote, unknown>>;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UpstreamBadResponseError('Quote API answered with something that is not JSON');
  }
  if (typeof data?.quote !== 'string' || typeof data.author !== 'string' || typeof data.servedAt !== 'string') {
    throw new UpstreamBadResponseError('Quote API answered JSON without the quote, author and servedAt strings');
  }
  return { quote: data.quote, author: data.author, servedAt: data.servedAt };
}
