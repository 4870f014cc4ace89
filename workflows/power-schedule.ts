import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { withRetries } from './fragments/errors.ts';
import { invoke } from './fragments/task.ts';

/** The functions the power-schedule workflow calls. */
export interface PowerScheduleFunctions {
  plan: lambda.IFunction;
  /** schedule-act: the one provider call per instance, idempotent per job, instance and action. */
  act: lambda.IFunction;
  /** schedule-poll: one tick of a group's wait-and-verify loop (one listing per location). */
  poll: lambda.IFunction;
  /** schedule-result: records a group's results (batch) and finishes the run. */
  result: lambda.IFunction;
  /** job-record: fails the job when the run itself cannot go on. */
  record: lambda.IFunction;
}

const RUN = {
  'jobId.$': '$.jobId',
  'trigger.$': '$.trigger',
  'action.$': '$.action',
};

/**
 * A scheduled stop or start across providers:
 *   plan (list → decide → cap → tiers) → for each tier in order (stop: reversed by the plan)
 *   → every provider at once → act on its instances with the provider's MaxConcurrency (one
 *   provider call and one state per instance) → wait and verify the whole group with one listing
 *   per location per tick → record the group's results in one step → finish (SUCCEEDED |
 *   PARTIAL | FAILED).
 * An instance's failure is caught inside its own iteration and carried to the group's record, so
 * it never stops the others; the job then ends PARTIAL and the next run tries the instance again.
 * Waiting and verifying per group rather than per instance is what keeps a fleet run near the
 * rate-limit bound: a thousand instances cost a thousand calls plus a few listings.
 */
export function powerScheduleDefinition(scope: Construct, fns: PowerScheduleFunctions): sfn.IChainable {
  const runFailed = new sfn.Fail(scope, 'Run failed', {
    error: 'ScheduleRunFailed',
    causePath: '$.error.Cause',
  });
  const failJob = invoke(scope, 'Record run failure', fns.record, {
    payload: { record: 'failed', 'jobId.$': '$$.Execution.Name', 'error.$': '$.error' },
    resultPath: sfn.JsonPath.DISCARD,
  }).next(runFailed);

  // ---- one instance: one Task; a failure stays in the item (the Pass only runs on failure) ----
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
  ).addCatch(new sfn.Pass(scope, 'Act failed, kept for the record'), { resultPath: '$.error' });
  const actOnGroup = new sfn.Map(scope, 'Act on each instance', {
    itemsPath: '$.items',
    maxConcurrencyPath: '$.maxConcurrency',
    itemSelector: {
      ...RUN,
      'target.$': '$$.Map.Item.Value.target',
      'instanceId.$': '$$.Map.Item.Value.instanceId',
      'state.$': '$$.Map.Item.Value.state',
    },
    resultSelector: { 'items.$': '$' },
    resultPath: '$.batch',
  }).itemProcessor(act);

  // ---- the group: wait → poll → done? until every instance is settled or the deadline ----------
  const recordGroup = invoke(scope, 'Record group results', fns.result, {
    payload: { record: 'batch', 'jobId.$': '$.jobId', 'action.$': '$.action', 'items.$': '$.batch.items' },
    resultPath: sfn.JsonPath.DISCARD,
  });
  // The loop itself broke (listing kept failing after retries): what is not settled is failed.
  const recordAfterPollFailure = invoke(scope, 'Record group results after poll failure', fns.result, {
    payload: {
      record: 'batch',
      'jobId.$': '$.jobId',
      'action.$': '$.action',
      'items.$': '$.batch.items',
      'pollError.$': '$.pollError',
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  const poll = invoke(scope, 'Verify group', fns.poll, {
    payload: {
      'jobId.$': '$.jobId',
      'action.$': '$.action',
      'items.$': '$.batch.items',
      'tick.$': '$.batch.tick',
      'deadlineAt.$': '$.batch.deadlineAt',
    },
    resultPath: '$.batch',
  }).addCatch(recordAfterPollFailure, { resultPath: '$.pollError' });
  // The first look needs no wait: the group's acts took a while, the early ones are done.
  const firstPoll = invoke(scope, 'Verify group: first look', fns.poll, {
    payload: { 'jobId.$': '$.jobId', 'action.$': '$.action', 'items.$': '$.batch.items' },
    resultPath: '$.batch',
  }).addCatch(recordAfterPollFailure, { resultPath: '$.pollError' });
  const wait = new sfn.Wait(scope, 'Wait for group', {
    time: sfn.WaitTime.secondsPath('$.batch.waitSeconds'),
  });
  const settled = new sfn.Choice(scope, 'Group settled?')
    .when(sfn.Condition.booleanEquals('$.batch.done', true), recordGroup)
    .otherwise(wait);
  wait.next(poll).next(settled);
  const group = actOnGroup.next(firstPoll).next(settled);

  // ---- fan-out: tiers one after another, providers side by side ------------------------------
  const providers = new sfn.Map(scope, 'Each provider', {
    itemsPath: '$.groups',
    itemSelector: {
      ...RUN,
      'items.$': '$$.Map.Item.Value.items',
      'maxConcurrency.$': '$$.Map.Item.Value.maxConcurrency',
    },
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(group);
  const tiers = new sfn.Map(scope, 'Each tier in order', {
    itemsPath: '$.tiers',
    maxConcurrency: 1,
    itemSelector: { ...RUN, 'groups.$': '$$.Map.Item.Value.groups' },
    resultPath: sfn.JsonPath.DISCARD,
  })
    .itemProcessor(providers)
    .addCatch(failJob, { resultPath: '$.error' });

  const plan = invoke(scope, 'Plan run', fns.plan, {
    payload: { 'jobId.$': '$$.Execution.Name', 'executionArn.$': '$$.Execution.Id', 'run.$': '$' },
    resultPath: '$',
  }).addCatch(failJob, { resultPath: '$.error' });
  const finish = invoke(scope, 'Finish run', fns.result, {
    payload: {
      record: 'finish',
      'jobId.$': '$.jobId',
      'schedule.$': '$.schedule',
      'action.$': '$.action',
      'dryRun.$': '$.dryRun',
    },
    resultPath: '$.outcome',
  }).addCatch(failJob, { resultPath: '$.error' });

  return plan
    .next(tiers)
    .next(finish)
    .next(
      new sfn.Choice(scope, 'Run outcome?')
        .when(
          sfn.Condition.stringEquals('$.outcome.status', 'FAILED'),
          new sfn.Fail(scope, 'Run ended FAILED', {
            error: 'ScheduleRunFailed',
            cause: 'every instance failed, or the blast-radius cap stopped the run; see the job',
          }),
        )
        .otherwise(new sfn.Succeed(scope, 'Run finished')),
    );
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
