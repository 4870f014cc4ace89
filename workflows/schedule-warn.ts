import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { invoke } from './fragments/task.ts';

export interface ScheduleWarnFunctions {
  warn: lambda.IFunction;
}

/**
 * A warning before a schedule's stop: one task that plans the stop and sends one notice per owner
 * group (functions/handlers/schedule-warn.ts). The handler names its job by schedule and stop and
 * records its own outcome there, so a repeated trigger is a no-op and the workflow only ends.
 */
export function scheduleWarnDefinition(scope: Construct, fns: ScheduleWarnFunctions): sfn.IChainable {
  const failed = new sfn.Fail(scope, 'Warning failed', {
    error: 'WarningFailed',
    causePath: '$.error.Cause',
  });
  return invoke(scope, 'Warn', fns.warn, {
    payload: { 'run.$': '$', 'executionArn.$': '$$.Execution.Id' },
    resultPath: '$.warning',
  })
    .addCatch(failed, { resultPath: '$.error' })
    .next(new sfn.Succeed(scope, 'Warned'));
}
