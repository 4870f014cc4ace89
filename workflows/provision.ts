import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { AwaitProgress } from './fragments/call-and-wait.ts';
import { invoke } from './fragments/task.ts';

/** The functions the provisioning workflow calls, one per kind of step. */
export interface ProvisionFunctions {
  validate: lambda.IFunction;
  create: lambda.IFunction;
  action: lambda.IFunction;
  poll: lambda.IFunction;
  record: lambda.IFunction;
  compensate: lambda.IFunction;
}

const CALL = { 'jobId.$': '$.jobId', 'trigger.$': '$.trigger', 'target.$': '$.target' };

/**
 * Webhook-triggered provisioning:
 *   validate → create → wait until running → [snapshot → wait] → [scale → wait] → record.
 * A scale on a provider that needs a stopped instance becomes stop → scale → start; on one that
 * cannot scale it is skipped with the reason recorded. Any failure after validation compensates
 * (deletes the half-built instance, or keeps it, as the request asks) and fails the job with a
 * reason a person can act on.
 */
export function provisionDefinition(scope: Construct, fns: ProvisionFunctions): sfn.IChainable {
  const failed = new sfn.Fail(scope, 'Provisioning failed', {
    error: 'ProvisioningFailed',
    causePath: '$.error.Cause',
  });

  // ---- failure path ------------------------------------------------------------------------
  const failJob = invoke(scope, 'Record failure', fns.record, {
    payload: {
      record: 'failed',
      'jobId.$': '$.jobId',
      'target.$': '$.target',
      'instanceId.$': '$.instanceId',
      'error.$': '$.error',
    },
    resultPath: sfn.JsonPath.DISCARD,
  }).next(failed);
  const failInvalid = invoke(scope, 'Record invalid request', fns.record, {
    payload: { record: 'failed', 'jobId.$': '$.jobId', 'error.$': '$.error' },
    resultPath: sfn.JsonPath.DISCARD,
  }).next(failed);
  const compensate = invoke(scope, 'Compensate', fns.compensate, {
    payload: { ...CALL, 'onFailure.$': '$.onFailure', 'instanceId.$': '$.instanceId', 'error.$': '$.error' },
    resultPath: '$.wait',
  }).addCatch(failJob, { resultPath: '$.compensationError' });
  compensate
    .next(
      new AwaitProgress(scope, 'AwaitCompensate', {
        label: 'Compensate',
        poll: fns.poll,
        onError: failJob,
        errorPath: '$.compensationError',
      }),
    )
    .next(failJob);

  // ---- building blocks ---------------------------------------------------------------------
  const action = (name: string, step: string, act: string, params: Record<string, unknown> = {}) =>
    invoke(scope, name, fns.action, {
      payload: { ...CALL, step, action: act, 'instanceId.$': '$.instanceId', params },
      resultPath: '$.wait',
    }).addCatch(compensate, { resultPath: '$.error' });
  const awaitDone = (label: string) =>
    new AwaitProgress(scope, `Await${label.replace(/\W/g, '')}`, {
      label,
      poll: fns.poll,
      onError: compensate,
    });

  // ---- the happy path ----------------------------------------------------------------------
  const validate = invoke(scope, 'Validate request', fns.validate, {
    payload: {
      'jobId.$': '$.jobId',
      'trigger.$': '$.trigger',
      'request.$': '$.request',
      'executionArn.$': '$$.Execution.Id',
    },
    resultPath: '$',
  }).addCatch(failInvalid, { resultPath: '$.error' });

  const create = invoke(scope, 'Create instance', fns.create, {
    payload: { ...CALL, 'spec.$': '$.spec' },
    resultPath: '$.wait',
  }).addCatch(compensate, { resultPath: '$.error' });

  const rememberInstance = new sfn.Pass(scope, 'Remember instance', {
    inputPath: '$.wait.instanceId',
    resultPath: '$.instanceId',
  });
  const rememberSnapshot = new sfn.Pass(scope, 'Remember snapshot', {
    inputPath: '$.wait.resourceId',
    resultPath: '$.snapshotId',
  });

  const finish = invoke(scope, 'Record success', fns.record, {
    payload: {
      record: 'succeeded',
      'jobId.$': '$.jobId',
      'target.$': '$.target',
      'instanceId.$': '$.instanceId',
      'snapshotId.$': '$.snapshotId',
    },
    resultPath: sfn.JsonPath.DISCARD,
  })
    .addCatch(failJob, { resultPath: '$.error' })
    .next(new sfn.Succeed(scope, 'Provisioned'));

  const recordScaleSkipped = invoke(scope, 'Record scale skipped', fns.record, {
    payload: { record: 'skipped', 'jobId.$': '$.jobId', step: 'scale', 'reason.$': '$.scalePlan.reason' },
    resultPath: sfn.JsonPath.DISCARD,
  }).addCatch(failJob, { resultPath: '$.error' });

  const scaleTo = { 'type.$': '$.scaleTo' };
  const scaleDirect = action('Scale', 'scale', 'scale', scaleTo).next(awaitDone('Scale')).next(finish);
  const scaleStopped = action('Stop for scale', 'scale-stop', 'stop')
    .next(awaitDone('Stop for scale'))
    .next(action('Scale while stopped', 'scale', 'scale', scaleTo))
    .next(awaitDone('Scale while stopped'))
    .next(action('Start after scale', 'scale-start', 'start'))
    .next(awaitDone('Start after scale'))
    .next(finish);

  const howToScale = new sfn.Choice(scope, 'How to scale?')
    .when(sfn.Condition.stringEquals('$.scalePlan.mode', 'direct'), scaleDirect)
    .when(sfn.Condition.stringEquals('$.scalePlan.mode', 'stop-first'), scaleStopped)
    .when(sfn.Condition.stringEquals('$.scalePlan.mode', 'skip'), recordScaleSkipped.next(finish))
    .otherwise(finish);

  const snapshot = action('Snapshot', 'snapshot', 'snapshot', { 'name.$': '$.snapshot.name' })
    .next(awaitDone('Snapshot'))
    .next(rememberSnapshot)
    .next(howToScale);

  return validate
    .next(create)
    .next(awaitDone('Create'))
    .next(rememberInstance)
    .next(
      new sfn.Choice(scope, 'Snapshot requested?')
        .when(sfn.Condition.isPresent('$.snapshot'), snapshot)
        .otherwise(howToScale),
    );
}
