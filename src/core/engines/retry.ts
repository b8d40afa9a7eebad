/**
 * Bounded retries with exponential backoff and full jitter (docs/engines.md#faults). What is worth
 * retrying is decided by the error: {@link RetryableError} and its subclasses are transient (429,
 * 5xx, timeouts, dropped connections, malformed or partial replies, a restarting engine); any
 * other error fails at once.
 */

/** A transient failure: the same request may succeed later. */
export class RetryableError extends Error {
  constructor(
    message: string,
    /** The server's Retry-After, in milliseconds, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

/** How often and how long to retry. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 6). */
  retries: number;
  /** Backoff base: attempt n waits up to base × 2^n (default 250 ms). */
  baseMs: number;
  /** Longest backoff (default 15 s). */
  maxMs: number;
  /** Longest wait a Retry-After may ask for (default 60 s). */
  maxRetryAfterMs: number;
  /** Uniform [0, 1): the jitter's source (tests pass a seeded one). */
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 6,
  baseMs: 250,
  maxMs: 15_000,
  maxRetryAfterMs: 60_000,
  random: Math.random,
};

/**
 * The wait before retry `attempt` (0-based): a Retry-After is honoured (capped) with a little
 * jitter on top, else full jitter over the exponential window, so that many clients that failed
 * together do not come back together.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0)
    return Math.min(policy.maxRetryAfterMs, retryAfterMs) + policy.random() * policy.baseMs;
  const window = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return policy.random() * window;
}

/**
 * Parses a Retry-After header (RFC 9110: delay-seconds or an HTTP-date) into milliseconds from
 * `now`; undefined when absent or unreadable.
 */
export function parseRetryAfter(
  header: string | string[] | undefined,
  now = Date.now(),
): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Thrown when a wait is interrupted by the run's signal. */
function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('The run was cancelled');
}

/** Waits `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it resolves, a non-retryable error is thrown, or the retries are spent
 * (then the last error is thrown). `onRetry` hears each transient failure before its wait.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  signal?: AbortSignal,
  onRetry?: (error: RetryableError, attempt: number, waitMs: number) => void,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (!(e instanceof RetryableError) || n >= policy.retries || signal?.aborted) throw e;
      const wait = backoffDelay(n, policy, e.retryAfterMs);
      onRetry?.(e, n, wait);
      await sleep(wait, signal);
    }
  }
}
