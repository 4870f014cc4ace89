import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { markStateMachine } from '../../local/binding.ts';

export interface WorkflowStateMachineProps {
  /** Stable name: the local engine's state machine name and the prefix of the AWS one. */
  name: string;
  definition: (scope: Construct) => sfn.IChainable;
  timeout: Duration;
}

/**
 * A Standard workflow with the house settings: every event logged to its own log group, X-Ray
 * tracing, and an overall timeout so no execution can run forever.
 */
export class WorkflowStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: WorkflowStateMachineProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(props.definition(this)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: props.timeout,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    markStateMachine(this.stateMachine, props.name);
  }
}
