import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../functions/log.ts';
import { type CfnTemplateJson, type LocalApp, loadTemplate } from '../../../local/engine/asl.ts';
import { type ExecutionRecord, LocalEngine, type LocalEngineOptions } from '../../../local/engine/engine.ts';
import { startSfnEndpoint } from '../../../local/engine/sfn-endpoint.ts';
import { synthNestedFixture } from './fixtures/nested-stack.ts';

/**
 * Nested executions through the `states:startExecution` service integration, as AWS documents it:
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html (request-response,
 * `.sync`, `.sync:2`) and https://docs.aws.amazon.com/step-functions/latest/dg/concepts-nested-workflows.html
 * (`AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID`). A child that does not succeed fails the parent's
 * Task with States.TaskFailed and the child's description as the cause; a refused StartExecution is
 * `StepFunctions.<Code>Exception`; the child's Output is JSON text with `.sync`, JSON with `.sync:2`.
 */

const quiet = createLogger({}, 'silent');
let app: LocalApp;
let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

beforeAll(() => {
  app = loadTemplate(synthNestedFixture() as CfnTemplateJson);
}, 240_000);

const engineWith = (options: LocalEngineOptions = {}) => new LocalEngine(app, { logger: quiet, ...options });

async function run(engine: LocalEngine, machine: string, input: unknown, name?: string) {
  const { executionArn } = await engine.startExecution({
    stateMachineArn: engine.stateMachineArn(machine),
    input: JSON.stringify(input),
    ...(name !== undefined ? { name } : {}),
  });
  return engine.waitForExecution(executionArn);
}

