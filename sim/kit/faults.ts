/** Faults to inject; counters are consumed one request (or operation) at a time. */
export interface Faults {
  /** The next N requests answer with `serverErrorStatus` in the provider's error shape. */
  serverErrors: number;
  serverErrorStatus: number;
  /** The next N requests get 429 with `Retry-After: retryAfterSeconds`. */
  rateLimited: number;
  retryAfterSeconds: number;
  /** The next N requests have their connection destroyed before anything is applied. */
  resets: number;
  /** The next N mutating requests are applied, then their connection is destroyed (ambiguous outcome). */
  resetsAfterApply: number;
  /** Every answer is delayed by this much more. */
  slowMs: number;
  /** The next N asynchronous operations end in failure. */
  failOperations: number;
  /** The next N asynchronous operations never finish. */
  stuckOperations: number;
}

export const NO_FAULTS: Faults = {
  serverErrors: 0,
  serverErrorStatus: 503,
  rateLimited: 0,
  retryAfterSeconds: 1,
  resets: 0,
  resetsAfterApply: 0,
  slowMs: 0,
  failOperations: 0,
  stuckOperations: 0,
};

/**
 * Decides how the next asynchronous operation ends, consuming failOperations/stuckOperations.
 */
export function nextOperationOutcome(faults: Faults): 'ok' | 'fail' | 'stuck' {
  if (faults.stuckOperations > 0) {
    faults.stuckOperations--;
    return 'stuck';
  }
  if (faults.failOperations > 0) {
    faults.failOperations--;
    return 'fail';
  }
  return 'ok';
}
