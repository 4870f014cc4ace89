import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { FleetflowConfig } from '../../functions/config/schema.ts';
import {
  WARN_MACHINE,
  warnAwsCronExpression,
  warnRunInput,
  warnSeconds,
  warnTargets,
} from '../../functions/schedule/warn.ts';
import { scheduleWarnDefinition } from '../../workflows/schedule-warn.ts';
import type { DataLayer } from './data-layer.ts';
import { HandlerFunction } from './handler-function.ts';
import type { ProviderAccounts } from './provider-accounts.ts';
import { WorkflowStateMachine } from './workflow-state-machine.ts';

export interface ScheduleWarningsProps {
  data: DataLayer;
  accounts: ProviderAccounts;
  /** The HTTP API the snooze links point at. */
  api: apigw.HttpApi;
  /** The config file: schedules with `warn` get their warn schedules; none without it. */
  config?: FleetflowConfig;
  /** The remediation sweep's function, for periodic policies with `warn`. */
  sweep?: HandlerFunction;
  eventBus?: string;
}

/**
 * Warnings before stops and their snooze links: the key that signs the links (generated, held in
 * Secrets Manager, never in the template), the warn workflow and its function, one EventBridge
 * Scheduler schedule per stop edge of each schedule with `warn` (at the stop minus `before`, in
 * the schedule's timezone), and GET/POST /snooze on the HTTP API for the links.
 */
export class ScheduleWarnings extends Construct {
  /** Present when a warning goes to Slack: the app's signing secret (its value set by you). */
  slackSigningSecret?: secretsmanager.Secret;
  snoozeSlack?: HandlerFunction;
  readonly snoozeKey: secretsmanager.Secret;
  readonly warn: HandlerFunction;
  readonly snooze: HandlerFunction;
  readonly workflow: WorkflowStateMachine;
  readonly schedules: scheduler.Schedule[] = [];

