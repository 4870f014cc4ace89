import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/config/load.ts';
import { ENTRY_METADATA } from '../../infra/binding.ts';
import { FleetflowStack } from '../../infra/fleetflow-stack.ts';
import { testApp } from '../infra/synth.ts';

/**
 * The AWS side of warnings and idle stops, on the real stack synthesized from a config with warn
 * schedules and an idle policy: one EventBridge Scheduler schedule per stop time moved back by
 * `warn` (day wrap included) in the schedule's timezone, carrying the scheduled time; the snooze
 * routes reachable without IAM (their token is the credential) and nothing else newly open; each
 * new function with exactly the grants it needs; and cdk-nag (AwsSolutions, Serverless) clean.
 */

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  Metadata?: Json;
}

const TOPIC = 'arn:aws:sns:eu-central-1:123456789012:fleet-warnings';
const config = validateConfig({
  accounts: [
    { provider: 'gcore', locations: ['1/76'] },
    { provider: 'exoscale', locations: ['ch-gva-2'] },
  ],
  schedules: {
    office: {
      timezone: 'Europe/Zurich',
      periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', stop: '18:00' }],
      targets: [{ provider: 'exoscale', labels: { app: 'shop' } }],
      warn: { before: '30m', notifications: [{ type: 'sns', topicArn: TOPIC }] },
    },
    // A stop just after midnight: its warning falls on the day before.
    late: {
      timezone: 'America/Toronto',
      periods: [{ days: ['fri'], start: '20:00', stop: '00:15' }],
      targets: [{ provider: 'gcore', labels: { app: 'batch' } }],
      warn: { before: '45m', notifications: [{ type: 'slack', urlEnv: 'BATCH_SLACK_URL' }] },
    },
  },
  policies: [
    {
      name: 'idle-stop',
      mode: 'periodic',
      every: '1h',
      scope: [{ provider: 'gcore', locations: ['1/76'] }],
      filters: { idle: { cpuBelow: '5%', for: '2h' } },
      actions: ['stop'],
      warn: { before: '30m', notifications: [{ type: 'sns', topicArn: `${TOPIC}-idle` }] },
    },
  ],
});

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const c of cleanups) c();
});

let stack: FleetflowStack;
let resources: Record<string, Resource>;
let findings: string[] = [];

beforeAll(() => {
  const { app, outdir, cleanup } = testApp();
  cleanups.push(cleanup);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  stack = new FleetflowStack(app, 'Fleetflow', { config });
  try {
    app.synth();
  } catch (error) {
    const report = join(outdir, 'validation-report.json');
    if (!existsSync(report)) throw error;
    const json = JSON.parse(readFileSync(report, 'utf8')) as {
      pluginReports: Array<{
        violations: Array<{ ruleName: string; violatingResources?: Array<{ constructPath: string }> }>;
      }>;
    };
    findings = json.pluginReports.flatMap((p) =>
      p.violations.flatMap((v) =>
        (v.violatingResources ?? []).map((r) => `${v.ruleName} at ${r.constructPath}`),
      ),
    );
  }
  resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
}, 120_000);

const id = (c: { node: { defaultChild?: unknown } }) =>
  Stack.of(stack).getLogicalId(c.node.defaultChild as CfnElement);

