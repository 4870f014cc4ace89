import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { eventPattern } from '../../functions/remediation/events.ts';
import { EVENT_DETAIL_TYPES } from '../../functions/remediation/policy.ts';
import { policySetFrom, sweepScope } from '../../functions/remediation/source.ts';
import { REMEDIATE_MACHINE, SWEEP_MACHINE, sweepInput } from '../../functions/remediation/start.ts';
import { durationSeconds } from '../../functions/shared/duration.ts';
import { remediateDefinition, sweepDefinition } from '../../workflows/remediate.ts';
import type { DataLayer } from './data-layer.ts';
import { HandlerFunction } from './handler-function.ts';
import type { ProviderAccounts } from './provider-accounts.ts';
import type { TaskFunctions } from './task-functions.ts';
import { WorkflowStateMachine } from './workflow-state-machine.ts';

export interface RemediationProps {
  data: DataLayer;
  accounts: ProviderAccounts;
  tasks: TaskFunctions;
  /** The HTTP API and signing secret the alert webhook shares with provisioning. */
  api: apigw.HttpApi;
  webhookSecret: secretsmanager.ISecret;
  /** The config file's document (its `policies` and `accounts`); no policies without it. */
  config?: unknown;
  /** The EventBridge bus monitoring sends to and fleetflow emits on. */
  eventBus?: string;
}

const SYNC = 'Step Functions (lambda:invoke, RequestResponse; errors reach the workflow Retry/Catch)';

/**
 * Event-based remediation: the remediate and sweep workflows, their own functions
 * (prepare, record, sweep; act and poll are the shared task functions), the EventBridge rule for
 * custom `fleetflow` events, the signed POST /webhooks/alert, and one EventBridge Scheduler
 * schedule per periodic policy.
 */
export class Remediation extends Construct {
  readonly workflow: WorkflowStateMachine;
  readonly sweepWorkflow: WorkflowStateMachine;
  /** The sweep's function (policies with `warn` send their notices from it). */
  readonly sweep: HandlerFunction;
  readonly rule: events.Rule;
  readonly schedules: scheduler.Schedule[] = [];

