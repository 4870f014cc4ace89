import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ERROR_NAMES } from '../../functions/shared/error-names.ts';

/** Lambda's own service errors: AWS recommends retrying these on every Lambda task. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** Provider errors worth another try: rate limits, 5xx, resources briefly locked. */
export const TRANSIENT_PROVIDER_ERRORS = [ERROR_NAMES.providerTransient, ERROR_NAMES.providerRateLimit];

/** Every task's timeout: a provider call with its own retries finishes well within it. */
export const TASK_TIMEOUT = Duration.seconds(90);

/**
 * The retry rules every provider-calling task gets. Full jitter spreads retries of a fleet-wide
 * run; max delays keep a run from stalling; `Lambda.Unknown` (a crashed or timed-out function)
 * is retried twice because our mutating handlers are idempotent.
 */
export interface RetryOptions {
  /**
   * How a retry that meets the step's own in-progress idempotency claim waits it out. The default
   * suits steps whose claim is short; a step with a longer claim passes a schedule that covers it.
   */
  inProgress?: Pick<
    sfn.RetryProps,
    'interval' | 'maxAttempts' | 'backoffRate' | 'maxDelay' | 'jitterStrategy'
  >;
}

export function withRetries<T extends sfn.TaskStateBase>(task: T, options: RetryOptions = {}): T {
  task.addRetry({
    errors: LAMBDA_SERVICE_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    maxDelay: Duration.seconds(30),
    jitterStrategy: sfn.JitterType.FULL,
  });
  task.addRetry({
    errors: TRANSIENT_PROVIDER_ERRORS,
    interval: Duration.seconds(5),
    maxAttempts: 5,
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
  // The same step's earlier attempt still holds its idempotency claim (a timed-out invocation
  // can keep running): wait for it to finish, then the retry replays its result.
  task.addRetry({
    errors: [ERROR_NAMES.idempotencyInProgress],
    ...(options.inProgress ?? {
      interval: Duration.seconds(5),
      maxAttempts: 4,
      backoffRate: 2,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    }),
  });
  task.addRetry({
    errors: ['Lambda.Unknown', 'States.Timeout'],
    interval: Duration.seconds(2),
    maxAttempts: 2,
    backoffRate: 2,
  });
  return task;
}
