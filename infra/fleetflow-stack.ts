import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FleetflowConfig } from '../functions/config/schema.ts';
import { PROVIDER_IDS } from '../functions/providers/port.ts';
import { provisionDefinition } from '../workflows/provision.ts';
import { Alarms } from './constructs/alarms.ts';
import { AuditTrail } from './constructs/audit-trail.ts';
import { DataLayer } from './constructs/data-layer.ts';
import { HandlerFunction } from './constructs/handler-function.ts';
import { PowerSchedule } from './constructs/power-schedule.ts';
import { type AccountRef, ProviderAccounts } from './constructs/provider-accounts.ts';
import { Remediation } from './constructs/remediation.ts';
import { ScheduleWarnings } from './constructs/schedule-warnings.ts';
import { SealedSecrets } from './constructs/sealed-secrets.ts';
import { TaskFunctions } from './constructs/task-functions.ts';
import { WebhookApi } from './constructs/webhook-api.ts';
import { WorkflowStateMachine } from './constructs/workflow-state-machine.ts';

export interface FleetflowStackProps extends StackProps {
  /** Provider accounts to create secrets for; one `default` account per provider unless given. */
  accounts?: AccountRef[];
  tablePrefix?: string;
  /** The config file (fleetflow.config.yaml): its schedules become EventBridge Scheduler schedules. */
  config?: FleetflowConfig;
}

/** The whole of fleetflow on AWS: data, functions, workflows and triggers. */
export class FleetflowStack extends Stack {
  readonly data: DataLayer;
  readonly secrets: SealedSecrets;
  readonly tasks: TaskFunctions;
  readonly provision: WorkflowStateMachine;
  readonly webhooks: WebhookApi;
  readonly powerSchedule: PowerSchedule;
  readonly remediation: Remediation;
  readonly auditTrail: AuditTrail;
  readonly warnings: ScheduleWarnings;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: FleetflowStackProps = {}) {
    super(scope, id, props);
    this.data = new DataLayer(this, 'Data', { ...(props.tablePrefix && { tablePrefix: props.tablePrefix }) });
    // The config file's endpoint of an account (a proxy, a private API) reaches its functions too.
    const endpointOf = (ref: AccountRef) =>
      props.config?.accounts.find((a) => a.provider === ref.provider && a.account === ref.account)?.endpoint;
    const accounts = new ProviderAccounts(this, 'ProviderAccounts', {
      accounts: (props.accounts ?? PROVIDER_IDS.map((provider) => ({ provider, account: 'default' }))).map(
        (ref) => ({ ...ref, ...(endpointOf(ref) && { endpoint: endpointOf(ref) }) }),
      ),
    });
    this.secrets = new SealedSecrets(this, 'Secrets', { data: this.data });
    this.tasks = new TaskFunctions(this, 'Tasks', { data: this.data, accounts, secrets: this.secrets });
    const t = this.tasks;
    this.provision = new WorkflowStateMachine(this, 'Provision', {
      name: 'provision',
      timeout: Duration.hours(3),
      definition: (scope) =>
        provisionDefinition(scope, {
          validate: t.validate.fn,
          create: t.create.fn,
          action: t.action.fn,
          poll: t.poll.fn,
          record: t.record.fn,
          compensate: t.compensate.fn,
        }),
    });
    this.webhooks = new WebhookApi(this, 'Webhooks', {
      data: this.data,
      provision: this.provision.stateMachine,
      secrets: this.secrets,
    });
    new CfnOutput(this, 'ApiUrl', {
      value: this.webhooks.api.apiEndpoint,
      description: 'POST /webhooks/provision, GET /jobs/{id}',
    });
    new CfnOutput(this, 'WebhookSecretName', { value: 'fleetflow/webhook' });
    this.powerSchedule = new PowerSchedule(this, 'PowerSchedule', {
      data: this.data,
      accounts,
      tasks: t,
      ...(props.config && { config: props.config }),
    });
    // Event-based remediation (workflows, EventBridge rule, POST /webhooks/alert, sweeps).
    this.remediation = new Remediation(this, 'Remediation', {
      data: this.data,
      accounts,
      tasks: t,
      api: this.webhooks.api,
      webhookSecret: this.webhooks.webhookSecret,
      ...(props.config && { config: props.config }),
    });

    // Warnings before stops, and the snooze links in them.
    this.warnings = new ScheduleWarnings(this, 'Warnings', {
      data: this.data,
      accounts,
      api: this.webhooks.api,
      sweep: this.remediation.sweep,
      ...(props.config && { config: props.config }),
    });

    // The audit keys and checkpoints: every function that appends audit events gets the chain key
    // (by ARN); every workflow's end checkpoints its job (test/infra/audit-trail.test.ts holds both).
    const workflows = this.node
      .findAll()
      .filter((c): c is WorkflowStateMachine => c instanceof WorkflowStateMachine)
      .map((w) => w.stateMachine);
    this.auditTrail = new AuditTrail(this, 'AuditTrail', {
      data: this.data,
      ...(props.tablePrefix && { tablePrefix: props.tablePrefix }),
      stateMachines: workflows,
    });
    for (const fn of [
      t.create,
      t.action,
      t.compensate,
      this.powerSchedule.plan,
      this.powerSchedule.act,
      this.warnings.snooze,
      ...(this.warnings.snoozeSlack ? [this.warnings.snoozeSlack] : []),
    ]) {
      this.auditTrail.grantAppend(fn.fn);
    }
    // Alarms on every workflow and every function of the stack, found in the construct
    // tree so constructs added above get theirs too. Keep this last.
    const all = this.node.findAll();
    const fns = all.filter((c): c is HandlerFunction => c instanceof HandlerFunction);
    const name = (c: { node: { path: string } }) => c.node.path.slice(this.node.path.length + 1);
    this.alarms = new Alarms(this, 'Alarms', {
      stateMachines: Object.fromEntries(
        all
          .filter((c): c is WorkflowStateMachine => c instanceof WorkflowStateMachine)
          .map((w) => [name(w), w.stateMachine]),
      ),
      functions: Object.fromEntries(fns.map((f) => [name(f), f.fn])),
      deadLetterQueues: Object.fromEntries(
        fns.flatMap((f) => (f.deadLetterQueue ? [[name(f), f.deadLetterQueue]] : [])),
      ),
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarms.topic.topicArn,
      description: 'Subscribe to get alarms: failed/timed-out executions, function errors and throttles',
    });
  }
}
