import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { markHandler } from '../../local/binding.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface HandlerFunctionProps {
  /** Module path from the repository root, e.g. `functions/handlers/instance-create.ts`. */
  entry: string;
  description: string;
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
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

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
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
    markHandler(this.fn, props.entry);
  }
}
