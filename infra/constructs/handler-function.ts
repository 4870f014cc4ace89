import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { markHandler } from '../binding.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface HandlerFunctionProps {
  /** Module path from the repository root, e.g. `functions/handlers/instance-create.ts`. */
  entry: string;
  description: string;
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  /**
   * Who invokes the function synchronously, e.g. `Step Functions (lambda:invoke, RequestResponse)`.
   * A synchronous caller gets every error back (and retries or reports it), so such a function needs
   * no dead-letter queue. Leave it out for a function invoked asynchronously (EventBridge, SNS, S3,
   * `InvocationType: Event`): it then gets an encrypted SQS dead-letter queue for the events
   * Lambda gives up on after its own retries.
   */
  invokedSynchronouslyBy?: string;
}

/**
 * One Lambda function of fleetflow, always built the same way: NodejsFunction bundled by the local
 * esbuild (no Docker), ESM, minified with source maps, the AWS SDK v3 taken from the runtime,
 * arm64 on the current Node.js runtime, JSON logs kept for a month, X-Ray tracing. It also tells
 * the local engine which module implements it (markHandler), so `fleetflow start` runs the same
 * handler in-process.
 */
export class HandlerFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  /** Where failed asynchronous invocations go; only for functions not invoked synchronously. */
  readonly deadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of the AWSLambdaBasicExecutionRole managed policy (which
    // allows logs:CreateLogGroup/PutLogEvents on every log group): this function may only write to
    // its own log group. Grants (tables, secrets, X-Ray) are added to this role's default policy.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.entry}: its own log group, X-Ray, and the grants its handler needs`,
    });
    logGroup.grantWrite(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only xray:PutTraceSegments and xray:PutTelemetryRecords (Tracing.ACTIVE) use Resource "*": X-Ray has no resource-level permissions for them. test/infra/permissions.test.ts checks that nothing else is granted on "*".',
    });
    if (props.invokedSynchronouslyBy === undefined) {
      this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const reason =
        'This queue is itself the dead-letter queue of a Lambda function: nothing consumes it automatically (a person inspects and redrives it after the DLQ alarm), so it needs no dead-letter queue or redrive policy of its own.';
      Validations.of(this.deadLetterQueue).acknowledge(
        { id: 'AwsSolutions-SQS3', reason },
        { id: 'Serverless-SQSRedrivePolicy', reason },
      );
    }
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: `${REPO_ROOT}${props.entry}`,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(60),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        FLEETFLOW_LOG_LEVEL: 'info',
        ...props.environment,
      },
      logGroup,
      role,
      ...(this.deadLetterQueue && { deadLetterQueue: this.deadLetterQueue }),
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      bundling: {
        format: nodejs.OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: 'node22',
        mainFields: ['module', 'main'],
        externalModules: ['@aws-sdk/*'],
        // ESM bundles still meet CommonJS dependencies that call require().
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });
    if (props.invokedSynchronouslyBy !== undefined) {
      Validations.of(this.fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: `Invoked synchronously by ${props.invokedSynchronouslyBy}: the caller receives every error and handles it, and Lambda sends only failed asynchronous invocations to a dead-letter queue, so one would stay empty.`,
      });
    }
    markHandler(this.fn, props.entry);
  }
}
