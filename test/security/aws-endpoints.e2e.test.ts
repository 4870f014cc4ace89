import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFrom } from '../../cli/commands/config.ts';
import type { FleetflowConfig } from '../../functions/config/schema.ts';
import { createLogger } from '../../functions/log.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { POWER_SCHEDULE_MACHINE, scheduleRunInput } from '../../functions/schedule/run.ts';
import { tableNames } from '../../functions/store/tables.ts';
import { AWS_CREDENTIALS_FILE } from '../../local/auth/data-folder.ts';
import type { AwsKeyPair } from '../../local/auth/sigv4.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { signedHeaders, signedPost } from '../support/aws-signing.ts';
import { runCli } from '../support/cli.ts';

/**
 * The local Step Functions and DynamoDB endpoints of a real `fleetflow start` verify the signature
 * of every request against the data folder's own key pair, and refuse the rest as AWS refuses them:
 * HTTP 400 with the AWS error code (DynamoDB's list of them: MissingAuthenticationTokenException,
 * UnrecognizedClientException, InvalidSignatureException, IncompleteSignatureException —
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html; Step
 * Functions answers the same codes with 400 through the same front door; signing:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html). The attack: start the
 * power-schedule machine with a stop of the whole schedule, or write a forged job, without the key.
 * Nothing may start and nothing may be written.
 */

const root = mkdtempSync(join(tmpdir(), 'fleetflow-security-aws-'));
const dataDir = join(root, '.fleetflow');
const config: FleetflowConfig = configFrom('examples/fleetflow.config.yaml', true);
let runtime: Runtime;

beforeAll(async () => {
  runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20 },
    env: {},
    config,
    allowHosts: ['fleetflow.test'],
    scheduler: false,
    logger: createLogger({ component: 'runtime' }, 'silent'),
  });
}, 180_000);

afterAll(async () => {
  await runtime?.close();
  rmSync(root, { recursive: true, force: true });
});

const quiet = { maxAttempts: 1, region: 'us-east-1' };
const wrongSecret = (): AwsKeyPair => ({
  ...runtime.credentials,
  secretAccessKey: 'not-the-secret-0123456789abcdef',
});
const guessed: AwsKeyPair = { accessKeyId: 'local', secretAccessKey: 'local' };

async function refusal(
  send: () => Promise<unknown>,
): Promise<{ name: string; status?: number; message: string }> {
  try {
    await send();
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return {
      name: e.name,
      ...(e.$metadata?.httpStatusCode && { status: e.$metadata.httpStatusCode }),
      message: e.message,
    };
  }
  throw new Error('the request was accepted');
}

describe('the local Step Functions endpoint', () => {
  const startInput = () => ({
    stateMachineArn: runtime.engine.stateMachineArn(POWER_SCHEDULE_MACHINE),
    name: `attack-${Date.now()}`,
    input: JSON.stringify(
      scheduleRunInput(config, 'office-hours', 'stop', { trigger: { type: 'api', actor: 'someone-else' } }),
    ),
  });

  it('refuses StartExecution unsigned, wrongly signed, stale, tampered or for another Host; nothing starts', async () => {
    const url = `${runtime.urls.sfn}/`;
    const target = 'AWSStepFunctions.StartExecution';
    const body = JSON.stringify(startInput());

    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target },
      body,
    });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toEqual({
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });

    // Through the unchanged SDK client, as code that guessed or stole half a key would call it.
    const sdk = (credentials: AwsKeyPair) =>
      new SFNClient({ ...quiet, endpoint: runtime.urls.sfn, credentials });
    expect(
      await refusal(() => sdk(wrongSecret()).send(new StartExecutionCommand(startInput()))),
    ).toMatchObject({
      name: 'InvalidSignatureException',
      status: 400,
      message: expect.stringMatching(/^The request signature we calculated does not match/),
    });
    expect(await refusal(() => sdk(guessed).send(new StartExecutionCommand(startInput())))).toEqual({
      name: 'UnrecognizedClientException',
      status: 400,
      message: 'The security token included in the request is invalid.',
    });
    expect(
      await refusal(() =>
        sdk({ ...runtime.credentials, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE' } as AwsKeyPair).send(
          new StartExecutionCommand(startInput()),
        ),
      ),
    ).toMatchObject({ name: 'UnrecognizedClientException', status: 400 });

    // Signed with the right key, but 20 minutes ago (AWS allows 15), or then altered, or for a rebound name.
    const stale = await signedPost({
      url,
      service: 'states',
      target,
      body,
      credentials: runtime.credentials,
      signingDate: new Date(Date.now() - 20 * 60_000),
    });
    expect(stale.status).toBe(400);
    expect(await stale.json()).toMatchObject({
      __type: 'com.amazon.coral.service#InvalidSignatureException',
      message: expect.stringMatching(/^Signature expired: \d{8}T\d{6}Z is now earlier than/),
    });
    const headers = await signedHeaders({
      url,
      service: 'states',
      target,
      body,
      credentials: runtime.credentials,
    });
    const { host: _h, ...signed } = headers;
    expect(body).toContain('attack-');
    const tampered = await fetch(url, {
      method: 'POST',
      headers: signed,
      body: body.replace('attack-', 'altered-'),
    });
    expect([tampered.status, ((await tampered.json()) as { __type: string }).__type]).toEqual([
      400,
      'com.amazon.coral.service#InvalidSignatureException',
    ]);
    const rebound = `rebind.attacker.example:${new URL(url).port}`;
    const forHost = await signedHeaders({
      url: url.replace(new URL(url).host, rebound),
      service: 'states',
      target,
      body,
      credentials: runtime.credentials,
    });
    const misdirected = await request(url, { method: 'POST', headers: forHost, body });
    expect(misdirected.statusCode).toBe(421);
    await misdirected.body.dump();

    // Nothing started, nothing recorded.
    expect(runtime.engine.listExecutions()).toEqual([]);
    const jobs: unknown[] = [];
    for await (const job of stores().jobs.listAll({})) jobs.push(job);
    expect(jobs).toEqual([]);
  });

  it('answers the CLI, which signs with the data folder’s key pair: schedule run starts the job', async () => {
    const r = await runCli(
      'schedule',
      'run',
      'office-hours',
      '--action',
      'stop',
      '--dry-run',
      '--config',
      'examples/fleetflow.config.yaml',
      '--data-dir',
      dataDir,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const { jobId } = JSON.parse(r.stdout) as { jobId: string };
    const sfn = new SFNClient({ ...quiet, endpoint: runtime.urls.sfn, credentials: runtime.credentials });
    const listed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: runtime.engine.stateMachineArn(POWER_SCHEDULE_MACHINE) }),
    );
    sfn.destroy();
    expect(listed.executions?.map((e) => e.name)).toContain(jobId);
    // Let it finish before the runtime closes under it.
    await runtime.engine.waitForExecution(listed.executions!.find((e) => e.name === jobId)!.executionArn!);
  });
});

