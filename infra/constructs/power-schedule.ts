import { type CfnElement, Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import type { FleetflowConfig } from '../../functions/config/schema.ts';
import { awsCronExpression } from '../../functions/schedule/calendar.ts';
import {
  POWER_SCHEDULE_MACHINE,
  POWER_SCHEDULE_PAGE_MACHINE,
  scheduleRunInput,
} from '../../functions/schedule/run.ts';
import { powerScheduleDefinition } from '../../workflows/power-schedule.ts';
import { powerSchedulePageDefinition } from '../../workflows/power-schedule-page.ts';
import type { DataLayer } from './data-layer.ts';
import { HandlerFunction } from './handler-function.ts';
import type { ProviderAccounts } from './provider-accounts.ts';
import type { TaskFunctions } from './task-functions.ts';
import { WorkflowStateMachine } from './workflow-state-machine.ts';

export interface PowerScheduleProps {
  data: DataLayer;
  accounts: ProviderAccounts;
  tasks: TaskFunctions;
  /** The config file's schedules become EventBridge Scheduler schedules; none without it. */
  config?: FleetflowConfig;
  /** The EventBridge bus fleetflow's events go to. */
  eventBus?: string;
}

/**
 * Scheduled stops and starts: the power-schedule workflow and its page workflow (a child
 * execution per page of instances), their own functions (plan, page, act, poll, result; the
 * job-record task function fails a run), and one EventBridge Scheduler schedule per period edge of
 * each configured schedule, in the schedule's timezone, starting the workflow with the run's
 * input. Schedules with `manualStart: enforce` also get an hourly sweep.
 */
export class PowerSchedule extends Construct {
  readonly workflow: WorkflowStateMachine;
  readonly pageWorkflow: WorkflowStateMachine;
  readonly plan: HandlerFunction;
  readonly page: HandlerFunction;
  readonly act: HandlerFunction;
  readonly poll: HandlerFunction;
  readonly result: HandlerFunction;
  readonly schedules: scheduler.Schedule[] = [];

  constructor(scope: Construct, id: string, props: PowerScheduleProps) {
    super(scope, id);
    const { data, accounts, tasks } = props;
    const bus = props.eventBus ?? 'default';
    const environment = { ...data.environment(), ...accounts.environment(), FLEETFLOW_EVENT_BUS: bus };
    const invokedSynchronouslyBy =
      'Step Functions (lambda:invoke, RequestResponse; errors reach the workflow Retry/Catch)';
    this.plan = new HandlerFunction(this, 'Plan', {
      entry: 'functions/handlers/schedule-plan.ts',
      description: 'Plans a schedule run: targets, decisions, cap, tiers',
      environment,
      timeout: Duration.seconds(120),
      memorySize: 512,
      invokedSynchronouslyBy,
    });
    this.page = new HandlerFunction(this, 'Page', {
      entry: 'functions/handlers/schedule-page.ts',
      description: 'Loads one page of a schedule run for its act Map',
      environment,
      invokedSynchronouslyBy,
    });
    this.act = new HandlerFunction(this, 'Act', {
      entry: 'functions/handlers/schedule-act.ts',
      description: 'Stops or starts one instance of a schedule run, at most once per job',
      environment,
      invokedSynchronouslyBy,
    });
    this.poll = new HandlerFunction(this, 'Poll', {
      entry: 'functions/handlers/schedule-poll.ts',
      description: 'One wait-and-verify tick for a group of a schedule run (one listing per location)',
      environment,
      invokedSynchronouslyBy,
    });
    this.result = new HandlerFunction(this, 'Result', {
      entry: 'functions/handlers/schedule-result.ts',
      description: 'Records failed acts and unverified instances, finishes a schedule run; emits events',
      environment,
      invokedSynchronouslyBy,
    });
    const busArn = Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: bus });
    // The poll lists providers and records what it verified, with events; the plan lists and
    // stores the work; the act records its own outcome.
    for (const fn of [this.plan.fn, this.poll.fn, this.act.fn]) accounts.grantRead(fn);
    for (const fn of [this.plan.fn, this.result.fn, this.poll.fn, this.act.fn]) data.grantJobsWrite(fn);
    for (const fn of [this.plan.fn, this.result.fn, this.poll.fn])
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [busArn] }));
    data.grantJobsRead(this.page.fn);
    // Overrides are set with the CLI or the API; the planner only reads them (same table).
    data.grantAuditAppend(this.plan.fn);
    // The act calls providers once per instance, audited and idempotent.
    data.grantAuditAppend(this.act.fn);
    data.grantIdempotency(this.act.fn);

    this.pageWorkflow = new WorkflowStateMachine(this, 'PageWorkflow', {
      name: POWER_SCHEDULE_PAGE_MACHINE,
      timeout: Duration.hours(1),
      definition: (s) =>
        powerSchedulePageDefinition(s, { page: this.page.fn, act: this.act.fn, result: this.result.fn }),
    });

    this.workflow = new WorkflowStateMachine(this, 'Workflow', {
      name: POWER_SCHEDULE_MACHINE,
      timeout: Duration.hours(6),
      definition: (s) =>
        powerScheduleDefinition(s, {
          plan: this.plan.fn,
          page: this.pageWorkflow.stateMachine,
          poll: this.poll.fn,
          result: this.result.fn,
          record: tasks.record.fn,
        }),
    });

    // Waiting for a page (startExecution.sync:2) means describing and, on a timeout, stopping
    // the page workflow's executions: IAM names executions by machine name plus a wildcard.
    const pageMachine = Stack.of(this).getLogicalId(
      this.pageWorkflow.stateMachine.node.defaultChild as CfnElement,
    );
    Validations.of(this.workflow.stateMachine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${pageMachine}"}]}]}*]`,
      reason:
        'states:DescribeExecution and states:StopExecution on the executions of the page workflow only (its name, then any execution id), as CDK grants them for a startExecution.sync:2 task; execution ids are not known before the run.',
    });

    const config = props.config;
    if (!config) return;
    for (const [name, schedule] of Object.entries(config.schedules)) {
      const edges = new Map<string, 'start' | 'stop'>();
      for (const period of schedule.periods)
        for (const action of ['start', 'stop'] as const) edges.set(awsCronExpression(period, action), action);
      const timeZone = TimeZone.of(schedule.timezone);
      let n = 0;
      const add = (expression: string, action: 'start' | 'stop' | 'enforce') => {
        this.schedules.push(
          new scheduler.Schedule(this, `${name}-${action}-${n++}`, {
            description: `fleetflow: ${action} for schedule ${name} (${expression} ${schedule.timezone})`,
            schedule: scheduler.ScheduleExpression.expression(expression, timeZone),
            target: new targets.StepFunctionsStartExecution(this.workflow.stateMachine, {
              input: scheduler.ScheduleTargetInput.fromObject(scheduleRunInput(config, name, action)),
              retryAttempts: 3,
            }),
          }),
        );
      };
      for (const [expression, action] of edges) add(expression, action);
      if (schedule.manualStart === 'enforce') add('cron(30 * ? * * *)', 'enforce');
    }
  }
}
