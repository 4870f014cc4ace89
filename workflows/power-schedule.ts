import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { invoke } from './fragments/task.ts';

/** The functions and the page workflow the power-schedule workflow calls. */
export interface PowerScheduleFunctions {
  plan: lambda.IFunction;
  /** The page workflow (power-schedule-page.ts): acts on one page of instances, as a child execution. */
  page: sfn.IStateMachine;
  /** schedule-poll: one tick of an account's wait-and-verify loop (one listing per location). */
  poll: lambda.IFunction;
  /** schedule-result: records what a broken loop left unsettled, and finishes the run. */
  result: lambda.IFunction;
  /** job-record: fails the job when the run itself cannot go on. */
  record: lambda.IFunction;
}

const RUN = {
  'jobId.$': '$.jobId',
  'trigger.$': '$.trigger',
  'action.$': '$.action',
};

/** A page runs for a few minutes at most; an hour covers a provider at its slowest. */
const PAGE_TIMEOUT = Duration.hours(1);

/**
 * A scheduled stop or start across providers:
 *   plan (list → decide → cap → tiers; the work stored in pages) → for each tier in order (stop:
 *   reversed by the plan) → every provider account at once → its pages one after another, each a
 *   child execution that acts on its instances at the account's concurrency (one provider call
 *   and one state per instance) → wait and verify the account's instances with one listing per
 *   location per tick, recording each outcome as it is known → finish (SUCCEEDED | PARTIAL |
 *   FAILED, from the counted results).
 * State carries tiers, accounts and page keys, never the fleet: the instances live in the job's
 * items, so no payload or history grows with the fleet (each page has its own history). An
 * instance's failure is recorded by its own iteration and never stops the others; the job then
 * ends PARTIAL and the next run tries the instance again. Pages of an account run back to back
 * and verifying waits for all of them, so the provider's calls keep flowing near its rate limit.
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

  // ---- one page: a child execution; a page that fails leaves its instances to the verify ------
  const runPage = new tasks.StepFunctionsStartExecution(scope, 'Run page', {
    stateMachine: fns.page,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    associateWithParent: true,
    input: sfn.TaskInput.fromObject({
      ...RUN,
      'page.$': '$.page',
      'concurrency.$': '$.concurrency',
    }),
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: sfn.Timeout.duration(PAGE_TIMEOUT),
  })
    // Replaying a page is safe: each act replays its first attempt's operation.
    .addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(5), maxAttempts: 1 })
    .addCatch(new sfn.Pass(scope, 'Page failed, its instances fail verification'), {
      resultPath: '$.pageError',
    });
  const actOnPages = new sfn.Map(scope, 'Act on each page', {
    itemsPath: '$.group.pages',
    maxConcurrency: 1,
    itemSelector: {
      ...RUN,
      'page.$': '$$.Map.Item.Value',
      'concurrency.$': '$.group.concurrency',
    },
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(runPage);

  // ---- the account: wait → poll → done? until every instance is settled or the deadline ------
  // The loop itself broke (listing kept failing after retries): what is not settled is failed.
  const recordAfterPollFailure = invoke(scope, 'Record group results after poll failure', fns.result, {
    payload: {
      record: 'unverified',
      'jobId.$': '$.jobId',
      'action.$': '$.action',
      'pages.$': '$.group.pages',
      'pollError.$': '$.pollError',
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  // The first look needs no wait: the acts took a while, the early ones are done.
  const firstPoll = invoke(scope, 'Verify group: first look', fns.poll, {
    payload: { 'jobId.$': '$.jobId', 'action.$': '$.action', 'pages.$': '$.group.pages' },
    resultPath: '$.verify',
  }).addCatch(recordAfterPollFailure, { resultPath: '$.pollError' });
  const poll = invoke(scope, 'Verify group', fns.poll, {
    payload: {
      'jobId.$': '$.jobId',
      'action.$': '$.action',
      'pages.$': '$.verify.pages',
      'tick.$': '$.verify.tick',
      'deadlineAt.$': '$.verify.deadlineAt',
      'lookAt.$': '$.verify.lookAt',
    },
    resultPath: '$.verify',
  }).addCatch(recordAfterPollFailure, { resultPath: '$.pollError' });
  const wait = new sfn.Wait(scope, 'Wait for group', {
    time: sfn.WaitTime.secondsPath('$.verify.waitSeconds'),
  });
  const settled = new sfn.Choice(scope, 'Group settled?')
    .when(sfn.Condition.booleanEquals('$.verify.done', true), new sfn.Succeed(scope, 'Group verified'))
    .otherwise(wait);
  wait.next(poll).next(settled);
  const group = actOnPages.next(firstPoll).next(settled);

  // ---- fan-out: tiers one after another, accounts side by side ---------------------------------
  const providers = new sfn.Map(scope, 'Each provider', {
    itemsPath: '$.groups',
    itemSelector: { ...RUN, 'group.$': '$$.Map.Item.Value' },
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
