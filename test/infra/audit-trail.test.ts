import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_METADATA } from '../../infra/binding.ts';
import { AuditTrail } from '../../infra/constructs/audit-trail.ts';
import { DataLayer } from '../../infra/constructs/data-layer.ts';
import { FleetflowStack } from '../../infra/fleetflow-stack.ts';
import { testApp } from './synth.ts';

/**
 * The audit trail on AWS: the two generated key secrets, who may read which (the appenders the
 * chain key, the checkpoint function the checkpoint key, nobody else either), keys passed by ARN
 * only, and the checkpoint function's two triggers (every 5 minutes; every workflow's end).
 */

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  Metadata?: Json;
}
interface Statement {
  Action: string | string[];
  Resource: unknown;
}

const { app, cleanup } = testApp();
afterAll(cleanup);
let stack: FleetflowStack;
let resources: Record<string, Resource>;
const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);

beforeAll(() => {
  stack = new FleetflowStack(app, 'Fleetflow');
  resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
});

/** Every logical id a template value refers to (Ref, Fn::GetAtt), however deeply nested. */
function refs(value: unknown): string[] {
  if (!value || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap(refs);
  const v = value as Json;
  if (typeof v.Ref === 'string') return [v.Ref];
  if (Array.isArray(v['Fn::GetAtt'])) return [v['Fn::GetAtt'][0] as string];
  return Object.values(v).flatMap(refs);
}

interface FunctionView {
  logicalId: string;
  entry: string;
  env: Json;
  can(action: string, resourceId: string): boolean;
}

function functions(): FunctionView[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.[ENTRY_METADATA])
    .map(([logicalId, fn]) => {
      const role = refs(fn.Properties.Role)[0];
      const statements = Object.values(resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && refs(r.Properties.Roles).includes(role!))
        .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
      return {
        logicalId,
        entry: fn.Metadata![ENTRY_METADATA] as string,
        env: ((fn.Properties.Environment as Json | undefined)?.Variables ?? {}) as Json,
        can: (action: string, resourceId: string) =>
          statements.some(
            (st) => [st.Action].flat().includes(action) && refs(st.Resource).includes(resourceId),
          ),
      };
    });
}

describe('audit trail on AWS', () => {
  it('generates both keys as secrets, named after the table prefix, with no value in the template', () => {
    for (const [secret, name] of [
      [stack.auditTrail.chainKey, 'fleetflow/audit/chain-key'],
      [stack.auditTrail.checkpointKey, 'fleetflow/audit/checkpoint-key'],
    ] as const) {
      const r = resources[id(secret)]!;
      expect(r.Properties.Name).toBe(name);
      expect(r.Properties.SecretString).toBeUndefined();
      expect(r.Properties.GenerateSecretString).toMatchObject({
        GenerateStringKey: 'key',
        PasswordLength: 64,
        SecretStringTemplate: '{}',
      });
    }
    // Another prefix, another pair (the construct alone: a whole second stack is slow to synth).
    const { app: other, cleanup: done } = testApp();
    try {
      const acme = new Stack(other, 'Acme');
      const data = new DataLayer(acme, 'Data', { tablePrefix: 'acme' });
      new AuditTrail(acme, 'AuditTrail', { data, tablePrefix: 'acme', stateMachines: [] });
      const json = Template.fromStack(acme).toJSON().Resources as Record<string, Resource>;
      const names = Object.values(json)
        .filter((r) => r.Type === 'AWS::SecretsManager::Secret')
        .map((r) => r.Properties.Name);
      expect(names.sort()).toEqual(['acme/audit/chain-key', 'acme/audit/checkpoint-key']);
    } finally {
      done();
    }
  });

  it('every function that appends audit events, and only those, reads the chain key, by ARN', () => {
    const audit = id(stack.data.auditTable);
    const chainKey = id(stack.auditTrail.chainKey);
    const checkpointer = id(stack.auditTrail.checkpointer.fn);
    const fns = functions();
    const appenders = fns.filter((f) => f.logicalId !== checkpointer && f.can('dynamodb:PutItem', audit));
    expect(appenders.map((f) => f.entry).sort()).toEqual([
      'functions/handlers/instance-action.ts',
      'functions/handlers/instance-create.ts',
      'functions/handlers/provision-compensate.ts',
      'functions/handlers/schedule-act.ts',
      'functions/handlers/schedule-plan.ts',
      // A snooze link's override is audited with who clicked.
      'functions/handlers/snooze.ts',
    ]);
    for (const f of fns) {
      const appends = appenders.includes(f);
      expect(f.can('secretsmanager:GetSecretValue', chainKey), f.entry).toBe(appends);
      expect(f.env.FLEETFLOW_AUDIT_KEY, f.entry).toEqual(appends ? { Ref: chainKey } : undefined);
    }
  });

  it('only the checkpoint function reads the checkpoint key; it never sees the chain key', () => {
    const checkpointKey = id(stack.auditTrail.checkpointKey);
    const checkpointer = id(stack.auditTrail.checkpointer.fn);
    for (const f of functions()) {
      const is = f.logicalId === checkpointer;
      expect(f.can('secretsmanager:GetSecretValue', checkpointKey), f.entry).toBe(is);
      expect(f.env.FLEETFLOW_AUDIT_CHECKPOINT_KEY, f.entry).toEqual(is ? { Ref: checkpointKey } : undefined);
    }
    const fn = functions().find((f) => f.logicalId === checkpointer)!;
    expect(fn.can('secretsmanager:GetSecretValue', id(stack.auditTrail.chainKey))).toBe(false);
    const audit = id(stack.data.auditTable);
    for (const action of ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:Scan']) {
      expect(fn.can(action, audit), action).toBe(true);
    }
    for (const action of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
      expect(fn.can(action, audit), action).toBe(false);
    }
  });

  it('runs the checkpoint function every 5 minutes and at the end of every workflow, failures to its dead-letter queue', () => {
    const checkpointer = id(stack.auditTrail.checkpointer.fn);
    const dlq = id(stack.auditTrail.checkpointer.deadLetterQueue!);
    const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const targetsOf = (r: Resource) => r.Properties.Targets as Json[];
    const ours = rules.filter((r) => targetsOf(r).some((t) => refs(t.Arn).includes(checkpointer)));
    expect(ours).toHaveLength(2);

    const periodic = ours.find((r) => r.Properties.ScheduleExpression)!;
    expect(periodic.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(JSON.parse(targetsOf(periodic)[0]!.Input as string)).toEqual({ checkpoint: 'periodic' });

    const jobEnd = ours.find((r) => r.Properties.EventPattern)!;
    const pattern = jobEnd.Properties.EventPattern as Json;
    expect(pattern).toMatchObject({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] },
    });
    const machines = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
      .map(([k]) => k);
    expect(refs((pattern.detail as Json).stateMachineArn).sort()).toEqual(machines.sort());

    for (const rule of ours) {
      expect(refs(targetsOf(rule)[0]!.DeadLetterConfig)).toEqual([dlq]);
    }
  });
});
