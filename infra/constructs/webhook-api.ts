import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DataLayer } from './data-layer.ts';
import { HandlerFunction } from './handler-function.ts';

/**
 * The HTTP front door: POST /webhooks/provision (authenticated by its Standard Webhooks
 * signature, not by API Gateway) and GET /jobs, /jobs/{id}. Throttled, with access logs.
 */
export class WebhookApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly webhookSecret: secretsmanager.Secret;
  readonly provisionFunction: HandlerFunction;
  readonly jobsFunction: HandlerFunction;

  constructor(scope: Construct, id: string, props: { data: DataLayer; provision: sfn.IStateMachine }) {
    super(scope, id);
    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      secretName: 'fleetflow/webhook',
      description: 'Standard Webhooks signing secrets: {"secrets":["whsec_…"]}; two while rotating',
    });
    Validations.of(this.webhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The webhook signing secret is shared with the webhook senders (provider, monitoring), who must be given each new one; rotation is manual and overlap-safe: the secret holds a list, both old and new are accepted while senders switch (docs/deploy.md).',
    });
    this.provisionFunction = new HandlerFunction(this, 'Provision', {
      entry: 'functions/handlers/webhook-provision.ts',
      description: 'Verifies a provisioning webhook and starts its workflow',
      invokedSynchronouslyBy:
        'API Gateway (HTTP API Lambda proxy integration; errors become HTTP 5xx to the sender, who retries)',
      environment: {
        ...props.data.environment(),
        FLEETFLOW_PROVISION_STATE_MACHINE_ARN: props.provision.stateMachineArn,
        FLEETFLOW_WEBHOOK_SECRET_ARN: this.webhookSecret.secretArn,
      },
    });
    props.provision.grantStartExecution(this.provisionFunction.fn);
    props.data.grantJobsWrite(this.provisionFunction.fn);
    props.data.grantIdempotency(this.provisionFunction.fn);
    this.webhookSecret.grantRead(this.provisionFunction.fn);

    this.jobsFunction = new HandlerFunction(this, 'Jobs', {
      entry: 'functions/handlers/jobs-api.ts',
      description: 'Reads jobs and their audit trail',
      invokedSynchronouslyBy:
        'API Gateway (HTTP API Lambda proxy integration; errors become HTTP 5xx to the caller)',
      environment: props.data.environment(),
    });
    props.data.grantJobsRead(this.jobsFunction.fn);
    props.data.grantAuditRead(this.jobsFunction.fn);

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.HttpApi(this, 'Api', { description: 'fleetflow webhooks and jobs API' });
    const stage = this.api.defaultStage?.node.defaultChild as apigw.CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
      }),
    };
    stage.defaultRouteSettings = { throttlingBurstLimit: 50, throttlingRateLimit: 20 };
    const [webhookRoute] = this.api.addRoutes({
      path: '/webhooks/provision',
      methods: [apigw.HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('ProvisionIntegration', this.provisionFunction.fn),
    });
    if (webhookRoute) {
      Validations.of(webhookRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Webhook senders (cloud providers, monitoring) cannot sign with SigV4 or get a JWT; every request is authenticated by its Standard Webhooks HMAC signature (with timestamp tolerance and webhook-id replay protection), verified by the function before anything is read or started.',
      });
    }
    // The jobs API shows jobs and their audit trail, so it is not public: callers sign
    // their requests with SigV4 (IAM authorization; grant execute-api:Invoke to operators).
    const jobs = new integrations.HttpLambdaIntegration('JobsIntegration', this.jobsFunction.fn);
    const iamAuth = new authorizers.HttpIamAuthorizer();
    this.api.addRoutes({
      path: '/jobs',
      methods: [apigw.HttpMethod.GET],
      integration: jobs,
      authorizer: iamAuth,
    });
    this.api.addRoutes({
      path: '/jobs/{id}',
      methods: [apigw.HttpMethod.GET],
      integration: jobs,
      authorizer: iamAuth,
    });
  }
}
