import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PROVIDER_IDS } from '../functions/providers/port.ts';
import { provisionDefinition } from '../workflows/provision.ts';
import { DataLayer } from './constructs/data-layer.ts';
import { type AccountRef, ProviderAccounts } from './constructs/provider-accounts.ts';
import { TaskFunctions } from './constructs/task-functions.ts';
import { WebhookApi } from './constructs/webhook-api.ts';
import { WorkflowStateMachine } from './constructs/workflow-state-machine.ts';

export interface FleetflowStackProps extends StackProps {
  /** Provider accounts to create secrets for; one `default` account per provider unless given. */
  accounts?: AccountRef[];
  tablePrefix?: string;
}

/** The whole of fleetflow on AWS: data, functions, workflows and triggers. */
export class FleetflowStack extends Stack {
  readonly data: DataLayer;
  readonly tasks: TaskFunctions;
  readonly provision: WorkflowStateMachine;
  readonly webhooks: WebhookApi;

  constructor(scope: Construct, id: string, props: FleetflowStackProps = {}) {
    super(scope, id, props);
    this.data = new DataLayer(this, 'Data', { ...(props.tablePrefix && { tablePrefix: props.tablePrefix }) });
    const accounts = new ProviderAccounts(this, 'ProviderAccounts', {
      accounts: props.accounts ?? PROVIDER_IDS.map((provider) => ({ provider, account: 'default' })),
    });
    this.tasks = new TaskFunctions(this, 'Tasks', { data: this.data, accounts });
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
    this.webhooks = new WebhookApi(this, 'Webhooks', { data: this.data, provision: this.provision.stateMachine });
    new CfnOutput(this, 'ApiUrl', { value: this.webhooks.api.apiEndpoint, description: 'POST /webhooks/provision, GET /jobs/{id}' });
    new CfnOutput(this, 'WebhookSecretName', { value: 'fleetflow/webhook' });
  }
}