  constructor(scope: Construct, id: string, props: ScheduleWarningsProps) {
    super(scope, id);
    const { data, accounts } = props;
    const bus = props.eventBus ?? 'default';
    this.snoozeKey = new secretsmanager.Secret(this, 'SnoozeKey', {
      description: 'Signs the snooze links of schedule warnings: {"key":"…"} or {"keys":["snk_…",…]}',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'key',
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    Validations.of(this.snoozeKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The snooze-link key is generated at deploy and only ever read by the warn and snooze functions; rotation is manual and overlap-safe ({"keys":[new, old]}: the first signs, all verify), since a rotation Lambda would invalidate links in notices already sent (docs/deploy.md).',
    });

    this.warn = new HandlerFunction(this, 'Warn', {
      entry: 'functions/handlers/schedule-warn.ts',
      description: 'Warns the owners of the instances a schedule will stop, with snooze links',
      environment: {
        ...data.environment(),
        ...accounts.environment(),
        FLEETFLOW_SNOOZE_KEY_ARN: this.snoozeKey.secretArn,
        FLEETFLOW_PUBLIC_URL: props.api.apiEndpoint,
        FLEETFLOW_EVENT_BUS: bus,
      },
      timeout: Duration.seconds(120),
      memorySize: 512,
      invokedSynchronouslyBy:
        'Step Functions (lambda:invoke, RequestResponse; errors reach the workflow Catch)',
    });
    accounts.grantRead(this.warn.fn);
    data.grantJobsWrite(this.warn.fn);
    data.grantIdempotency(this.warn.fn);
    this.snoozeKey.grantRead(this.warn.fn);
    this.warn.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [
          Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: bus }),
        ],
      }),
    );
    // SNS targets of the warnings: publish to exactly those topics.
    const topics = new Set<string>();
    for (const name of Object.keys(props.config?.schedules ?? {}))
      if (props.config?.schedules[name]?.warn)
        for (const t of warnTargets(props.config, name)) if (t.type === 'sns') topics.add(t.topicArn);
    if (topics.size > 0)
      this.warn.fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [...topics] }),
      );

    this.workflow = new WorkflowStateMachine(this, 'Workflow', {
      name: WARN_MACHINE,
      timeout: Duration.minutes(15),
      definition: (s) => scheduleWarnDefinition(s, { warn: this.warn.fn }),
    });

    this.snooze = new HandlerFunction(this, 'Snooze', {
      entry: 'functions/handlers/snooze.ts',
      description: "Answers a warning's snooze links: shows what a link does, creates its override",
      environment: { ...data.environment(), FLEETFLOW_SNOOZE_KEY_ARN: this.snoozeKey.secretArn },
      invokedSynchronouslyBy:
        'API Gateway (HTTP API Lambda proxy integration; errors become HTTP 5xx to the browser)',
    });
    data.grantJobsWrite(this.snooze.fn);
    data.grantAuditAppend(this.snooze.fn);
    data.grantIdempotency(this.snooze.fn);
    this.snoozeKey.grantRead(this.snooze.fn);
    const routes = props.api.addRoutes({
      path: '/snooze',
      methods: [apigw.HttpMethod.GET, apigw.HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('SnoozeIntegration', this.snooze.fn),
    });
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Snooze links are opened from a notification by people who have no AWS identity: each request is authorized by its own token, an HMAC-signed, single-purpose claim (schedule, stop, choice, warning group) that expires at the stop, verified by the function before anything is read; GET only shows a page, POST acts.',
      });
    }

    const config = props.config;
    if (!config) return;
    // Slack targets: Slack posts button clicks to POST /snooze/slack, signed with the app's secret.
    const slackTargets = [
      ...Object.keys(config.schedules).flatMap((n) =>
        config.schedules[n]?.warn ? warnTargets(config, n) : [],
      ),
      ...config.policies.flatMap((p) => (p.warn ? (p.warn.notifications ?? config.notifications) : [])),
    ].some((t) => t.type === 'slack');
    if (slackTargets) this.#slackRoute(props);
    // Periodic policies with `warn`: their sweeps send the notices, with links signed by this key.
    const warned = config.policies.filter((p) => p.warn);
    if (warned.length > 0 && props.sweep) {
      const fn = props.sweep.fn;
      fn.addEnvironment('FLEETFLOW_SNOOZE_KEY_ARN', this.snoozeKey.secretArn);
      fn.addEnvironment('FLEETFLOW_PUBLIC_URL', props.api.apiEndpoint);
      fn.addEnvironment('FLEETFLOW_NOTIFICATIONS', JSON.stringify(config.notifications));
      this.snoozeKey.grantRead(fn);
      const policyTopics = new Set<string>();
      for (const p of warned)
        for (const t of p.warn?.notifications ?? config.notifications)
          if (t.type === 'sns') policyTopics.add(t.topicArn);
      if (policyTopics.size > 0)
        fn.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [...policyTopics] }),
        );
    }
    for (const [name, schedule] of Object.entries(config.schedules)) {
      if (!schedule.warn) continue;
      const before = warnSeconds(schedule.warn);
      const expressions = new Set(schedule.periods.map((p) => warnAwsCronExpression(p, before)));
      let n = 0;
      for (const expression of expressions) {
        this.schedules.push(
          new scheduler.Schedule(this, `${name}-warn-${n++}`, {
            description: `fleetflow: warning ${schedule.warn.before} before each stop of schedule ${name} (${expression} ${schedule.timezone})`,
            schedule: scheduler.ScheduleExpression.expression(expression, TimeZone.of(schedule.timezone)),
            target: new targets.StepFunctionsStartExecution(this.workflow.stateMachine, {
              input: scheduler.ScheduleTargetInput.fromObject({
                ...warnRunInput(config, name, {
                  trigger: {
                    type: 'schedule',
                    actor: 'eventbridge-scheduler',
                    source: `warning for ${name}`,
                  },
                }),
                // The time the warning was due, as the local scheduler passes it: a late delivery
                // still warns about the right stop.
                at: scheduler.ContextAttribute.scheduledTime,
              }),
              retryAttempts: 3,
            }),
          }),
        );
      }
    }
  }

  #slackRoute(props: ScheduleWarningsProps): void {
    this.slackSigningSecret = new secretsmanager.Secret(this, 'SlackSigningSecret', {
      description:
        'The Slack app signing secret for warning buttons: {"secrets":["…"]} (set the value yourself)',
    });
    Validations.of(this.slackSigningSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The Slack signing secret is issued by Slack for the user's Slack app and can only be rotated in Slack's app settings; the secret holds a list, so old and new are both accepted while it changes (docs/deploy.md).",
    });
    this.snoozeSlack = new HandlerFunction(this, 'SnoozeSlack', {
      entry: 'functions/handlers/snooze-slack.ts',
      description: 'Applies a snooze from a Slack button click (signed by Slack, carrying its token)',
      environment: {
        ...props.data.environment(),
        FLEETFLOW_SNOOZE_KEY_ARN: this.snoozeKey.secretArn,
        FLEETFLOW_SLACK_SIGNING_SECRET_ARN: this.slackSigningSecret.secretArn,
      },
      invokedSynchronouslyBy: 'API Gateway (HTTP API Lambda proxy integration; Slack retries a failed click)',
    });
    props.data.grantJobsWrite(this.snoozeSlack.fn);
    props.data.grantAuditAppend(this.snoozeSlack.fn);
    props.data.grantIdempotency(this.snoozeSlack.fn);
    this.snoozeKey.grantRead(this.snoozeSlack.fn);
    this.slackSigningSecret.grantRead(this.snoozeSlack.fn);
    for (const route of props.api.addRoutes({
      path: '/snooze/slack',
      methods: [apigw.HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('SnoozeSlackIntegration', this.snoozeSlack.fn),
    })) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          "Slack cannot sign with SigV4: every click is authenticated by Slack's own HMAC signature with a five-minute timestamp tolerance, and carries a signed snooze token the function verifies too, before anything is read or written.",
      });
    }
  }
}