  constructor(scope: Construct, id: string, props: RemediationProps) {
    super(scope, id);
    const { data, accounts, tasks } = props;
    const set = policySetFrom(props.config ?? {}, 'config');
    const bus = props.eventBus ?? 'default';
    const base = { ...data.environment(), ...accounts.environment() };
    const putEvents = new iam.PolicyStatement({
      actions: ['events:PutEvents'],
      resources: [Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: bus })],
    });

    const prepare = new HandlerFunction(this, 'Prepare', {
      entry: 'functions/handlers/remediation-prepare.ts',
      description: 'Reads the instance, evaluates a policy, plans; cooldown and cap',
      environment: base,
      invokedSynchronouslyBy: SYNC,
    });
    const result = new HandlerFunction(this, 'Result', {
      entry: 'functions/handlers/remediation-record.ts',
      description: 'Notifies, verifies and records a remediation',
      environment: { ...base, FLEETFLOW_EVENT_BUS: bus },
      invokedSynchronouslyBy: SYNC,
    });
    for (const fn of [prepare.fn, result.fn]) {
      accounts.grantRead(fn);
      data.grantJobsWrite(fn);
    }
    data.grantIdempotency(prepare.fn);
    result.fn.addToRolePolicy(putEvents);

    this.workflow = new WorkflowStateMachine(this, 'Workflow', {
      name: REMEDIATE_MACHINE,
      timeout: Duration.hours(3),
      definition: (s) =>
        remediateDefinition(s, {
          prepare: prepare.fn,
          action: tasks.action.fn,
          poll: tasks.poll.fn,
          record: tasks.record.fn,
          result: result.fn,
        }),
    });
    const starterEnv = {
      ...data.environment(),
      FLEETFLOW_REMEDIATE_STATE_MACHINE_ARN: this.workflow.stateMachine.stateMachineArn,
    };

    this.sweep = new HandlerFunction(this, 'Sweep', {
      entry: 'functions/handlers/remediation-sweep.ts',
      description: 'Sweeps the fleet for a periodic policy, within its cap',
      environment: { ...base, ...starterEnv },
      timeout: Duration.seconds(120),
      memorySize: 512,
      invokedSynchronouslyBy: SYNC,
    });
    const sweep = this.sweep;
    accounts.grantRead(sweep.fn);
    data.grantJobsWrite(sweep.fn);
    // The idle filter's samples of CloudStack counters live in the idempotency table.
    data.grantIdempotency(sweep.fn);
    this.workflow.stateMachine.grantStartExecution(sweep.fn);
    this.sweepWorkflow = new WorkflowStateMachine(this, 'SweepWorkflow', {
      name: SWEEP_MACHINE,
      timeout: Duration.minutes(30),
      definition: (s) => sweepDefinition(s, { sweep: sweep.fn }),
    });

    // Only event-mode policies are needed to route events; periodic ones travel in their schedules.
    const eventPolicies = set.policies.filter((p) => p.policy.mode === 'event').map((p) => p.raw);
    const routerEnv = { ...starterEnv, FLEETFLOW_POLICIES: JSON.stringify(eventPolicies) };

    const onEvent = new HandlerFunction(this, 'OnEvent', {
      entry: 'functions/handlers/remediation-event.ts',
      description: 'Routes a fleetflow event to the remediation policies',
      environment: routerEnv,
    });
    const alert = new HandlerFunction(this, 'Alert', {
      entry: 'functions/handlers/webhook-alert.ts',
      description: 'Verifies a signed alert webhook and routes it to the remediation policies',
      environment: { ...routerEnv, FLEETFLOW_WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn },
      invokedSynchronouslyBy:
        'API Gateway (HTTP API Lambda proxy integration; errors become HTTP 5xx to the sender, who retries)',
    });
    for (const fn of [onEvent.fn, alert.fn]) {
      data.grantJobsWrite(fn);
      this.workflow.stateMachine.grantStartExecution(fn);
    }
    props.webhookSecret.grantRead(alert.fn);
    const [alertRoute] = props.api.addRoutes({
      path: '/webhooks/alert',
      methods: [apigw.HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('AlertIntegration', alert.fn),
    });
    if (alertRoute) {
      Validations.of(alertRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Monitoring systems cannot sign with SigV4 or get a JWT; every alert is authenticated by its Standard Webhooks HMAC signature (with timestamp tolerance), verified by the function before the body is parsed, exactly as POST /webhooks/provision.',
      });
    }

    const detailTypes = new Set<string>(EVENT_DETAIL_TYPES);
    for (const p of set.policies) for (const d of p.policy.events ?? []) detailTypes.add(d);
    this.rule = new events.Rule(this, 'Rule', {
      description: 'fleetflow remediation: custom fleetflow events (send them with source "fleetflow")',
      eventBus: events.EventBus.fromEventBusName(this, 'Bus', bus),
      eventPattern: eventPattern([...detailTypes]) as events.EventPattern,
    });
    this.rule.addTarget(
      new eventTargets.LambdaFunction(onEvent.fn, {
        retryAttempts: 4,
        maxEventAge: Duration.hours(1),
        ...(onEvent.deadLetterQueue && { deadLetterQueue: onEvent.deadLetterQueue }),
      }),
    );

    for (const loaded of set.policies) {
      if (loaded.policy.mode !== 'periodic') continue;
      const minutes = Math.max(1, Math.round(durationSeconds(loaded.policy.every) / 60));
      this.schedules.push(
        new scheduler.Schedule(this, `sweep-${loaded.policy.name}`, {
          description: `fleetflow: sweep for policy ${loaded.policy.name} every ${loaded.policy.every}`,
          schedule: scheduler.ScheduleExpression.rate(Duration.minutes(minutes)),
          target: new schedulerTargets.StepFunctionsStartExecution(this.sweepWorkflow.stateMachine, {
            input: scheduler.ScheduleTargetInput.fromObject(
              sweepInput(loaded, sweepScope(loaded.policy, set), {
                type: 'schedule',
                actor: 'eventbridge-scheduler',
                source: `policy ${loaded.policy.name}`,
              }),
            ),
            retryAttempts: 3,
          }),
        }),
      );
    }
  }
}