describe('the local DynamoDB endpoint', () => {
  const forged = () => ({
    TableName: tableNames('fleetflow').jobs,
    Item: {
      jobId: { S: 'forged-job' },
      kind: { S: 'provision' },
      status: { S: 'SUCCEEDED' },
      createdAt: { S: new Date().toISOString() },
    },
  });

  it('refuses PutItem unsigned or wrongly signed; nothing is written', async () => {
    const url = `${runtime.urls.dynamodb}/`;
    const target = 'DynamoDB_20120810.PutItem';
    const body = JSON.stringify(forged());
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target },
      body,
    });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toEqual({
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });

    const sdk = (credentials: AwsKeyPair) =>
      new DynamoDBClient({ ...quiet, endpoint: runtime.urls.dynamodb, credentials });
    expect(await refusal(() => sdk(wrongSecret()).send(new PutItemCommand(forged())))).toMatchObject({
      name: 'InvalidSignatureException',
      status: 400,
    });
    expect(await refusal(() => sdk(guessed).send(new PutItemCommand(forged())))).toMatchObject({
      name: 'UnrecognizedClientException',
      status: 400,
    });
    // Signed for another service (a Step Functions signature replayed here).
    const replayed = await signedPost({
      url,
      service: 'states',
      target,
      body,
      credentials: runtime.credentials,
    });
    expect(((await replayed.json()) as { message: string }).message).toMatch(
      /Credential should be scoped to correct service: 'dynamodb'/,
    );
    // A tampered body under a valid signature.
    const { host: _h, ...signed } = await signedHeaders({
      url,
      service: 'dynamodb',
      target,
      body,
      credentials: runtime.credentials,
    });
    const tampered = await fetch(url, {
      method: 'POST',
      headers: signed,
      body: body.replace('forged-job', 'forged-job-2'),
    });
    expect(tampered.status).toBe(400);

    const reader = sdk(runtime.credentials);
    for (const jobId of ['forged-job', 'forged-job-2']) {
      const found = await reader.send(
        new GetItemCommand({ TableName: tableNames('fleetflow').jobs, Key: { jobId: { S: jobId } } }),
      );
      expect(found.Item, jobId).toBeUndefined();
    }
    reader.destroy();
  });

  it('answers the CLI, which signs with the data folder’s key pair: override set and jobs list work', async () => {
    const set = await runCli(
      'override',
      'set',
      '--schedule',
      'office-hours',
      '--keep-running-for',
      '1h',
      '--data-dir',
      dataDir,
      '--json',
    );
    expect(set.code, set.stderr).toBe(0);
    const listed = await runCli('override', 'list', '--data-dir', dataDir, '--json');
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
    expect((await runCli('jobs', 'list', '--data-dir', dataDir, '--json')).code).toBe(0);
  });

  it('keeps its key pair in the data folder, readable by its user only', () => {
    expect(statSync(join(dataDir, AWS_CREDENTIALS_FILE)).mode & 0o777).toBe(0o600);
  });
});

describe('names added with --allow-host', () => {
  it('are answered by all three endpoints, at their ports', async () => {
    const rename = (url: string) => url.replace('127.0.0.1', 'fleetflow.test');
    const api = await request(`${runtime.urls.http}/jobs`, {
      headers: { host: new URL(rename(runtime.urls.http)).host },
    });
    expect(api.statusCode).toBe(200);
    await api.body.dump();
    for (const [url, service, target] of [
      [runtime.urls.sfn, 'states', 'AWSStepFunctions.ListStateMachines'],
      [runtime.urls.dynamodb, 'dynamodb', 'DynamoDB_20120810.ListTables'],
    ] as const) {
      const headers = await signedHeaders({
        url: `${rename(url)}/`,
        service,
        target,
        body: '{}',
        credentials: runtime.credentials,
      });
      const answer = await request(`${url}/`, { method: 'POST', headers, body: '{}' });
      expect([service, answer.statusCode]).toEqual([service, 200]);
      await answer.body.dump();
    }
  });
});
