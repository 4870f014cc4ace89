import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { AwaitProgress } from './fragments/call-and-wait.ts';
import { invoke } from './fragments/task.ts';

/** The functions the remediation workflows call; action, poll and record are the shared ones. */
export interface RemediateFunctions {
  prepare: lambda.IFunction;
  action: lambda.IFunction;
  poll: lambda.IFunction;
  /** job-record: skipped steps. */
  record: lambda.IFunction;
  /** remediation-record: notify, verified result, failure. */
  result: lambda.IFunction;
}

const CALL = { 'jobId.$': '$.jobId', 'trigger.$': '$.trigger', 'target.$': '$.target' };
const ABOUT = {
  'jobId.$': '$.jobId',
  'target.$': '$.target',
  'instanceId.$': '$.instanceId',
  'policy.$': '$.policy',
};

/**
 * One remediation (one policy × one instance):
 *   prepare (read the instance fresh, filters, plan, dry-run/cooldown/cap) →
 *   for each planned step in order: provider action + wait | notify | record skipped →
 *   verify and record.
 * The steps run one at a time through a cursor (a Choice loop, not a Map) so each waits for its
 * provider operation before the next starts, and one Catch covers every step. Any failure records
 * FAILED (nothing changed yet) or PARTIAL (earlier actions ran) with the reason.
 */
export function remediateDefinition(scope: Construct, fns: RemediateFunctions): sfn.IChainable {
  const failed = new sfn.Fail(scope, 'Remediation failed', {
    error: 'RemediationFailed',
    causePath: '$.error.Cause',
  });
  const recordFailure = invoke(scope, 'Record failure', fns.result, {
    payload: { record: 'failed', ...ABOUT, 'error.$': '$.error' },
    resultPath: sfn.JsonPath.DISCARD,
  }).next(failed);
  const done = new sfn.Succeed(scope, 'Remediated');

  const prepare = invoke(scope, 'Prepare', fns.prepare, {
    payload: {
      ...CALL,
      'executionArn.$': '$$.Execution.Id',
      'instanceId.$': '$.instanceId',
      'policy.$': '$.policy',
      'cause.$': '$.cause',
    },
    resultPath: '$.plan',
  }).addCatch(recordFailure, { resultPath: '$.error' });

  const verify = invoke(scope, 'Verify and record', fns.result, {
    payload: { record: 'succeeded', ...ABOUT, 'expect.$': '$.plan.expect' },
    resultPath: sfn.JsonPath.DISCARD,
  })
    .addCatch(recordFailure, { resultPath: '$.error' })
    .next(done);

  const nextStep = new sfn.Pass(scope, 'Next step', {
    parameters: { 'i.$': 'States.MathAdd($.cursor.i, 1)' },
    resultPath: '$.cursor',
  });
  const moreSteps = new sfn.Choice(scope, 'More steps?');

  const act = invoke(scope, 'Act', fns.action, {
    payload: {
      ...CALL,
      'step.$': '$.current.step.name',
      'action.$': '$.current.step.action',
      'instanceId.$': '$.instanceId',
      'params.$': '$.current.step.params',
    },
    resultPath: '$.wait',
  }).addCatch(recordFailure, { resultPath: '$.error' });
  act
    .next(new AwaitProgress(scope, 'AwaitAct', { label: 'Act', poll: fns.poll, onError: recordFailure }))
    .next(nextStep);

  const notify = invoke(scope, 'Notify', fns.result, {
    payload: { record: 'notify', ...ABOUT, 'step.$': '$.current.step' },
    resultPath: sfn.JsonPath.DISCARD,
  }).addCatch(recordFailure, { resultPath: '$.error' });
  notify.next(nextStep);

  const skip = invoke(scope, 'Record skipped step', fns.record, {
    payload: {
      record: 'skipped',
      'jobId.$': '$.jobId',
      'step.$': '$.current.step.name',
      'reason.$': '$.current.step.reason',
    },
    resultPath: sfn.JsonPath.DISCARD,
  }).addCatch(recordFailure, { resultPath: '$.error' });
  skip.next(nextStep);

  const pick = new sfn.Pass(scope, 'Pick step', {
    parameters: { 'step.$': 'States.ArrayGetItem($.plan.steps, $.cursor.i)' },
    resultPath: '$.current',
  }).next(
    new sfn.Choice(scope, 'Step kind?')
      .when(sfn.Condition.stringEquals('$.current.step.kind', 'provider'), act)
      .when(sfn.Condition.stringEquals('$.current.step.kind', 'notify'), notify)
      .otherwise(skip),
  );
  moreSteps.when(sfn.Condition.numberLessThanJsonPath('$.cursor.i', '$.plan.count'), pick).otherwise(verify);
  nextStep.next(moreSteps);

  const start = new sfn.Pass(scope, 'First step', {
    result: sfn.Result.fromObject({ i: 0 }),
    resultPath: '$.cursor',
  }).next(moreSteps);

  return prepare.next(
    new sfn.Choice(scope, 'Act?')
      .when(sfn.Condition.stringEquals('$.plan.decision', 'act'), start)
      .otherwise(done),
  );
}

export interface SweepFunctions {
  sweep: lambda.IFunction;
}

/**
 * A periodic policy's sweep: list the instances in scope, evaluate the filters, count the matches
 * against the cap (over it: act on none, FAILED with the reason), and start one remediation per
 * match (each deduplicated, cooled down and verified like an event's). The sweep handler names its
 * job per window and records its own failures there, so the workflow only ends.
 */
export function sweepDefinition(scope: Construct, fns: SweepFunctions): sfn.IChainable {
  const failed = new sfn.Fail(scope, 'Sweep failed', { error: 'SweepFailed', causePath: '$.error.Cause' });
  return invoke(scope, 'Sweep', fns.sweep, {
    payload: {
      'policy.$': '$.policy',
      'scope.$': '$.scope',
      'trigger.$': '$.trigger',
      'executionArn.$': '$$.Execution.Id',
    },
    resultPath: '$.sweep',
  })
    .addCatch(failed, { resultPath: '$.error' })
    .next(new sfn.Succeed(scope, 'Swept'));
}
