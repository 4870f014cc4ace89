import { createHash } from 'node:crypto';
import { TokenBucket } from '../../shared/token-bucket.ts';
import type { ProviderId } from '../port.ts';

/**
 * Client-side pacing for an account's `requestsPerSecond`: a token bucket shared by every client
 * of one account in this process (all its locations), holding one second of requests less one,
 * so the calls leave at the rate the provider allows instead of meeting its 429s. The one request
 * less keeps a token spare in the provider's own bucket: the two clocks never tick together, and
 * a call arriving a millisecond early would otherwise meet a 429 and wait out its Retry-After.
 * Every call of the account takes a token before it goes out, retries included. The embedded
 * runtime sets the rate (one process sends all of an account's calls there); on Lambda, where
 * each invocation would pace only itself, the workflow's concurrency per account (derived from the
 * same rate) holds it. A 429 that still comes is retried as before.
 */
export class RequestPacer {
  private readonly bucket: TokenBucket;
  /** Callers waiting for a token, first come first served. */
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly requestsPerSecond: number) {
    this.bucket = new TokenBucket(requestsPerSecond, Math.max(1, Math.ceil(requestsPerSecond) - 1));
  }

  /** Resolves when a call may go out. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.next());
    this.queue = turn;
    return turn;
  }

  private async next(): Promise<void> {
    while (!this.bucket.take()) await new Promise((r) => setTimeout(r, this.bucket.waitMs()));
  }
}

const pacers = new Map<string, RequestPacer>();

/** The pacer of one account (provider and credentials) at a rate, made once per process. */
export function pacerFor(
  provider: ProviderId,
  secrets: ReadonlyArray<string | undefined>,
  requestsPerSecond: number,
): RequestPacer {
  // The account by a digest of its credentials: the key never holds them.
  const account = createHash('sha256').update(JSON.stringify(secrets)).digest('hex');
  const key = `${provider}|${account}|${requestsPerSecond}`;
  let pacer = pacers.get(key);
  if (!pacer) {
    pacer = new RequestPacer(requestsPerSecond);
    pacers.set(key, pacer);
  }
  return pacer;
}
