import type { CfnElement } from 'aws-cdk-lib';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_METADATA } from '../../infra/binding.ts';
import { FleetflowStack } from '../../infra/fleetflow-stack.ts';
import { testApp } from './synth.ts';

/**
 * Template assertions on the real stack: what each function's role may do, and the settings a
 * platform team checks first (PITR, deletion protection, logs, tracing, runtime, retention,
 * alarms, API authorization).
 */

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  Metadata?: Json;
  DeletionPolicy?: string;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

let template: Template;
let resources: Record<string, Resource>;
let stack: FleetflowStack;
const { app, cleanup } = testApp();
afterAll(cleanup);

/** Logical id → readable name of what a policy resource points at. */
let names: Map<string, string>;

beforeAll(() => {
  stack = new FleetflowStack(app, 'Fleetflow');
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
  const id = (c: { node: { defaultChild?: unknown } }) =>
    Stack.of(stack).getLogicalId(c.node.defaultChild as CfnElement);
  names = new Map<string, string>([
    [id(stack.data.jobsTable), 'jobs'],
    [id(stack.data.jobItemsTable), 'job-items'],
    [id(stack.data.auditTable), 'audit'],
    [id(stack.data.idempotencyTable), 'idempotency'],
    [id(stack.data.secretsTable), 'secrets'],
    [id(stack.secrets.key), 'secrets-key'],
    [id(stack.webhooks.webhookSecret), 'webhook-secret'],
    [id(stack.provision.stateMachine), 'provision-sm'],
    [id(stack.auditTrail.chainKey), 'audit-chain-key'],
    [id(stack.auditTrail.checkpointKey), 'audit-checkpoint-key'],
  ]);
  for (const c of stack.node.findAll()) {
    const m = /^Fleetflow\/ProviderAccounts\/([\w-]+)$/.exec(c.node.path);
    if (m && c.node.defaultChild) names.set(id(c), `secret:${m[1]}`);
  }
});

/** A policy Resource as a readable label: `jobs`, `jobs/index/byStatus`, `own-logs`, `*`, … */
function label(resource: unknown, ownLogGroup: string): string {
  if (resource === '*') return '*';
  const r = resource as Json;
  const ref = (r.Ref as string | undefined) ?? (r['Fn::GetAtt'] as string[] | undefined)?.[0];
  if (ref) return ref === ownLogGroup ? 'own-logs' : (names.get(ref) ?? ref);
  const join = r['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map((p) => (typeof p === 'string' ? p : label(p, ownLogGroup))).join(join[0]);
  return JSON.stringify(resource);
}

/** entry (functions/handlers/x.ts) → label → sorted actions, from every policy of the function's role. */
function grantsByFunction(): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const fn of Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function')) {
    const entry = fn.Metadata?.[ENTRY_METADATA] as string;
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
    const logGroup = ((fn.Properties.LoggingConfig as Json).LogGroup as { Ref: string }).Ref;
    const grants: Record<string, Set<string>> = {};
    for (const policy of Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy')) {
      if (!(policy.Properties.Roles as Json[]).some((r) => r.Ref === roleId)) continue;
      for (const st of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        expect(st.Effect).toBe('Allow');
        for (const res of [st.Resource].flat()) {
          const key = label(res, logGroup);
          const set = grants[key] ?? new Set<string>();
          grants[key] = set;
          for (const a of [st.Action].flat()) set.add(a);
        }
      }
    }
    out[entry] = Object.fromEntries(Object.entries(grants).map(([k, v]) => [k, [...v].sort()]));
  }
  return out;
}

const LOGS = { 'own-logs': ['logs:CreateLogStream', 'logs:PutLogEvents'] };
const XRAY = { '*': ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'] };
const SECRETS = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];
const PROVIDER_SECRETS = Object.fromEntries(
  ['cloudca', 'exoscale', 'exoscale-v1', 'gcore', 'genesiscloud'].map((p) => [
    `secret:${p}-default`,
    SECRETS,
  ]),
);
const JOBS_WRITE = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];
/** A job's results and work pages (job items): written in batches, never updated or deleted. */
const ITEMS_WRITE = [
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
];
const ITEMS_READ = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'];
const JOBS = (actions: string[]) => ({
  jobs: actions,
  'jobs/index/byStatus': actions,
  'jobs/index/byTime': actions,
  'job-items': actions === JOBS_WRITE ? ITEMS_WRITE : ITEMS_READ,
});
const AUDIT = (actions: string[]) => ({ audit: actions, 'audit/index/byInstance': actions });
const AUDIT_APPEND = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'];
/** Appending audit events needs the chain key too (read from its secret, by ARN). */
const AUDIT_KEY = { 'audit-chain-key': SECRETS };
const IDEMPOTENCY = {
  idempotency: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
};

