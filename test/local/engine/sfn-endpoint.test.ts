import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidArn,
  InvalidName,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  paginateListExecutions,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../functions/log.ts';
import { type CfnTemplateJson, loadTemplate } from '../../../local/engine/asl.ts';
import { LocalEngine } from '../../../local/engine/engine.ts';
import { type SfnEndpoint, startSfnEndpoint } from '../../../local/engine/sfn-endpoint.ts';
import { signedPost } from '../../support/aws-signing.ts';
import { synthFixture } from './fixtures/stack.ts';

let engine: LocalEngine;
let endpoint: SfnEndpoint;
let sfn: SFNClient;
const logLines: string[] = [];

const arnOf = (name: string) => `arn:aws:states:us-east-1:123456789012:stateMachine:${name}`;

// CDK synth takes seconds, far more on a busy shared machine.
beforeAll(async () => {
  const app = loadTemplate(synthFixture() as CfnTemplateJson);
  engine = new LocalEngine(app, { timeScale: 0.001, logger: createLogger({}, 'silent') });
  endpoint = await startSfnEndpoint(engine, {
    logger: createLogger({}, 'debug', (line) => logLines.push(line)),
  });
  sfn = new SFNClient({
    endpoint: endpoint.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}, 240_000);

afterAll(async () => {
  sfn?.destroy();
  await endpoint?.close();
  await engine?.close();
});

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('SFN endpoint through @aws-sdk/client-sfn', () => {
  it('lists and describes the state machines', async () => {
    const listed = await sfn.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines?.map((m) => m.name).sort()).toEqual(['Poller', 'guarded', 'sleeper']);
    expect(listed.stateMachines?.[0]?.creationDate).toBeInstanceOf(Date);
    const paged = await sfn.send(new ListStateMachinesCommand({ maxResults: 2 }));
    expect(paged.stateMachines).toHaveLength(2);
    const rest = await sfn.send(new ListStateMachinesCommand({ maxResults: 2, nextToken: paged.nextToken }));
    expect(rest.stateMachines).toHaveLength(1);
    expect(rest.nextToken).toBeUndefined();

    const d = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arnOf('guarded') }));
    expect(d).toMatchObject({ name: 'guarded', type: 'STANDARD', status: 'ACTIVE' });
    expect(JSON.parse(d.definition ?? '{}').StartAt).toBe('Mode');
    await expect(
      sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arnOf('ghost') })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
  });

  it('StartExecution is idempotent by name and input while running, ExecutionAlreadyExists otherwise', async () => {
    const start = (input: string) =>
      sfn.send(
        new StartExecutionCommand({ stateMachineArn: arnOf('sleeper'), name: 'webhook-msg-1', input }),
      );
    const first = await start('{"id":1}');
    const second = await start('{"id":1}');
    expect(second.executionArn).toBe(first.executionArn);
    expect(second.startDate).toEqual(first.startDate);
    expect(first.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:sleeper:webhook-msg-1');

    const different = await start('{"id":2}').catch((e: unknown) => e);
    expect(different).toBeInstanceOf(ExecutionAlreadyExists);
    expect((different as ExecutionAlreadyExists).$metadata.httpStatusCode).toBe(400);

    const running = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    expect(running).toMatchObject({ status: 'RUNNING', name: 'webhook-msg-1', input: '{"id":1}' });
    expect(running.startDate).toBeInstanceOf(Date);

    const stopped = await sfn.send(
      new StopExecutionCommand({ executionArn: first.executionArn, error: 'Operator', cause: 'test' }),
    );
    expect(stopped.stopDate).toBeInstanceOf(Date);
    const aborted = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    expect(aborted).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'test' });
    // A closed execution's name stays taken, even with the same input.
    await expect(start('{"id":1}')).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('returns the AWS error codes for unknown machines and executions, bad names and bad ARNs', async () => {
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: arnOf('ghost'), input: '{}' })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: arnOf('sleeper'), name: 'has space' })),
    ).rejects.toBeInstanceOf(InvalidName);
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: 'arn:aws:states:us-east-1:123456789012:execution:sleeper:nope',
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(
      sfn.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' })),
    ).rejects.toBeInstanceOf(InvalidArn);
  });

  it('runs an execution to the end and serves its history, paged and reversed', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: arnOf('guarded'),
        input: JSON.stringify({ mode: 'boom' }),
      }),
    );
    const done = await until(
      () => sfn.send(new DescribeExecutionCommand({ executionArn })),
      (d) => d.status !== 'RUNNING',
    );
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({ recovered: true, error: 'ProviderError' });
    expect(done.stopDate).toBeInstanceOf(Date);

    const full = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const types = full.events?.map((e) => e.type);
    expect(types?.[0]).toBe('ExecutionStarted');
    expect(types?.at(-1)).toBe('ExecutionSucceeded');
    expect(types).toContain('TaskFailed');
    expect(full.events?.[0]?.timestamp).toBeInstanceOf(Date);
    expect(full.events?.[0]?.executionStartedEventDetails?.input).toBe('{"mode":"boom"}');
    const failed = full.events?.find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      error: 'ProviderError',
    });

    const ids: number[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 3, reverseOrder: true, nextToken }),
      );
      expect(page.events?.length).toBeLessThanOrEqual(3);
      ids.push(...(page.events ?? []).map((e) => e.id ?? 0));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(ids).toEqual((full.events ?? []).map((e) => e.id ?? 0).reverse());

    const bare = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false }),
    );
    expect(bare.events?.[0]?.executionStartedEventDetails?.input).toBeUndefined();
    expect(bare.events?.[0]?.executionStartedEventDetails?.roleArn).toMatch(
      /^arn:aws:iam::123456789012:role\//,
    );
  });

  it('lists executions newest first, filtered by status, page by page', async () => {
    const arns: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: arnOf('sleeper'), name: `list-${i}`, input: '{}' }),
      );
      arns.push(executionArn ?? '');
    }
    await sfn.send(new StopExecutionCommand({ executionArn: arns[1] }));

    const pages: string[][] = [];
    for await (const page of paginateListExecutions(
      { client: sfn, pageSize: 2 },
      { stateMachineArn: arnOf('sleeper'), statusFilter: 'RUNNING' },
    )) {
      pages.push((page.executions ?? []).map((e) => e.name ?? ''));
    }
    expect(pages).toEqual([
      ['list-4', 'list-3'],
      ['list-2', 'list-0'],
    ]);

    const aborted = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: arnOf('sleeper'), statusFilter: 'ABORTED' }),
    );
    expect(aborted.executions?.map((e) => e.name)).toEqual(['list-1', 'webhook-msg-1']);
    expect(aborted.executions?.[0]?.stopDate).toBeInstanceOf(Date);
    await Promise.all(arns.map((executionArn) => sfn.send(new StopExecutionCommand({ executionArn }))));
  });

  it('never logs the Authorization header', () => {
    expect(logLines.some((l) => l.includes('StartExecution'))).toBe(true);
    expect(logLines.join('\n')).not.toMatch(/AWS4-HMAC-SHA256|Credential=|Signature=/);
  });
});

describe('SFN endpoint on the wire', () => {
  // Signed as the SDK signs, so that what is checked is the protocol, not the signature.
  const post = (target: string | undefined, body: string) =>
    signedPost({
      url: `${endpoint.url}/`,
      service: 'states',
      ...(target !== undefined && { target }),
      body,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });

  it('answers protocol errors as JSON 1.0 errors', async () => {
    const unknown = await post('AWSStepFunctions.CreateStateMachine', '{}');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });

    const garbled = await post('AWSStepFunctions.DescribeExecution', '{nope');
    expect(garbled.status).toBe(400);
    expect(await garbled.json()).toMatchObject({ __type: 'SerializationException' });

    const missing = await post('AWSStepFunctions.DescribeExecution', '{}');
    expect(await missing.json()).toMatchObject({ __type: 'ValidationException' });

    // An unsigned request is refused before anything else, as AWS refuses it.
    const get = await fetch(`${endpoint.url}/`);
    expect(get.status).toBe(400);
    expect(await get.json()).toMatchObject({ __type: expect.stringMatching(/MissingAuthenticationToken/) });
  });

  it('refuses to listen beyond loopback', async () => {
    await expect(startSfnEndpoint(engine, { host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });
});
