import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { BindingError, markHandler, markStateMachine } from '../../../infra/binding.ts';
import { type CfnTemplateJson, type LocalApp, loadApp, loadTemplate } from '../../../local/engine/asl.ts';
import { EngineFixtureStack, synthFixture } from './fixtures/stack.ts';

const validate = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (sep?: string) => string;
};

describe('loadTemplate on the fixture stack', () => {
  let app: LocalApp;
  // CDK synth takes seconds, far more on a busy shared machine.
  beforeAll(() => {
    app = loadTemplate(synthFixture() as CfnTemplateJson);
  }, 240_000);

  it('names machines from StateMachineName, fleetflow:name metadata and the construct path', () => {
    expect(app.stateMachines.map((m) => m.name).sort()).toEqual(['Poller', 'guarded', 'sleeper']);
    expect(app.stateMachines.every((m) => m.type === 'STANDARD')).toBe(true);
  });

  it('resolves every definition into ASL that asl-validator accepts', () => {
    for (const m of app.stateMachines) {
      const result = validate(m.definition);
      expect(result.isValid, `${m.name}: ${result.errorsText('\n')}`).toBe(true);
    }
  });

  it('maps every Task, nested Map states included, to its Lambda in both invocation styles', () => {
    const poller = app.stateMachines.find((m) => m.name === 'Poller')!;
    const fns = (id: string) => app.functions[id]?.exportName;
    expect(Object.keys(poller.lambdaByTask).sort()).toEqual(['Create', 'Poll', 'ProcessItem']);
    expect(fns(poller.lambdaByTask.Create!)).toBe('create');
    expect(fns(poller.lambdaByTask.ProcessItem!)).toBe('processItem');
    expect(poller.tasks.Create?.style).toBe('invoke');
    expect(poller.tasks.ProcessItem?.style).toBe('direct');
    expect(poller.tasks.Create?.resource).toBe('arn:aws:states:::lambda:invoke');

    const guarded = app.stateMachines.find((m) => m.name === 'guarded')!;
    expect(Object.keys(guarded.lambdaByTask).sort()).toEqual(['Boom', 'Flaky', 'Recover', 'Slow', 'WhoAmI']);
    const invoke = guarded.definition.States.Flaky as unknown as { Parameters: { FunctionName: string } };
    expect(invoke.Parameters.FunctionName).toBe(
      `arn:aws:lambda:us-east-1:123456789012:function:${guarded.lambdaByTask.Flaky}`,
    );
  });

  it('reads markHandler metadata and the function timeout', () => {
    const create = Object.values(app.functions).find((f) => f.exportName === 'create');
    expect(create).toMatchObject({
      entry: 'test/local/engine/fixtures/handlers.ts',
      timeoutSeconds: 10,
      memorySize: 128,
    });
  });
});

describe('loadApp', () => {
  it('synthesizes an app and reads every stack, refusing logical ids shared between stacks', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'fleetflow-loadapp-'));
    try {
      const context = { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true };
      const app = new App({ outdir, context });
      new EngineFixtureStack(app, 'One');
      expect(
        loadApp(app)
          .stateMachines.map((m) => m.name)
          .sort(),
      ).toEqual(['Poller', 'guarded', 'sleeper']);
      const twice = new App({ outdir, context });
      new EngineFixtureStack(twice, 'One');
      new EngineFixtureStack(twice, 'Two');
      expect(() => loadApp(twice)).toThrow(/appears in two stacks/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('intrinsic resolution', () => {
  const template: CfnTemplateJson = {
    Parameters: { Stage: { Default: 'dev' } },
    Resources: {
      Fn1: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: {} } } },
      Table: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'jobs' } },
      Child: {
        Type: 'AWS::StepFunctions::StateMachine',
        Metadata: { 'aws:cdk:path': 'S/Flows/Child/Resource' },
        Properties: { DefinitionString: '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}' },
      },
      Parent: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          DefinitionString: {
            'Fn::Sub': [
              // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
              '{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:${AWS::Partition}:states:::lambda:invoke","Parameters":{"FunctionName":"${Fn1.Arn}:$LATEST","Payload":{"table":"${T}","child":"${Child}","stage":"${Stage}","lit":"${!Literal}"}},"Next":"Put"},"Put":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","Parameters":{"TableName":"${!table}","Item":{}},"End":true}}}',
              { T: { Ref: 'Table' } },
            ],
          },
          DefinitionSubstitutions: {
            table: { 'Fn::Select': [1, { 'Fn::Split': ['/', { 'Fn::GetAtt': ['Table', 'Arn'] }] }] },
          },
        },
      },
    },
  };

  it('resolves Fn::Sub, Ref, GetAtt, Select/Split and DefinitionSubstitutions', () => {
    const app = loadTemplate(template);
    const parent = app.stateMachines.find((m) => m.logicalId === 'Parent')!;
    expect(parent.name).toBe('Parent');
    const call = parent.definition.States.Call as unknown as { Parameters: Record<string, unknown> };
    expect(call.Parameters).toEqual({
      FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:Fn1:$LATEST',
      Payload: {
        table: 'jobs',
        child: 'arn:aws:states:us-east-1:123456789012:stateMachine:Flows-Child',
        stage: 'dev',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal Fn::Sub leaves behind
        lit: '${Literal}',
      },
    });
    expect(
      (parent.definition.States.Put as unknown as { Parameters: { TableName: string } }).Parameters.TableName,
    ).toBe('jobs');
    expect(parent.lambdaByTask).toEqual({ Call: 'Fn1' });
    expect(parent.tasks.Put).toEqual({ style: 'service', resource: 'arn:aws:states:::dynamodb:putItem' });
  });

  it('fails loudly on intrinsics it cannot fake', () => {
    const bad: CfnTemplateJson = {
      Resources: {
        M: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: { DefinitionString: { 'Fn::ImportValue': 'Other-Export' } },
        },
      },
    };
    expect(() => loadTemplate(bad)).toThrow(/unsupported intrinsic Fn::ImportValue/);
  });
});

describe('markHandler / markStateMachine', () => {
  it('rejects entries outside the repository and non-identifier exports', () => {
    // An App without outdir creates a cdk.out directory in TMPDIR at once.
    const outdir = mkdtempSync(join(tmpdir(), 'fleetflow-mark-'));
    try {
      const fn = new lambda.Function(new Stack(new App({ outdir }), 'S'), 'F', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => 1;'),
      });
      expect(() => markHandler(fn, '../elsewhere.ts')).toThrow(BindingError);
      expect(() => markHandler(fn, '/abs/path.ts')).toThrow(BindingError);
      expect(() => markHandler(fn, 'functions/x.ts', 'not-an-id')).toThrow(BindingError);
      expect(() => markStateMachine(fn, 'has space')).toThrow(BindingError);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
