import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { withRetries } from './fragments/errors.ts';
import { invoke } from './fragments/task.ts';

/** The functions a page of a schedule run calls. */
export interface PowerSchedulePageFunctions {
  /** schedule-page: loads the page the plan stored. */
  page: lambda.IFunction;
  /** schedule-act: the one provider call per instance, idempotent per job, instance and action. */
  act: lambda.IFunction;
  /** schedule-result: records an instance whose act failed. */
  result: lambda.IFunction;
}

const RUN = {
  'jobId.$': '$.jobId',
  'trigger.$': '$.trigger',
  'action.$': '$.action',
};

/**
 * One page of a schedule run (a child execution of the power-schedule workflow, a few hundred
 * instances of one account): load the page → act on each instance with the account's concurrency,
 * one provider call and one Task state per instance. Each act records its own outcome (PENDING
 * with its operation, or FAILED through the Catch), so every iteration ends with `{}` and the
 * Map's result is a count: the page's payloads and history stay bounded whatever the fleet.
 * Verifying is the parent's job, per account across all its pages, so acting never waits for it.
 */
export function powerSchedulePageDefinition(
  scope: Construct,
  fns: PowerSchedulePageFunctions,
): sfn.IChainable {
  const recordFailure = invoke(scope, 'Record act failure', fns.result, {
    payload: {
      record: 'act-failed',
      'jobId.$': '$.jobId',
      'action.$': '$.action',
      'target.$': '$.target',
      'instanceId.$': '$.instanceId',
      'state.$': '$.state',
      'error.$': '$.error',
    },
    resultPath: '$',
  });
  const act = actRetries(
    invoke(scope, 'Act on instance', fns.act, {
      payload: {
        ...RUN,
        'target.$': '$.target',
        'instanceId.$': '$.instanceId',
        'state.$': '$.state',
      },
      resultPath: '$',
      retries: false,
    }),
  ).addCatch(recordFailure, { resultPath: '$.error' });
  const actOnPage = new sfn.Map(scope, 'Act on each instance', {
    itemsPath: '$.work.items',
    maxConcurrencyPath: '$.concurrency',
    itemSelector: {
      ...RUN,
      'target.$': '$$.Map.Item.Value.target',
      'instanceId.$': '$$.Map.Item.Value.instanceId',
      'state.$': '$$.Map.Item.Value.state',
    },
    // Every iteration ends with {}: keep only how many ran, not the page.
    resultSelector: { 'acted.$': 'States.ArrayLength($)' },
  }).itemProcessor(act);

  const load = invoke(scope, 'Load page', fns.page, {
    payload: { 'jobId.$': '$.jobId', 'page.$': '$.page' },
    resultPath: '$.work',
  });
  return load.next(actOnPage).next(new sfn.Succeed(scope, 'Page acted'));
}

/**
 * The act's retries: the house rules, except that a retry meeting the instance's in-progress
 * claim (an earlier attempt still running) waits out the claim (ACT_CLAIM_MS, 2 min) instead of
 * giving up: 10 + 15 + 22 + 34 + 51 + 60 s, no jitter so the total is guaranteed.
 */
function actRetries<T extends sfn.TaskStateBase>(task: T): T {
  return withRetries(task, {
    inProgress: {
      interval: Duration.seconds(10),
      maxAttempts: 6,
      backoffRate: 1.5,
      maxDelay: Duration.seconds(60),
    },
  });
}