const output = (r: ExecutionRecord) => JSON.parse(r.output ?? 'null') as Record<string, unknown>;
const childArn = (machine: string, name: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:${machine}:${name}`;

async function until<T>(read: () => T, done: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = read();
    if (done(v)) return v;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('states:startExecution as CDK synthesizes it', () => {
  it('resolves the child machine Ref to its local ARN and classifies each integration pattern', () => {
    const parent = app.stateMachines.find((m) => m.name === 'parent-sync2')!;
    const state = (parent.definition.States as Record<string, { Parameters: Record<string, unknown> }>)
      .RunChild!;
    expect(state.Parameters.StateMachineArn).toBe(
      'arn:aws:states:us-east-1:123456789012:stateMachine:child-ok',
    );
    expect(parent.tasks.RunChild).toMatchObject({ style: 'execution', integration: 'sync2' });
    const bySuffix = Object.fromEntries(
      app.stateMachines.flatMap((m) => Object.entries(m.tasks)).map(([n, t]) => [n, t.integration]),
    );
    expect(bySuffix).toMatchObject({ RunChildAsText: 'sync', FireChild: 'request', RunChild: 'sync2' });
  });
});

describe('nested executions on the local engine', () => {
  it('.sync:2 runs a real child execution and returns its description with Output as JSON', async () => {
    const engine = engineWith();
    const childName = unique('child');
    const parent = await run(engine, 'parent-sync2', { value: 21, childName });

    expect(parent.status).toBe('SUCCEEDED');
    const arn = childArn('child-ok', childName);
    const child = engine.describeExecution(arn);
    expect(child).toMatchObject({ status: 'SUCCEEDED', name: childName });
    expect(JSON.parse(child.input)).toEqual({
      value: 21,
      AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent.executionArn,
    });
    expect(output(parent)).toEqual({
      ExecutionArn: arn,
      Input: { value: 21, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent.executionArn },
      InputDetails: { Included: true },
      Name: childName,
      Output: { doubled: 42, startedBy: parent.executionArn },
      OutputDetails: { Included: true },
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
      StartDate: child.startDate.getTime(),
      StateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:child-ok',
      Status: 'SUCCEEDED',
      StopDate: child.stopDate!.getTime(),
    });
    // The child keeps its own history; the parent's holds none of the child's states.
    const childHistory = engine.getExecutionHistory(arn);
    expect(childHistory[0]?.type).toBe('ExecutionStarted');
    expect(childHistory.at(-1)?.type).toBe('ExecutionSucceeded');
    expect(
      engine
        .getExecutionHistory(parent.executionArn)
        .some((e) => (e.stateEnteredEventDetails as { name?: string } | undefined)?.name === 'Work'),
    ).toBe(false);
  });

  it('.sync returns the child Input and Output as JSON text', async () => {
    const parent = await run(engineWith(), 'parent-sync', { value: 2 });
    expect(parent.status).toBe('SUCCEEDED');
    const out = output(parent);
    expect(out.Input).toBe('{"value":2}');
    expect(out.Output).toBe('{"doubled":4,"startedBy":null}');
    expect(out.Status).toBe('SUCCEEDED');
  });

  it('request-response returns ExecutionArn and StartDate (epoch ms) and leaves the child running', async () => {
    const engine = engineWith();
    const parent = await run(engine, 'parent-async', {});
    expect(parent.status).toBe('SUCCEEDED');
    const out = output(parent);
    const arn = String(out.ExecutionArn);
    expect(arn).toMatch(/^arn:aws:states:us-east-1:123456789012:execution:child-slow:[0-9a-f-]{36}$/);
    expect(out.StartDate).toBe(engine.describeExecution(arn).startDate.getTime());
    expect(engine.describeExecution(arn).status).toBe('RUNNING');
    await engine.close();
  });

  it('fails the parent with States.TaskFailed and the child description as cause', async () => {
    const engine = engineWith();
    const parent = await run(engine, 'parent-fails', {});
    expect(parent).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed' });
    const cause = JSON.parse(parent.cause ?? '{}') as Record<string, unknown>;
    expect(cause).toMatchObject({ Status: 'FAILED', Error: 'ChildBroke', Cause: 'the child broke' });
    expect(Object.keys(cause)).toEqual([...Object.keys(cause)].sort());
    expect(engine.describeExecution(String(cause.ExecutionArn))).toMatchObject({
      status: 'FAILED',
      error: 'ChildBroke',
    });
    const failed = engine.getExecutionHistory(parent.executionArn).find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toMatchObject({
      resourceType: 'states',
      resource: 'startExecution.sync:2',
      error: 'States.TaskFailed',
    });
  });

  it('lets a Catch on States.TaskFailed recover from a failed child', async () => {
    const parent = await run(engineWith(), 'parent-catches', { keep: true });
    expect(parent.status).toBe('SUCCEEDED');
    const out = output(parent) as { keep: boolean; error: { Error: string; Cause: string } };
    expect(out.keep).toBe(true);
    expect(out.error.Error).toBe('States.TaskFailed');
    expect(JSON.parse(out.error.Cause)).toMatchObject({ Status: 'FAILED', Error: 'ChildBroke' });
  });

  it('fails the parent when the child times out', async () => {
    const engine = engineWith({ timeoutScale: 0.0001 });
    const parent = await run(engine, 'parent-waits', {});
    expect(parent).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed' });
    const cause = JSON.parse(parent.cause ?? '{}') as Record<string, unknown>;
    expect(cause).toMatchObject({ Status: 'TIMED_OUT', Error: 'States.Timeout' });
  });

  it('StartExecution name rules apply: a closed child name is StepFunctions.ExecutionAlreadyExistsException', async () => {
    const engine = engineWith();
    const childName = unique('taken');
    expect((await run(engine, 'parent-sync2', { value: 1, childName })).status).toBe('SUCCEEDED');
    const again = await run(engine, 'parent-sync2', { value: 1, childName });
    expect(again).toMatchObject({
      status: 'FAILED',
      error: 'StepFunctions.ExecutionAlreadyExistsException',
    });
    expect(again.cause).toMatch(/Error Code: ExecutionAlreadyExists/);
    const invalid = await run(engine, 'parent-sync2', { value: 1, childName: 'has space' });
    expect(invalid).toMatchObject({ status: 'FAILED', error: 'StepFunctions.InvalidNameException' });
  });

  it('stopping the parent stops its .sync child', async () => {
    const engine = engineWith();
    const { executionArn } = await engine.startExecution({
      stateMachineArn: engine.stateMachineArn('parent-waits'),
      input: '{}',
    });
    const child = await until(
      () => engine.listExecutions({ stateMachineArn: engine.stateMachineArn('child-slow') }),
      (list) => list.some((e) => e.status === 'RUNNING'),
    );
    const childArnRunning = child.find((e) => e.status === 'RUNNING')!.executionArn;
    engine.stopExecution(executionArn, { error: 'Operator', cause: 'enough' });
    const stopped = await engine.waitForExecution(childArnRunning);
    expect(stopped.status).toBe('ABORTED');
    expect(stopped.cause).toBe(
      `The Task state in AWS Step Functions execution [${executionArn}] which was managing this resource was aborted`,
    );
  });

  it('a .sync Task that times out stops its child', async () => {
    const engine = engineWith({ timeoutScale: 0.001 });
    const parent = await run(engine, 'parent-task-timeout', {});
    expect(parent).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    const children = await until(
      () => engine.listExecutions({ stateMachineArn: engine.stateMachineArn('child-slow') }),
      (list) => list.length === 1 && list[0]!.status !== 'RUNNING',
    );
    expect(children[0]?.status).toBe('ABORTED');
  });

  it('shows children through the Step Functions endpoint', async () => {
    const engine = engineWith();
    const endpoint = await startSfnEndpoint(engine, { logger: quiet });
    const sfn = new SFNClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      const childName = unique('visible');
      await run(engine, 'parent-sync2', { value: 5, childName });
      const child = await sfn.send(
        new DescribeExecutionCommand({ executionArn: childArn('child-ok', childName) }),
      );
      expect(child.status).toBe('SUCCEEDED');
      expect(JSON.parse(child.output ?? '{}')).toMatchObject({ doubled: 10 });
    } finally {
      sfn.destroy();
      await endpoint.close();
      await engine.close();
    }
  });
});
