import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS_KEY_ENV } from '../../functions/secrets/keys.ts';
import { SEALED_SECRETS_TTL_SECONDS } from '../../functions/secrets/store.ts';
import { ENTRY_METADATA } from '../../infra/binding.ts';
import { FleetflowStack } from '../../infra/fleetflow-stack.ts';
import { testApp } from '../infra/synth.ts';

/**
 * The sealing key on AWS, from the synthesized template: who may ask for data keys, who may
 * decrypt them, under which condition, and how long a sealed record may live.
 */

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  Metadata?: Json;
  DeletionPolicy?: string;
}

const { app, cleanup } = testApp();
afterAll(cleanup);
let stack: FleetflowStack;
let resources: Record<string, Resource>;
let keyId: string;

beforeAll(() => {
  stack = new FleetflowStack(app, 'Fleetflow');
  resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  keyId = Stack.of(stack).getLogicalId(stack.secrets.key.node.defaultChild as CfnElement);
});

/** Every statement, in any function's role, that names the sealing key: entry → actions and conditions. */
function keyGrants(): Array<{ entry: string; actions: string[]; condition: unknown }> {
  const out: Array<{ entry: string; actions: string[]; condition: unknown }> = [];
  for (const fn of Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function')) {
    const entry = fn.Metadata?.[ENTRY_METADATA] as string;
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    for (const policy of Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy')) {
      if (!(policy.Properties.Roles as Json[]).some((r) => r.Ref === roleId)) continue;
      const statements = (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement;
      for (const st of statements) {
        if (!JSON.stringify(st.Resource).includes(keyId)) continue;
        out.push({ entry, actions: [st.Action as string | string[]].flat(), condition: st.Condition });
      }
    }
  }
  return out;
}

describe('the sealing key on AWS', () => {
  it('only the ingest function gets data keys, only the create step decrypts, both only for a job', () => {
    const grants = keyGrants();
    expect(grants.map((g) => [g.entry, g.actions]).sort()).toEqual([
      ['functions/handlers/instance-create.ts', ['kms:Decrypt']],
      ['functions/handlers/webhook-provision.ts', ['kms:GenerateDataKey']],
    ]);
    for (const g of grants) {
      expect(g.condition).toEqual({ StringLike: { 'kms:EncryptionContext:fleetflow:job': '?*' } });
    }
  });

  it('is named to exactly those two functions, by reference', () => {
    const named = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .filter(
        (r) => (r.Properties.Environment as { Variables?: Json } | undefined)?.Variables?.[SECRETS_KEY_ENV],
      )
      .map((r) => r.Metadata?.[ENTRY_METADATA])
      .sort();
    expect(named).toEqual([
      'functions/handlers/instance-create.ts',
      'functions/handlers/webhook-provision.ts',
    ]);
  });

  it('rotates, and is scheduled for deletion with the stack', () => {
    const key = resources[keyId] as Resource;
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.PendingWindowInDays).toBe(7);
    expect(key.DeletionPolicy).toBe('Delete');
  });

  it('a sealed record lives no longer than the provisioning workflow may run', () => {
    const machine = Object.values(resources).find(
      (r) =>
        r.Type === 'AWS::StepFunctions::StateMachine' &&
        JSON.stringify(r.Properties.DefinitionString).includes('Validate request'),
    );
    const joined = JSON.stringify(machine?.Properties.DefinitionString);
    const timeout = Number(/\\"TimeoutSeconds\\":(\d+)}/.exec(joined)?.[1]);
    expect(timeout).toBeGreaterThan(0);
    expect(SEALED_SECRETS_TTL_SECONDS).toBe(timeout);
  });
});
