import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { AwaitProgress } from './fragments/call-and-wait.ts';
import { invoke } from './fragments/task.ts';

/** The functions the power-schedule workflow calls. */
export interface PowerScheduleFunctions {
  plan: lambda.IFunction;
  /** instance-action: start/stop, idempotent per job step, skipped when already there. */
  action: lambda.IFunction;
  /** await-progress: one poll of the call-and-wait loop. */
  poll: lambda.IFunction;
  /** schedule-result: verify, per-instance failure, finish. */
  result: lambda.IFunction;
  /** job-record: fails the job when the run itself cannot go on. */
  record: lambda.IFunction;
}

const ITEM = {
  'jobId.$': '$.jobId',
  'trigger.$': '$.trigger',
  'action.$': '$.action',
};

/**
 * A scheduled stop or start across providers:
 *   plan (list → decide → cap → tiers) → for each tier in order (stop: reversed by the plan)
 *   → every provider at once → its instances with the provider's MaxConcurrency
 *   → act → wait → verify → record → finish (SUCCEEDED | PARTIAL | FAILED).
 * An instance's failure is caught inside its own iteration and recorded, so it never stops the
 * others; the job then ends PARTIAL and the next run tries the instance again.
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

  // ---- one instance: its failure ends here, recorded ---------------------------------------
  const instanceFailed = invoke(scope, 'Record instance failure', fns.result, {
    payload: {
      record: 'failed',
      ...ITEM,
      'target.$': '$.target',
      'instanceId.$': '$.instanceId',
      'error.$': '$.error',
    },
    resultPath: sfn.JsonPath.DISCARD,
  }).next(new sfn.Succeed(scope, 'Instance failed, run goes on'));
  const act = invoke(scope, 'Act on instance', fns.action, {
    payload: {
      ...ITEM,
      'target.$': '$.target',
      'instanceId.$': '$.instanceId',
      'step.$': '$.step',
      journal: false,
    },
    resultPath: '$.wait',
  }).addCatch(instanceFailed, { resultPath: '$.error' });
  const verify = invoke(scope, 'Verify instance', fns.result, {
    payload: {
      record: 'verify',
      'jobId.$': '$.jobId',
      'action.$': '$.action',
      'target.$': '$.target',
      'instanceId.$': '$.instanceId',
    },
    resultPath: sfn.JsonPath.DISCARD,
  }).addCatch(instanceFailed, { resultPath: '$.error' });
  const perInstance = act
    .next(
      new AwaitProgress(scope, 'AwaitInstance', {
        label: 'Instance',
        poll: fns.poll,
        onError: instanceFailed,
      }),
    )
    .next(verify)
    .next(new sfn.Succeed(scope, 'Instance done'));

  // ---- fan-out: tiers one after another, providers side by side, instances throttled ----------
  const instances = new sfn.Map(scope, 'Each instance', {
    itemsPath: '$.items',
    maxConcurrencyPath: '$.maxConcurrency',
    itemSelector: {
      ...ITEM,
      'target.$': '$$.Map.Item.Value.target',
      'instanceId.$': '$$.Map.Item.Value.instanceId',
      'step.$': '$$.Map.Item.Value.step',
    },
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(perInstance);
  const providers = new sfn.Map(scope, 'Each provider', {
    itemsPath: '$.groups',
    itemSelector: {
      ...ITEM,
      'items.$': '$$.Map.Item.Value.items',
      'maxConcurrency.$': '$$.Map.Item.Value.maxConcurrency',
    },
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(instances);
  const tiers = new sfn.Map(scope, 'Each tier in order', {
    itemsPath: '$.tiers',
    maxConcurrency: 1,
    itemSelector: { ...ITEM, 'groups.$': '$$.Map.Item.Value.groups' },
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
