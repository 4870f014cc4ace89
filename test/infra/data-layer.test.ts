import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableInputs, tableNames } from '../../functions/store/tables.ts';
import { DataLayer } from '../../infra/constructs/data-layer.ts';
import { testApp } from './synth.ts';

describe('DataLayer', () => {
  let template: Template;

  const { app, cleanup } = testApp();
  afterAll(cleanup);

  beforeAll(() => {
    const stack = new Stack(app, 'DataLayerTest');
    const data = new DataLayer(stack, 'Data', { tablePrefix: 'ff-test' });
    const auditWriter = new Role(stack, 'AuditWriter', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    });
    data.grantAuditAppend(auditWriter);
    template = Template.fromStack(stack);
  });

  const table = (name: string) => {
    const found = Object.values(
      template.findResources('AWS::DynamoDB::GlobalTable', { Properties: { TableName: name } }),
    );
    expect(found).toHaveLength(1);
    return found[0] as { Properties: Record<string, unknown>; DeletionPolicy?: string };
  };

  it('creates exactly the five tables (jobs, job items, audit, idempotency, sealed secrets), on demand', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 5);
    template.allResourcesProperties('AWS::DynamoDB::GlobalTable', { BillingMode: 'PAY_PER_REQUEST' });
  });

  it('uses the same key schemas and indexes as the local runtime and the tests', () => {
    // The CreateTable inputs come from the same definition: compare them with the template.
    for (const input of createTableInputs(tableNames('ff-test'))) {
      const props = table(input.TableName!).Properties;
      expect(props.KeySchema).toEqual(input.KeySchema);
      expect(props.AttributeDefinitions).toEqual(expect.arrayContaining(input.AttributeDefinitions!));
      expect((props.AttributeDefinitions as unknown[]).length).toBe(input.AttributeDefinitions!.length);
      expect(props.GlobalSecondaryIndexes ?? []).toEqual(input.GlobalSecondaryIndexes ?? []);
    }
  });

  it('keys the audit table by chain and seq, indexed by instance, newest first by time', () => {
    const audit = table('ff-test-audit').Properties;
    expect(audit.KeySchema).toEqual([
      { AttributeName: 'chain', KeyType: 'HASH' },
      { AttributeName: 'seq', KeyType: 'RANGE' },
    ]);
    expect(audit.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byInstance',
        KeySchema: [
          { AttributeName: 'instanceId', KeyType: 'HASH' },
          { AttributeName: 'at', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    const jobs = table('ff-test-jobs').Properties;
    expect((jobs.GlobalSecondaryIndexes as Array<{ IndexName: string }>).map((i) => i.IndexName)).toEqual([
      'byStatus',
      'byTime',
    ]);
  });

  it('turns on point-in-time recovery and encryption everywhere, deletion protection on the audit table', () => {
    for (const name of ['ff-test-jobs', 'ff-test-job-items', 'ff-test-audit', 'ff-test-idempotency']) {
      const replica = (table(name).Properties.Replicas as Array<Record<string, unknown>>)[0]!;
      expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(replica.DeletionProtectionEnabled ?? false).toBe(name === 'ff-test-audit');
    }
    template.allResourcesProperties('AWS::DynamoDB::GlobalTable', { SSESpecification: { SSEEnabled: true } });
    expect(table('ff-test-audit').DeletionPolicy).toBe('Retain');
  });

  it('expires idempotency records and sealed secrets by TTL', () => {
    for (const name of ['ff-test-idempotency', 'ff-test-secrets']) {
      expect(table(name).Properties.TimeToLiveSpecification, name).toEqual({
        AttributeName: 'expiresAt',
        Enabled: true,
      });
    }
  });

  it('keeps no point-in-time copy of sealed secrets, which must stay deleted', () => {
    const replica = (table('ff-test-secrets').Properties.Replicas as Array<Record<string, unknown>>)[0]!;
    expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: false });
  });

  it('lets the audit writer put, get and query, and never update or delete an event', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    const statements = (
      policies[0] as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }
    ).Properties.PolicyDocument.Statement;
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Resource: Match.arrayWith([
              // Indexes by name, never `/index/*`.
              Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/index/byInstance'])] }),
            ]),
          }),
        ]),
      },
    });
  });
});