/** Sealed secrets: the ingest seals (and withdraws on a failed start), the create opens and deletes. */
const SEAL = { 'secrets-key': ['kms:GenerateDataKey'], secrets: ['dynamodb:DeleteItem', 'dynamodb:PutItem'] };
const OPEN = { 'secrets-key': ['kms:Decrypt'], secrets: ['dynamodb:DeleteItem', 'dynamodb:GetItem'] };

/** Exactly what each of the provisioning functions may do. */
const EXPECTED: Record<string, Record<string, string[]>> = {
  'functions/handlers/provision-validate.ts': { ...LOGS, ...XRAY, ...PROVIDER_SECRETS, ...JOBS(JOBS_WRITE) },
  'functions/handlers/instance-create.ts': {
    ...LOGS,
    ...XRAY,
    ...PROVIDER_SECRETS,
    ...JOBS(JOBS_WRITE),
    ...AUDIT(AUDIT_APPEND),
    ...AUDIT_KEY,
    ...IDEMPOTENCY,
    ...OPEN,
  },
  'functions/handlers/instance-action.ts': {
    ...LOGS,
    ...XRAY,
    ...PROVIDER_SECRETS,
    ...JOBS(JOBS_WRITE),
    ...AUDIT(AUDIT_APPEND),
    ...AUDIT_KEY,
    ...IDEMPOTENCY,
  },
  'functions/handlers/await-progress.ts': { ...LOGS, ...XRAY, ...PROVIDER_SECRETS, ...JOBS(JOBS_WRITE) },
  'functions/handlers/job-record.ts': {
    ...LOGS,
    ...XRAY,
    ...JOBS(JOBS_WRITE),
    secrets: ['dynamodb:DeleteItem'],
  },
  'functions/handlers/provision-compensate.ts': {
    ...LOGS,
    ...XRAY,
    ...PROVIDER_SECRETS,
    ...JOBS(JOBS_WRITE),
    ...AUDIT(AUDIT_APPEND),
    ...AUDIT_KEY,
  },
  'functions/handlers/webhook-provision.ts': {
    ...LOGS,
    ...XRAY,
    ...JOBS(JOBS_WRITE),
    ...IDEMPOTENCY,
    'provision-sm': ['states:StartExecution'],
    'webhook-secret': SECRETS,
    ...SEAL,
  },
  'functions/handlers/jobs-api.ts': {
    ...LOGS,
    ...XRAY,
    ...JOBS(['dynamodb:GetItem', 'dynamodb:Query']),
    ...AUDIT(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']),
  },
};

describe('function permissions', () => {
  it.each(Object.keys(EXPECTED))('%s has exactly the grants its handler needs', (entry) => {
    const grants = grantsByFunction();
    expect(grants[entry]).toEqual(EXPECTED[entry]);
  });

  it('the jobs API cannot write anything, read secrets or start workflows', () => {
    const actions = Object.values(grantsByFunction()['functions/handlers/jobs-api.ts']!).flat();
    expect(
      actions.filter((a) => !/^(dynamodb:(GetItem|BatchGetItem|Query|Scan)|logs:|xray:)/.test(a)),
    ).toEqual([]);
  });

  it('the recorder never sees provider credentials', () => {
    const grants = grantsByFunction()['functions/handlers/job-record.ts']!;
    expect(Object.keys(grants).filter((k) => k.startsWith('secret:'))).toEqual([]);
    expect(
      Object.values(grants)
        .flat()
        .filter((a) => a.startsWith('secretsmanager:')),
    ).toEqual([]);
  });

  it('no function can update or delete an audit event, or touch any table with a wildcard', () => {
    for (const [entry, grants] of Object.entries(grantsByFunction())) {
      for (const [res, actions] of Object.entries(grants)) {
        if (res.startsWith('audit')) {
          expect(actions, entry).not.toContain('dynamodb:UpdateItem');
          expect(actions, entry).not.toContain('dynamodb:DeleteItem');
          expect(
            actions.filter((a) => a.startsWith('dynamodb:Batch') || a.startsWith('dynamodb:Transact')),
            entry,
          ).toEqual([]);
        }
        expect(res, entry).not.toMatch(/\/index\/\*$/);
        expect(
          actions.filter((a) => a.includes('*')),
          `${entry} on ${res}`,
        ).toEqual([]);
      }
    }
  });

  it('grants nothing on "*" but X-Ray, and no managed policies', () => {
    for (const [entry, grants] of Object.entries(grantsByFunction())) {
      expect(grants['*'], entry).toEqual(XRAY['*']);
    }
    for (const [id, role] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
    }
  });

  it('lets the state machine role invoke only its task functions, and use "*" only for X-Ray and log delivery', () => {
    const smId = [...names].find(([, n]) => n === 'provision-sm')![0];
    const roleId = (resources[smId]!.Properties.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const statements = Object.values(resources)
      .filter(
        (r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as Json[]).some((x) => x.Ref === roleId),
      )
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    for (const st of statements) {
      const actions = [st.Action].flat();
      if (st.Resource === '*') {
        expect(
          actions.every(
            (a) =>
              a.startsWith('xray:') || /^logs:\w*(LogDelivery|LogDeliveries|ResourcePolic|LogGroups)/.test(a),
          ),
          actions.join(),
        ).toBe(true);
      } else {
        expect(actions).toEqual(['lambda:InvokeFunction']);
      }
    }
  });
});

describe('data, workflows, functions, API and alarms', () => {
  it('tables: point-in-time recovery everywhere (but on sealed secrets), deletion protection and Retain on the audit table', () => {
    const tables = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::GlobalTable');
    expect(tables).toHaveLength(5);
    for (const [, t] of tables) {
      const replica = (t.Properties.Replicas as Json[])[0]!;
      const transient = (t.Properties.TableName as string).endsWith('-secrets');
      expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: !transient });
      expect(t.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      const audit = (t.Properties.TableName as string).endsWith('-audit');
      expect(replica.DeletionProtectionEnabled ?? false).toBe(audit);
      if (audit) expect(t.DeletionPolicy).toBe('Retain');
    }
  });

  it('state machines: Standard, log ALL with execution data, X-Ray tracing, a timeout', () => {
    const machines = Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    expect(machines.length).toBeGreaterThan(0);
    for (const sm of machines) {
      expect(sm.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
      expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
      expect(sm.Properties.StateMachineType ?? 'STANDARD').toBe('STANDARD');
    }
    // The overall timeout lives in the definition (TimeoutSeconds at the top).
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionString: {
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('"TimeoutSeconds":10800}$')])],
      },
    });
  });

  it('every Lambda: arm64, nodejs24.x, JSON logs to its own log group with retention, active tracing, explicit memory and timeout', () => {
    const fns = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fns.length).toBeGreaterThanOrEqual(8);
    for (const fn of fns) {
      const p = fn.Properties;
      const entry = String(fn.Metadata?.[ENTRY_METADATA]);
      expect(p.Architectures, entry).toEqual(['arm64']);
      expect(p.Runtime, entry).toBe('nodejs24.x');
      expect(p.TracingConfig, entry).toEqual({ Mode: 'Active' });
      expect(p.MemorySize, entry).toBeGreaterThanOrEqual(128);
      expect(p.Timeout, entry).toBeLessThanOrEqual(900);
      const logging = p.LoggingConfig as { LogFormat: string; LogGroup: { Ref: string } };
      expect(logging.LogFormat, entry).toBe('JSON');
      expect(resources[logging.LogGroup.Ref]?.Properties.RetentionInDays, entry).toBeGreaterThan(0);
    }
    // …and so does every other log group (state machine logs, API access logs).
    for (const lg of Object.values(resources).filter((r) => r.Type === 'AWS::Logs::LogGroup')) {
      expect(lg.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('API: throttled, access-logged; the webhook authenticates by signature, the jobs API by IAM', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingBurstLimit: 50, ThrottlingRateLimit: 20 },
      AccessLogSettings: { DestinationArn: Match.anyValue() },
    });
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const auth = Object.fromEntries(
      routes.map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType ?? 'NONE']),
    );
    expect(auth).toMatchObject({
      'POST /webhooks/provision': 'NONE',
      'GET /jobs': 'AWS_IAM',
      'GET /jobs/{id}': 'AWS_IAM',
    });
    // Only signed webhooks (POST /webhooks/…) and snooze links (a signed token each) go without
    // IAM: their handler verifies the signature.
    for (const [route, type] of Object.entries(auth)) {
      if (!/^(POST \/webhooks\/[a-z-]+|(GET|POST) \/snooze|POST \/snooze\/slack)$/.test(route))
        expect(type, route).toBe('AWS_IAM');
    }
  });

  it('alarms: failed and timed-out executions per state machine, errors and throttles per function, to one encrypted SSL-only topic', () => {
    const topics = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SNS::Topic');
    expect(topics).toHaveLength(1);
    const [topicId, topic] = topics[0]!;
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    const key = Object.values(resources).find((r) => r.Type === 'AWS::KMS::Key')!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    const count = (ns: string, metric: string) =>
      alarms.filter((a) => a.Properties.Namespace === ns && a.Properties.MetricName === metric).length;
    const machines = Object.values(resources).filter(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine',
    ).length;
    const fns = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function').length;
    expect(count('AWS/States', 'ExecutionsFailed')).toBe(machines);
    expect(count('AWS/States', 'ExecutionsTimedOut')).toBe(machines);
    expect(count('AWS/Lambda', 'Errors')).toBe(fns);
    expect(count('AWS/Lambda', 'Throttles')).toBe(fns);
    expect(Object.keys(template.toJSON().Outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'AlarmTopicArn']),
    );
  });

  it('keeps credentials out of the template: secrets are created without a value', () => {
    for (const s of Object.values(resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret')) {
      expect(s.Properties.SecretString).toBeUndefined();
    }
  });
});