describe('warnings and idle stops on AWS', () => {
  it('passes cdk-nag with nothing left unacknowledged', () => {
    expect(findings, findings.join('\n')).toEqual([]);
  });

  it('schedules each warning at the stop minus warn, in the schedule timezone, with the scheduled time', () => {
    const warnMachine = id(stack.warnings.workflow.stateMachine);
    const schedules = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::Scheduler::Schedule' &&
        JSON.stringify((r.Properties.Target as Json).Arn).includes(warnMachine),
    );
    const byExpression = Object.fromEntries(
      schedules.map((s) => [s.Properties.ScheduleExpression as string, s.Properties]),
    );
    expect(Object.keys(byExpression).sort()).toEqual([
      'cron(30 17 ? * MON,TUE,WED,THU,FRI *)',
      'cron(30 23 ? * FRI *)',
    ]);
    expect(byExpression['cron(30 17 ? * MON,TUE,WED,THU,FRI *)']!.ScheduleExpressionTimezone).toBe(
      'Europe/Zurich',
    );
    expect(byExpression['cron(30 23 ? * FRI *)']!.ScheduleExpressionTimezone).toBe('America/Toronto');
    const input = JSON.parse(
      (byExpression['cron(30 17 ? * MON,TUE,WED,THU,FRI *)']!.Target as Json).Input as string,
    ) as {
      schedule: string;
      at: string;
      config: { notifications: unknown[]; schedules: Record<string, unknown> };
    };
    expect(input).toMatchObject({
      schedule: 'office',
      at: '<aws.scheduler.scheduled-time>',
      config: { notifications: [{ type: 'sns', topicArn: TOPIC }] },
    });
    expect(Object.keys(input.config.schedules)).toEqual(['office']);
  });

  it('opens GET and POST /snooze without IAM, and no other new route', () => {
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const open = routes
      .filter((r) => (r.Properties.AuthorizationType ?? 'NONE') === 'NONE')
      .map((r) => r.Properties.RouteKey)
      .sort();
    expect(open).toEqual([
      'GET /snooze',
      'POST /snooze',
      'POST /snooze/slack',
      'POST /webhooks/alert',
      'POST /webhooks/provision',
    ]);
  });

  it('gives the snooze and warn functions exactly what they need', () => {
    const grants = (entry: string) => {
      const fn = Object.values(resources).find(
        (r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.[ENTRY_METADATA] === entry,
      )!;
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
      const statements = Object.values(resources)
        .filter(
          (r) =>
            r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as Json[]).some((x) => x.Ref === roleId),
        )
        .flatMap(
          (p) =>
            (
              p.Properties.PolicyDocument as {
                Statement: Array<{ Action: string | string[]; Resource: unknown }>;
              }
            ).Statement,
        );
      return {
        actions: [...new Set(statements.flatMap((s) => [s.Action].flat()))].sort(),
        json: JSON.stringify(statements),
      };
    };
    const key = id(stack.warnings.snoozeKey);
    const snooze = grants('functions/handlers/snooze.ts');
    expect(snooze.actions).toEqual([
      // Writing jobs includes their items table (results are written in batches).
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    // The key it verifies with, and no provider's credentials.
    expect(snooze.json).toContain(key);
    expect(snooze.json).not.toMatch(/ProviderAccounts/);
    // Slack's clicks: the key, the Slack signing secret, the override tables; no provider.
    const slack = grants('functions/handlers/snooze-slack.ts');
    expect(slack.actions).toEqual(snooze.actions);
    expect(slack.json).toContain(id(stack.warnings.slackSigningSecret!));
    expect(slack.json).not.toMatch(/ProviderAccounts/);
    const warn = grants('functions/handlers/schedule-warn.ts');
    expect(warn.actions).toEqual(
      expect.arrayContaining(['events:PutEvents', 'sns:Publish', 'secretsmanager:GetSecretValue']),
    );
    expect(warn.actions).not.toContain('states:StartExecution');
    expect(warn.json).toContain(TOPIC);
    expect(warn.json.match(/arn:aws:sns/g)).toHaveLength(1);
    // The sweep stores its samples of counter providers (the idempotency table) and, for a policy
    // with warn, signs links with the key and publishes to that policy's topic only.
    const sweep = grants('functions/handlers/remediation-sweep.ts');
    expect(sweep.json).toContain(id(stack.data.idempotencyTable));
    expect(sweep.json).toContain(key);
    expect(sweep.json).toContain(`${TOPIC}-idle`);
    expect(sweep.json.match(/arn:aws:sns/g)).toHaveLength(1);
    const sweepFn = Object.values(resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        r.Metadata?.[ENTRY_METADATA] === 'functions/handlers/remediation-sweep.ts',
    )!;
    const variables = (sweepFn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining(['FLEETFLOW_SNOOZE_KEY_ARN', 'FLEETFLOW_PUBLIC_URL', 'FLEETFLOW_NOTIFICATIONS']),
    );
  });

  it('keeps the snooze key out of the template', () => {
    const secret = resources[id(stack.warnings.snoozeKey)]!;
    expect(secret.Properties.SecretString).toBeUndefined();
    expect(secret.Properties.GenerateSecretString).toMatchObject({
      GenerateStringKey: 'key',
      PasswordLength: 64,
    });
  });
});
