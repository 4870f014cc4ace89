import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface AlarmsProps {
  /** Name used in alarm names and descriptions → the state machine. */
  stateMachines: Record<string, sfn.IStateMachine>;
  /** Name (construct path is fine) → the function. */
  functions: Record<string, lambda.IFunction>;
  /** Dead-letter queues of asynchronously invoked functions: any message is an alarm. */
  deadLetterQueues?: Record<string, sqs.IQueue>;
}

/**
 * What someone must look at, on one SNS topic: a failed or timed-out workflow execution, a
 * function error or throttle, a message in a dead-letter queue. Each alarm fires on the first
 * occurrence in five minutes and treats missing data as fine (no traffic is not a problem).
 *
 * The topic is encrypted with its own customer-managed KMS key (rotated yearly): CloudWatch alarms
 * cannot publish to a topic encrypted with the AWS-managed `alias/aws/sns` key, whose policy
 * cannot be changed to let cloudwatch.amazonaws.com use it. The topic refuses non-TLS requests.
 */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const key = new kms.Key(this, 'TopicKey', {
      description: 'fleetflow alarms topic encryption',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy "*" means this key
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'fleetflow alarms',
      masterKey: key,
      enforceSSL: true,
    });
    const action = new actions.SnsAction(this.topic);

    const add = (alarmId: string, description: string, metric: cloudwatch.IMetric) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    };
    const period = Duration.minutes(5);

    for (const [name, sm] of Object.entries(props.stateMachines)) {
      const cid = idOf(name);
      add(
        `${cid}Failed`,
        `fleetflow: a ${name} execution failed`,
        sm.metricFailed({ period, statistic: 'Sum' }),
      );
      add(
        `${cid}TimedOut`,
        `fleetflow: a ${name} execution timed out`,
        sm.metricTimedOut({ period, statistic: 'Sum' }),
      );
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      const cid = idOf(name);
      add(
        `${cid}Errors`,
        `fleetflow: function ${name} returned errors`,
        fn.metricErrors({ period, statistic: 'Sum' }),
      );
      add(
        `${cid}Throttles`,
        `fleetflow: function ${name} was throttled`,
        fn.metricThrottles({ period, statistic: 'Sum' }),
      );
    }
    for (const [name, queue] of Object.entries(props.deadLetterQueues ?? {})) {
      add(
        `${idOf(name)}DeadLetters`,
        `fleetflow: failed asynchronous invocations of ${name} are waiting in its dead-letter queue`,
        queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      );
    }
  }
}

/** `Tasks/Create` → `TasksCreate`: a construct id from a readable name. */
const idOf = (name: string) => name.replace(/[^A-Za-z0-9]/g, '');
