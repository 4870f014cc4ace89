import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { invoke } from './task.ts';

export interface AwaitProgressProps {
  /** Prefix of the state names, e.g. `Create` gives `Create: wait`, `Create: poll`, `Create: done?`. */
  label: string;
  /** The await-progress function. */
  poll: lambda.IFunction;
  /** Where a failed poll goes (operation failed, deadline passed, instance vanished). */
  onError: sfn.IChainable;
  /** Where the caught error is put; `$.error` unless the caller keeps an earlier error there. */
  errorPath?: string;
}

/**
 * The call-and-wait loop after a provider call that put a Progress at `$.wait`:
 * done? → Wait (growing interval chosen by the poll handler) → poll → done? … until the work is
 * done, or the poll handler raises a failure or the deadline. Wait states do the waiting, so no
 * Lambda ever sleeps and a long provider operation costs a few state transitions.
 */
export class AwaitProgress extends sfn.StateMachineFragment {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: AwaitProgressProps) {
    super(scope, id);
    const finished = new sfn.Pass(this, 'Finished', { stateName: `${props.label}: finished` });
    const wait = new sfn.Wait(this, 'Wait', {
      stateName: `${props.label}: wait`,
      time: sfn.WaitTime.secondsPath('$.wait.waitSeconds'),
    });
    const poll = invoke(this, `${props.label}: poll`, props.poll, {
      payload: { 'jobId.$': '$.jobId', 'target.$': '$.target', 'wait.$': '$.wait' },
      resultPath: '$.wait',
    }).addCatch(props.onError, { resultPath: props.errorPath ?? '$.error' });
    const done = new sfn.Choice(this, 'Done', { stateName: `${props.label}: done?` })
      .when(sfn.Condition.booleanEquals('$.wait.done', true), finished)
      .otherwise(wait);
    wait.next(poll).next(done);
    this.startState = done;
    this.endStates = [finished];
  }
}
