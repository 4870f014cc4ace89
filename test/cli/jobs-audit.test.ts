import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DYNAMO_FOLDER, ENDPOINTS_FILE } from '../../cli/data-source.ts';
import { AuditLog } from '../../functions/store/audit.ts';
import { createDynamo, type Dynamo, ensureTables, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { JobStore } from '../../functions/store/jobs.ts';
import { tableNames } from '../../functions/store/tables.ts';
import { ensureLocalKeyPair } from '../../local/auth/data-folder.ts';
import { startDynalite } from '../../local/store/dynalite.ts';
import { runCli } from '../support/cli.ts';

const trigger = { type: 'schedule', actor: 'office-hours' };
const names = tableNames();

/** Opens a data folder the way `fleetflow start` would, for the duration of `fn`. */
async function withFolder<T>(dataDir: string, fn: (d: Dynamo) => Promise<T>): Promise<T> {
  const local = await startDynalite({ path: join(dataDir, DYNAMO_FOLDER) });
  const dynamo = createDynamo(localDynamoConfig(local.endpoint));
  try {
    await ensureTables(dynamo.client, names);
    return await fn(dynamo);
  } finally {
    dynamo.destroy();
    await local.close();
  }
}

const run = runCli;

describe('fleetflow jobs and audit commands', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetflow-cli-'));
  const dataDir = join(root, 'data');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeAll(async () => {
    await withFolder(dataDir, async ({ doc }) => {
      let tick = Date.UTC(2026, 10, 20, 18);
      const now = () => {
        tick += 1000; // distinct, ordered timestamps
        return new Date(tick);
      };
      const jobs = new JobStore(doc, names.jobs, { now });
      const audit = new AuditLog(doc, names.audit, { now });

      await jobs.create({ jobId: 'job-done', kind: 'power-schedule', trigger, request: { action: 'stop' } });
      await jobs.transition('job-done', 'RUNNING', { executionArn: 'arn:exec:job-done' });
      const stop = await audit.append({
        kind: 'intent',
        jobId: 'job-done',
        trigger,
        provider: 'exoscale',
        account: 'acme',
        location: 'ch-gva-2',
        instanceId: 'i-web-1',
        action: 'stop',
        parameters: { apiKey: 'EXO-should-not-show' },
      });
      await audit.appendOutcome(stop, { result: { state: 'stopped' }, providerRequestId: 'req-1' });
      await jobs.recordResult('job-done', 'exoscale:i-web-1', { status: 'SUCCEEDED', instanceId: 'i-web-1' });
      await jobs.transition('job-done', 'SUCCEEDED');

      await jobs.create({ jobId: 'job-crashed', kind: 'provision', trigger, request: { name: 'db-1' } });
      await jobs.transition('job-crashed', 'RUNNING', { executionArn: 'arn:exec:job-crashed' });
      await jobs.appendStep('job-crashed', {
        name: 'create',
        status: 'STARTED',
        startedAt: now().toISOString(),
      });
      await audit.append({
        kind: 'intent',
        jobId: 'job-crashed',
        trigger,
        provider: 'gcore',
        instanceId: 'i-db-1',
        action: 'create',
      });
    });
  });

  it('lists jobs newest first, filtered by status, as a table or JSON', async () => {
    const text = await run('jobs', 'list', '--data-dir', dataDir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/JOB\s+KIND\s+STATUS/);
    expect(text.stdout.indexOf('job-crashed')).toBeLessThan(text.stdout.indexOf('job-done'));

    const json = await run('jobs', 'list', '--data-dir', dataDir, '--status', 'RUNNING', '--json');
    expect(JSON.parse(json.stdout).map((j: { jobId: string }) => j.jobId)).toEqual(['job-crashed']);

    const limited = await run('jobs', 'list', '--data-dir', dataDir, '--limit', '1', '--json');
    expect(JSON.parse(limited.stdout)).toHaveLength(1);
  });

  it('rejects a bad status or limit as usage errors', async () => {
    expect((await run('jobs', 'list', '--data-dir', dataDir, '--status', 'DONE')).code).toBe(2);
    expect((await run('jobs', 'list', '--data-dir', dataDir, '--limit', '0')).code).toBe(2);
  });

  it('shows a job with steps, results and — visibly — the intent that never got an outcome', async () => {
    const crashed = await run('jobs', 'show', 'job-crashed', '--data-dir', dataDir);
    expect(crashed.code).toBe(0);
    expect(crashed.stdout).toContain('status     RUNNING');
    expect(crashed.stdout).toMatch(/steps \(1\)[\s\S]*create\s+STARTED/);
    expect(crashed.stdout).toMatch(
      /!! 1 provider call\(s\) with an intent but no outcome[\s\S]*create\s+gcore\s+i-db-1/,
    );

    const done = await run('jobs', 'show', 'job-done', '--data-dir', dataDir, '--json');
    const shown = JSON.parse(done.stdout);
    expect(shown.job).toMatchObject({
      status: 'SUCCEEDED',
      results: { 'exoscale:i-web-1': { status: 'SUCCEEDED' } },
    });
    expect(shown.pendingIntents).toEqual([]);
  });

  it('fails clearly for an unknown job', async () => {
    const missing = await run('jobs', 'show', 'nope', '--data-dir', dataDir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('job nope not found');
  });

  it('shows audit events by job and by instance, newest first, with parameters redacted', async () => {
    const byJob = await run('audit', 'show', '--job', 'job-done', '--data-dir', dataDir, '--json');
    const events = JSON.parse(byJob.stdout);
    expect(events.map((e: { seq: number; kind: string }) => [e.seq, e.kind])).toEqual([
      [1, 'outcome'],
      [0, 'intent'],
    ]);
    expect(byJob.stdout).not.toContain('EXO-should-not-show');

    const byInstance = await run('audit', 'show', '--instance', 'i-web-1', '--data-dir', dataDir);
    expect(byInstance.code).toBe(0);
    expect(byInstance.stdout).toMatch(/outcome of 0\s+stop/);
    expect(byInstance.stdout).toContain('req-1');

    expect((await run('audit', 'show', '--data-dir', dataDir)).code).toBe(2);
    expect((await run('audit', 'show', '--job', 'a', '--instance', 'b', '--data-dir', dataDir)).code).toBe(2);
  });

  it('verifies the whole trail and lists intents without an outcome', async () => {
    const ok = await run('audit', 'verify', '--data-dir', dataDir);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('ok: 3 events in 2 chain(s)');
    expect(ok.stdout).toMatch(/1 intent\(s\) with no outcome[\s\S]*job-crashed\s+0\s+create/);

    const one = await run('audit', 'verify', '--instance', 'i-web-1', '--data-dir', dataDir, '--json');
    expect(JSON.parse(one.stdout)).toMatchObject({ ok: true, checked: 2, chains: 1 });
  });

  it('uses the endpoint a running `fleetflow start` published, and ignores a stale one', async () => {
    // As `fleetflow start` runs it: holding the LevelDB lock, taking only the folder's key pair.
    const running = await startDynalite({
      path: join(dataDir, DYNAMO_FOLDER),
      credentials: ensureLocalKeyPair(dataDir),
    });
    try {
      writeFileSync(join(dataDir, ENDPOINTS_FILE), JSON.stringify({ dynamodb: running.endpoint }));
      const viaEndpoint = await run('jobs', 'list', '--data-dir', dataDir, '--json');
      expect(viaEndpoint.code).toBe(0);
      expect(JSON.parse(viaEndpoint.stdout)).toHaveLength(2);
    } finally {
      await running.close();
    }
    // The process is gone; its file is not: the folder is opened directly.
    const stale = await run('jobs', 'list', '--data-dir', dataDir, '--json');
    expect(stale.code).toBe(0);
    expect(JSON.parse(stale.stdout)).toHaveLength(2);
    rmSync(join(dataDir, ENDPOINTS_FILE));
  });

  it('explains what to do when there is no local data', async () => {
    const none = await run('jobs', 'list', '--data-dir', join(root, 'empty'));
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no local data in');
    expect(none.stderr).toContain('hint: run `fleetflow start` first');
  });

  it('names the first broken link and exits 1 when an event was altered', async () => {
    await withFolder(dataDir, ({ doc }) =>
      doc.send(
        new UpdateCommand({
          TableName: names.audit,
          Key: { chain: 'job-done', seq: 1 },
          UpdateExpression: 'SET #r = :r',
          ExpressionAttributeNames: { '#r': 'result' },
          ExpressionAttributeValues: { ':r': { state: 'running' } },
        }),
      ),
    );

    const broken = await run('audit', 'verify', '--data-dir', dataDir);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('BROKEN: chain job-done, seq 1: altered');
    expect(broken.stderr).toContain('audit chain job-done is broken at seq 1 (altered)');

    const json = await run('audit', 'verify', '--job', 'job-done', '--data-dir', dataDir, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).firstBroken).toMatchObject({
      chain: 'job-done',
      seq: 1,
      reason: 'altered',
    });

    expect((await run('audit', 'verify', '--job', 'job-crashed', '--data-dir', dataDir)).code).toBe(0);
  });
});
