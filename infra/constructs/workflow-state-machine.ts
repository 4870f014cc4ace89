import { type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { markStateMachine } from '../binding.ts';

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
    this.#acknowledgeRoleWildcards();
  }

  /**
   * The two wildcards CDK puts in a state machine role, acknowledged here, next to it.
   * `<fn.Arn>:*` comes from each LambdaInvoke task (the function and its versions/aliases); it is
   * acknowledged per function the definition actually invokes, found in the role's policy, so a
   * new wildcard of any other kind still fails cdk-nag.
   */
  #acknowledgeRoleWildcards(): void {
    const role = this.stateMachine.role;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs vended delivery (logs:CreateLogDelivery, ..., DescribeLogGroups) use Resource "*": these actions have no resource-level permissions. test/infra/permissions.test.ts checks that nothing else is granted on "*".',
    });
    const policy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
    if (!policy) return;
    const doc = Stack.of(this).resolve(policy.document) as {
      Statement?: Array<{ Action?: unknown; Resource?: unknown }>;
    };
    for (const statement of doc.Statement ?? []) {
      if (![statement.Action].flat().includes('lambda:InvokeFunction')) continue;
      for (const resource of [statement.Resource].flat()) {
        const parts = (resource as { 'Fn::Join'?: [string, unknown[]] })?.['Fn::Join']?.[1];
        const getAtt = (parts?.[0] as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
        if (parts?.length !== 2 || parts[1] !== ':*' || getAtt?.[1] !== 'Arn') continue;
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${getAtt[0]}.Arn>:*]`,
          reason: `lambda:InvokeFunction on ${getAtt[0]} and its versions and aliases (":*"), as CDK's LambdaInvoke grants it; the workflow invokes this function by name, and no other function is reachable.`,
        });
      }
    }
  }
}
