import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AUDIT_KEY_ENV, auditSecretName } from '../../functions/runtime/audit-key.ts';
import { CHECKPOINT_INTERVAL_MS } from '../../functions/store/audit-checkpoints.ts';
import type { AuditKeyPurpose } from '../../functions/store/audit-keys.ts';
import type { DataLayer } from './data-layer.ts';
import { HandlerFunction } from './handler-function.ts';

export interface AuditTrailProps {
  data: DataLayer;
  /** The data layer's table prefix: the secrets are `<prefix>/audit/chain-key` and `…/checkpoint-key`. */
  tablePrefix?: string;
  /** The workflows whose end checkpoints their job's chains. */
  stateMachines: sfn.IStateMachine[];
}

/**
 * What makes the audit trail hard to forge or truncate on AWS: the two keys as Secrets Manager
 * secrets the stack generates (the chain key, read by the functions that append and by whoever
 * verifies; the checkpoint key, read only by the checkpoint function and whoever verifies), and
 * the checkpoint function, run every 5 minutes by an EventBridge schedule and at the end of every
 * workflow execution by an EventBridge rule on Step Functions' status-change events (delivered
 * "best effort", which the periodic run backs up). No key ever sits in an environment value: the
 * functions get the secrets' ARNs.
 */
export class AuditTrail extends Construct {
  readonly chainKey: secretsmanager.Secret;
  readonly checkpointKey: secretsmanager.Secret;
  readonly checkpointer: HandlerFunction;
  readonly periodic: events.Rule;
  readonly jobEnd: events.Rule;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    this.chainKey = this.#key('ChainKey', 'chain', props.tablePrefix);
    this.checkpointKey = this.#key('CheckpointKey', 'checkpoint', props.tablePrefix);

    this.checkpointer = new HandlerFunction(this, 'Checkpoint', {
      entry: 'functions/handlers/audit-checkpoint.ts',
      description: 'Writes signed audit checkpoints: chain heads at each workflow end and every 5 minutes',
      environment: {
        ...props.data.environment(),
        [AUDIT_KEY_ENV.checkpoint]: this.checkpointKey.secretArn,
      },
      // The first run adopts every chain in the table with one scan.
      timeout: Duration.minutes(5),
      memorySize: 512,
    });
    const fn = this.checkpointer.fn;
    // Reads chains (Query, Scan for the first adoption), writes checkpoints (conditional PutItem).
    props.data.grantAuditAppend(fn);
    props.data.grantAuditRead(fn);
    this.checkpointKey.grantRead(fn);

    // Both triggers invoke asynchronously: failed deliveries end in the function's dead-letter queue.
    const target = (event?: Record<string, unknown>) =>
      new eventTargets.LambdaFunction(fn, {
        ...(event && { event: events.RuleTargetInput.fromObject(event) }),
        retryAttempts: 4,
        maxEventAge: Duration.hours(1),
        ...(this.checkpointer.deadLetterQueue && { deadLetterQueue: this.checkpointer.deadLetterQueue }),
      });
    // An EventBridge schedule rule: it invokes through the function's resource policy, no role needed.
    this.periodic = new events.Rule(this, 'Periodic', {
      description: 'fleetflow: checkpoint every audit chain that changed',
      schedule: events.Schedule.rate(Duration.millis(CHECKPOINT_INTERVAL_MS)),
      targets: [target({ checkpoint: 'periodic' })],
    });
    this.jobEnd = new events.Rule(this, 'JobEnd', {
      description: 'fleetflow: checkpoint a job’s audit chains when its workflow ends',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: props.stateMachines.map((s) => s.stateMachineArn),
        },
      },
      targets: [target()],
    });
  }

  /** A function that appends audit events: it gets the chain key's ARN and may read the secret. */
  grantAppend(fn: lambda.Function): void {
    fn.addEnvironment(AUDIT_KEY_ENV.chain, this.chainKey.secretArn);
    this.chainKey.grantRead(fn);
  }

  #key(id: string, purpose: AuditKeyPurpose, tablePrefix?: string): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, id, {
      secretName: auditSecretName(purpose, tablePrefix),
      description: `fleetflow audit ${purpose} key: {"key":"…","previous":["…"]} (generated; see docs/data-model.md)`,
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'key',
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: `The audit ${purpose} key must keep verifying every record signed with it: a rotation function that replaced the value would make old chains unverifiable. Rotation is a deliberate, additive step: a new "key" with the old one moved to "previous" (docs/data-model.md).`,
    });
    return secret;
  }
}
