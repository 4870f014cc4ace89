/**
 * The one retry policy for every provider call. Each rule says why it exists.
 *
 * Backoff is exponential with full jitter (delay = random(0, min(cap, base·2^attempt))), which
 * spreads a fleet of clients out instead of having them retry in lock-step. A token-bucket retry
 * budget (as in the AWS SDKs) stops a sick provider from being hammered by every caller at once:
 * retries spend tokens, successes earn a little back, and with the bucket empty we fail fast.
 */

export interface RetryPolicyOptions {
  /** Total attempts, first one included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Cap on one computed backoff delay. */
  maxDelayMs?: number;
  /** Longest Retry-After we wait for inside one call; longer waits are left to the workflow. */
  retryAfterCapMs?: number;
  /** Retry budget (token bucket). */
  budget?: RetryBudget;
  random?: () => number;
}

export type AttemptOutcome =
  | { kind: 'network' /** true when the request may have reached the provider */; maybeSent: boolean }
  | {
      kind: 'status';
      status: number;
      retryAfterMs?: number /** the provider marked the error transient */;
      transient: boolean;
    };

export interface RetryDecision {
  retry: boolean;
  delayMs: number;
  /** Why we stop or go on; goes to the debug log. */
  reason: string;
}

export class RetryBudget {
  private tokens: number;
  constructor(
    private readonly capacity = 500,
    private readonly retryCost = 5,
    private readonly timeoutCost = 10,
    private readonly successRefund = 1,
  ) {
    this.tokens = capacity;
  }
  /** Takes the cost of one retry; false when the budget is spent. */
  take(kind: 'retry' | 'timeout'): boolean {
    const cost = kind === 'timeout' ? this.timeoutCost : this.retryCost;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
  refund(): void {
    this.tokens = Math.min(this.capacity, this.tokens + this.successRefund);
  }
  get available(): number {
    return this.tokens;
  }
}

/** Statuses that mean the provider did not apply the request, so even a create may be re-sent. */
const NOT_APPLIED = new Set([429, 503]);
/** Gateway failures: the request may or may not have been applied behind the gateway. */
const MAYBE_APPLIED = new Set([500, 502, 504]);

export class RetryPolicy {
  readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly retryAfterCapMs: number;
  private readonly budget: RetryBudget;
  private readonly random: () => number;

  constructor(options: RetryPolicyOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.retryAfterCapMs = options.retryAfterCapMs ?? 30_000;
    this.budget = options.budget ?? new RetryBudget();
    this.random = options.random ?? Math.random;
  }

  /** `attempt` is 1 for the first try. `idempotent` is false for creates and other POSTs. */
  decide(attempt: number, outcome: AttemptOutcome, idempotent: boolean): RetryDecision {
    if (attempt >= this.maxAttempts) return stop(`gave up after ${attempt} attempts`);

    if (outcome.kind === 'network') {
      // A connection that failed before the request left us is always safe to repeat; one that
      // failed after sending may have been applied, so only idempotent requests are repeated.
      if (outcome.maybeSent && !idempotent) return stop('outcome unknown for a non-idempotent request');
      if (!this.budget.take(outcome.maybeSent ? 'timeout' : 'retry')) return stop('retry budget spent');
      return { retry: true, delayMs: this.backoff(attempt), reason: 'network error' };
    }

    const { status } = outcome;
    if (status === 429 || outcome.retryAfterMs !== undefined) {
      // Rate limited: the provider rejected the request, so any method may be re-sent. Honour
      // Retry-After up to a cap; a longer wait belongs in the workflow (a Wait state), not here.
      const asked = outcome.retryAfterMs;
      if (asked !== undefined && asked > this.retryAfterCapMs)
        return stop(`Retry-After ${asked} ms exceeds the cap`);
      if (!this.budget.take('retry')) return stop('retry budget spent');
      const delay = asked !== undefined ? Math.max(asked, this.backoff(attempt)) : this.backoff(attempt);
      return { retry: true, delayMs: delay, reason: `status ${status}` };
    }
    if (NOT_APPLIED.has(status) || (outcome.transient && status < 500)) {
      // 503 and provider-declared transient 4xx (e.g. Gcore's 409 "locked by a running task")
      // mean nothing was done: safe to repeat whatever the method.
      if (!this.budget.take('retry')) return stop('retry budget spent');
      return { retry: true, delayMs: this.backoff(attempt), reason: `status ${status}` };
    }
    if (MAYBE_APPLIED.has(status)) {
      if (!idempotent) return stop(`status ${status} on a non-idempotent request`);
      if (!this.budget.take('retry')) return stop('retry budget spent');
      return { retry: true, delayMs: this.backoff(attempt), reason: `status ${status}` };
    }
    // Everything else (400, 401, 403, 404, 409 conflicts, 422…) will fail the same way again.
    return stop(`status ${status} is not retryable`);
  }

  /** Called after a successful answer so the budget refills slowly. */
  succeeded(): void {
    this.budget.refund();
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }
}

function stop(reason: string): RetryDecision {
  return { retry: false, delayMs: 0, reason };
}

/**
 * Reads `Retry-After` (delay-seconds or an HTTP-date, RFC 9110 §10.2.3) and Gcore's
 * `retry-after-ms`. Returns milliseconds, or undefined when absent or unreadable.
 */
export function parseRetryAfter(
  headers: Record<string, string | undefined>,
  now = Date.now(),
): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers['retry-after']?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
