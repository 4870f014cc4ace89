import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { TASK_TIMEOUT, withRetries } from './errors.ts';

/**
 * A Lambda task in the house style: the payload is the handler's whole input, its answer lands
 * at `resultPath`, our retry rules replace CDK's default retrier, and every task has a timeout.
 */
export function invoke(
  scope: Construct,
  name: string,
  fn: lambda.IFunction,
  options: { payload: Record<string, unknown>; resultPath: string; retries?: boolean },
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, name, {
    lambdaFunction: fn,
    payload: sfn.TaskInput.fromObject(options.payload),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    // ResultPath "$" is the default; leaving it out also sidesteps aws-local-stepfunctions, which
    // nests the result under a "$" key instead of replacing the input.
    ...(options.resultPath !== '$' && { resultPath: options.resultPath }),
    taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
  });
  return options.retries === false ? task : withRetries(task);
}
