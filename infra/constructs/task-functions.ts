import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { DataLayer } from './data-layer.ts';
import { HandlerFunction } from './handler-function.ts';
import type { ProviderAccounts } from './provider-accounts.ts';

/**
 * The functions the workflows' tasks call. Each gets only the grants its handler needs: the
 * recorders never see provider credentials, the pollers never append audit events.
 */
export class TaskFunctions extends Construct {
  readonly validate: HandlerFunction;
  readonly create: HandlerFunction;
  readonly action: HandlerFunction;
  readonly poll: HandlerFunction;
  readonly record: HandlerFunction;
  readonly compensate: HandlerFunction;

  constructor(scope: Construct, id: string, props: { data: DataLayer; accounts: ProviderAccounts }) {
    super(scope, id);
    const { data, accounts } = props;
    const environment = { ...data.environment(), ...accounts.environment() };
    const make = (cid: string, file: string, description: string) =>
      new HandlerFunction(this, cid, {
        entry: `functions/handlers/${file}.ts`,
        description,
        environment,
        // Task functions are only ever called by the workflows' LambdaInvoke tasks.
        invokedSynchronouslyBy:
          'Step Functions (lambda:invoke, RequestResponse; errors reach the workflow Retry/Catch)',
      });

    this.validate = make(
      'Validate',
      'provision-validate',
      'Checks a provisioning request and starts its job',
    );
    this.create = make('Create', 'instance-create', 'Creates an instance, at most once per job');
    this.action = make('Action', 'instance-action', 'Runs one provider action on an instance');
    this.poll = make('Poll', 'await-progress', 'Polls asynchronous provider work once');
    this.record = make('Record', 'job-record', 'Records a workflow outcome on its job');
    this.compensate = make('Compensate', 'provision-compensate', 'Cleans up after a failed provisioning');

    const providerCallers: iam.IGrantable[] = [
      this.validate.fn,
      this.create.fn,
      this.action.fn,
      this.poll.fn,
      this.compensate.fn,
    ];
    for (const fn of providerCallers) accounts.grantRead(fn);
    for (const fn of [...providerCallers, this.record.fn]) data.grantJobsWrite(fn);
    for (const fn of [this.create.fn, this.action.fn, this.compensate.fn]) data.grantAuditAppend(fn);
    for (const fn of [this.create.fn, this.action.fn]) data.grantIdempotency(fn);
  }
}
