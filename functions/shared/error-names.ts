/**
 * The error names the workflows match in Retry and Catch (`ErrorEquals`). Step Functions matches
 * the `name` a Lambda throws, so the error classes take their names from here and the workflows
 * list the same constants: one definition. test/workflows/error-names.test.ts checks that every
 * name the synthesized state machines match is one an error class really throws.
 */
export const ERROR_NAMES = {
  /** Rate limits, 5xx, network failures, a resource briefly locked: retried. */
  providerTransient: 'ProviderTransientError',
  /** A 429 (a kind of transient error, retried with it). */
  providerRateLimit: 'ProviderRateLimitError',
  /** Another invocation of the same step still holds its idempotency claim: waited out. */
  idempotencyInProgress: 'IdempotencyInProgressError',
  /** A handler's input does not match its schema: never retried. */
  invalidInput: 'InvalidInput',
} as const;
