import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { type DirectRequest, registerDirectLine } from '../../../functions/store/direct.ts';
import { createDynamo, ensureTables, localDynamoConfig } from '../../../functions/store/dynamo.ts';
import { tableNames } from '../../../functions/store/tables.ts';
import { startDynaliteThread } from '../../../local/store/dynalite-thread.ts';

/** dynalite on its own thread answers as in-process dynalite does, keeps the folder's lock, and closes. */
describe('dynalite on a worker thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetflow-dynalite-thread-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores and reads items, refuses a second server on the same folder, and persists across a close', async () => {
    const path = join(dir, 'dynamo');
    const first = await startDynaliteThread({ path });
    const names = tableNames('thread');
    let dynamo = createDynamo(localDynamoConfig(first.endpoint));
    await ensureTables(dynamo.client, names);
    await dynamo.doc.send(
      new PutCommand({ TableName: names.jobs, Item: { jobId: 'j-1', status: 'QUEUED' } }),
    );
    expect((await dynamo.client.send(new ListTablesCommand({}))).TableNames).toContain(names.jobs);

    // LevelDB allows one holder per folder: the thread holds the lock as the in-process server did
    // (another process gets DataFolderLockedError; another thread of this one, LevelDB's own refusal).
    await expect(startDynaliteThread({ path })).rejects.toThrow(/in use by another process|failed to open/);

    dynamo.destroy();
    await first.close();
    await expect(fetch(first.endpoint)).rejects.toThrow();

    const again = await startDynaliteThread({ path });
    dynamo = createDynamo(localDynamoConfig(again.endpoint));
    const { Item } = await dynamo.doc.send(new GetCommand({ TableName: names.jobs, Key: { jobId: 'j-1' } }));
    expect(Item).toEqual({ jobId: 'j-1', status: 'QUEUED' });
    dynamo.destroy();
    await again.close();
  });

  it('answers this process on the direct line as it answers over HTTP, and refuses it once closed', async () => {
    const server = await startDynaliteThread({});
    const names = tableNames('direct');
    const overHttp = createDynamo(localDynamoConfig(server.endpoint));
    await ensureTables(overHttp.client, names);
    // Nothing listens at this endpoint: a client built for it works only through the line.
    const nowhere = 'http://127.0.0.1:9';
    const sent: DirectRequest[] = [];
    const unregister = registerDirectLine(nowhere, (request) => {
      sent.push(request);
      return server.direct!(request);
    });
    const direct = createDynamo(localDynamoConfig(nowhere));
    await direct.doc.send(
      new PutCommand({ TableName: names.jobs, Item: { jobId: 'j-2', status: 'QUEUED' } }),
    );
    const read = (d: typeof direct) =>
      d.doc.send(new GetCommand({ TableName: names.jobs, Key: { jobId: 'j-2' }, ConsistentRead: true }));
    expect((await read(overHttp)).Item).toEqual({ jobId: 'j-2', status: 'QUEUED' });
    expect((await read(direct)).Item).toEqual({ jobId: 'j-2', status: 'QUEUED' });
    // DynamoDB's errors come back as the SDK's typed errors, as over HTTP.
    await expect(
      direct.doc.send(
        new PutCommand({
          TableName: names.jobs,
          Item: { jobId: 'j-2', status: 'QUEUED' },
          ConditionExpression: 'attribute_not_exists(jobId)',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    // The line's requests go unsigned (only this process reaches it); the same request sent to
    // the server's port is refused, because the port still wants the signature.
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const r of sent)
      expect(Object.keys(r.headers).map((h) => h.toLowerCase())).not.toContain('authorization');
    const put = sent[0]!;
    const unsigned = await fetch(`${server.endpoint}${put.url}`, {
      method: put.method,
      headers: Object.fromEntries(
        Object.entries(put.headers).filter(([h]) => !['host', 'content-length'].includes(h.toLowerCase())),
      ),
      body: put.body,
    });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({
      __type: expect.stringMatching(/MissingAuthenticationToken/),
    });
    // A client built after the line is gone goes over HTTP, where nothing listens.
    unregister();
    const after = createDynamo({ ...localDynamoConfig(nowhere), maxAttempts: 1 });
    await expect(read(after)).rejects.toThrow(/ECONNREFUSED|connect/);
    overHttp.destroy();
    after.destroy();
    await server.close();
    // The thread is gone: a request on the line fails instead of waiting forever.
    await expect(read(direct)).rejects.toThrow();
    direct.destroy();
  });

  it('closes while direct requests are under way: those sent are answered, later ones refused, the thread ends cleanly', async () => {
    const server = await startDynaliteThread({});
    const names = tableNames('closing');
    const setup = createDynamo(localDynamoConfig(server.endpoint));
    await ensureTables(setup.client, names);
    setup.destroy();
    const nowhere = 'http://127.0.0.1:10';
    let sent = 0;
    const unregister = registerDirectLine(nowhere, (request) => {
      sent++;
      return server.direct!(request);
    });
    const direct = createDynamo({ ...localDynamoConfig(nowhere), maxAttempts: 1 });
    const put = (i: number) =>
      direct.doc.send(new PutCommand({ TableName: names.jobs, Item: { jobId: `c-${i}`, status: 'QUEUED' } }));
    const early = Promise.allSettled(Array.from({ length: 100 }, (_, i) => put(i)));
    while (sent < 100) await new Promise((r) => setImmediate(r));
    // The thread gets `close` behind the 100 requests: it answers them before its database closes
    // (closing it under them throws inside dynalite and takes the thread down).
    const closing = server.close();
    const late = Promise.allSettled(Array.from({ length: 20 }, (_, i) => put(100 + i)));
    await closing;
    expect((await early).map((r) => r.status)).toEqual(Array(100).fill('fulfilled'));
    expect((await late).map((r) => r.status)).toEqual(Array(20).fill('rejected'));
    unregister();
    direct.destroy();
  });
});
