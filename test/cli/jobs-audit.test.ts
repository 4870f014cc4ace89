import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localAuditKeys } from '../../cli/audit-keys.ts';
import { DYNAMO_FOLDER, ENDPOINTS_FILE } from '../../cli/data-source.ts';
import { AuditLog } from '../../functions/store/audit.ts';
import { auditKeyring } from '../../functions/store/audit-keys.ts';
import { sha256Canonical } from '../../functions/store/canonical-json.ts';
import { createDynamo, type Dynamo, ensureTables, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { JobStore } from '../../functions/store/jobs.ts';
import { tableNames } from '../../functions/store/tables.ts';
import { ensureLocalKeyPair } from '../../local/auth/data-folder.ts';
import { startDynalite } from '../../local/store/dynalite.ts';
import { runCli } from '../support/cli.ts';

const trigger = { type: 'schedule', actor: 'office-hours' };
/** The sub-chain each job's instance events went to (a writer picks its lane when it appends). */
const chainOf = new Map<string, string>();
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
      // The data folder's own keys, as `fleetflow start` would use them.
      const audit = new AuditLog(doc, names.audit, { now, ...localAuditKeys(dataDir) });

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
      chainOf.set('job-done', stop.chain);
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
    // Time order across the job's chains: the intent, the note linking its chain, the outcome.
    expect(events.map((e: { chain: string; seq: number; kind: string }) => [e.chain, e.seq, e.kind])).toEqual(
      [
        [chainOf.get('job-done'), 1, 'outcome'],
        ['job-done', 0, 'note'],
        [chainOf.get('job-done'), 0, 'intent'],
      ],
    );
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
    expect(ok.stdout).toContain(
      'ok: 5 events in 4 chain(s), every link intact; checked with no checkpoint yet',
    );
    expect(ok.stdout).toContain('no-checkpoint');
    expect(ok.stdout).toMatch(/1 intent\(s\) with no outcome[\s\S]*job-crashed#\d+\s+0\s+create/);

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

  it('names the broken link and exits 1 when an event was altered', async () => {
    const chain = chainOf.get('job-done')!;
    await withFolder(dataDir, ({ doc }) =>
      doc.send(
        new UpdateCommand({
          TableName: names.audit,
          Key: { chain, seq: 1 },
          UpdateExpression: 'SET #r = :r',
          ExpressionAttributeNames: { '#r': 'result' },
          ExpressionAttributeValues: { ':r': { state: 'running' } },
        }),
      ),
    );

    const broken = await run('audit', 'verify', '--data-dir', dataDir);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`BROKEN: chain ${chain}, seq 1: altered`);
    expect(broken.stderr).toContain(
      `audit trail broken: 1 problem(s); first: chain ${chain} at seq 1 (altered)`,
    );

    const json = await run('audit', 'verify', '--job', 'job-done', '--data-dir', dataDir, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).broken).toEqual([
      expect.objectContaining({ chain, seq: 1, reason: 'altered' }),
    ]);

    expect((await run('audit', 'verify', '--job', 'job-crashed', '--data-dir', dataDir)).code).toBe(0);
  });
});

describe('fleetflow audit verify: keyed chains, checkpoints, and every tamper named with exit 1', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetflow-cli-tamper-'));
  const dataDir = join(root, 'data');
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const instance = (job: string) => `i-${job}`;
  const sub = (job: string) => chainOf.get(job)!;
  let keyMaterial: string[] = [];

  /** Raw access to the table, as someone with write access but no key would have. */
  async function tamper(fn: (doc: Dynamo['doc']) => Promise<unknown>): Promise<void> {
    await withFolder(dataDir, ({ doc }) => fn(doc));
  }
  const item = async (doc: Dynamo['doc'], chain: string, seq: number) =>
    (await doc.send(new GetCommand({ TableName: names.audit, Key: { chain, seq } }))).Item as Record<
      string,
      unknown
    >;
  const drop = (doc: Dynamo['doc'], chain: string, seq: number) =>
    doc.send(new DeleteCommand({ TableName: names.audit, Key: { chain, seq } }));

  beforeAll(async () => {
    await withFolder(dataDir, async ({ doc }) => {
      const audit = new AuditLog(doc, names.audit, localAuditKeys(dataDir));
      const jobs = new JobStore(doc, names.jobs);
      for (const job of ['j-ok', 'j-alter', 'j-tail', 'j-gone', 'j-sha', 'j-hmac', 'j-lost']) {
        for (let pair = 0; pair < 2; pair++) {
          const intent = await audit.append({
            kind: 'intent',
            jobId: job,
            trigger,
            provider: 'exoscale',
            instanceId: instance(job),
            action: 'stop',
          });
          await audit.appendOutcome(intent, { result: { status: 'pending' } });
          if (chainOf.has(job)) expect(intent.chain).toBe(chainOf.get(job)); // one writer keeps its lane
          chainOf.set(job, intent.chain);
        }
      }
      // A job whose record shows a provider call, its chains removed before any checkpoint.
      await jobs.create({ jobId: 'j-lost', kind: 'provision', trigger, request: {} });
      await jobs.appendStep('j-lost', {
        name: 'create',
        status: 'STARTED',
        startedAt: new Date().toISOString(),
        detail: { operationId: 'op-1' },
      });
      for (const chain of ['j-lost', sub('j-lost')])
        for (const seq of [0, 1, 2, 3]) await drop(doc, chain, seq);
      await audit.checkpoints.periodic(); // the first checkpoint adopts every chain there is
    });
    keyMaterial = ['audit-chain.key', 'audit-checkpoint.key'].map(
      (f) => JSON.parse(readFileSync(join(dataDir, f), 'utf8')).key as string,
    );
  });

  it('keeps its keys in 0600 files of the data folder and never prints them', async () => {
    for (const f of ['audit-chain.key', 'audit-checkpoint.key']) {
      expect(statSync(join(dataDir, f)).mode & 0o777).toBe(0o600);
    }
    const ok = await run('audit', 'verify', '--job', 'j-ok', '--data-dir', dataDir);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /ok: 5 events in 2 chain\(s\), every link intact; checked against \d+ checkpoint\(s\) \(newest #0, adopt/,
    );
    expect(ok.stdout).toMatch(
      new RegExp(`${sub('j-ok')}\\s+4\\s+keyed\\s+ok\\s+#0 at \\S+ \\(up to seq 3\\)\\s+0`),
    );
    const json = await run('audit', 'verify', '--data-dir', dataDir, '--json');
    for (const out of [ok.stdout, ok.stderr, json.stdout, json.stderr]) {
      for (const key of keyMaterial) expect(out).not.toContain(key);
    }
  });

  it('names each tamper on its own job, with exit 1', async () => {
    await tamper(async (doc) => {
      // an altered event
      await doc.send(
        new PutCommand({
          TableName: names.audit,
          Item: { ...(await item(doc, sub('j-alter'), 1)), result: { status: 'succeeded' } },
        }),
      );
      // the newest events deleted
      await drop(doc, sub('j-tail'), 3);
      await drop(doc, sub('j-tail'), 2);
      // a whole job's chains deleted
      for (const chain of ['j-gone', sub('j-gone')])
        for (const seq of [0, 1, 2, 3]) await drop(doc, chain, seq);
      // a hash recomputed with plain SHA-256 (the key id dropped, as if written before keying)
      const {
        hash: _h,
        keyId: _k,
        ...plain
      }: Record<string, unknown> = { ...(await item(doc, sub('j-sha'), 3)), result: { x: 1 } };
      await doc.send(
        new PutCommand({ TableName: names.audit, Item: { ...plain, hash: sha256Canonical(plain) } }),
      );
      // a hash recomputed with HMAC under a key that is not the audit key
      const wrong = auditKeyring({ key: 'not-the-audit-key-but-long-enough-0123456789' }, 'attacker');
      const { hash: _h2, ...forged }: Record<string, unknown> = {
        ...(await item(doc, sub('j-hmac'), 1)),
        result: { x: 1 },
        keyId: wrong.current.id,
      };
      await doc.send(
        new PutCommand({ TableName: names.audit, Item: { ...forged, hash: wrong.current.sign(forged) } }),
      );
    });

    const expectations: Array<[string, string]> = [
      ['j-alter', `BROKEN: chain ${sub('j-alter')}, seq 1: altered`],
      ['j-tail', `BROKEN: chain ${sub('j-tail')}, seq 2: truncated — events 2..3 are gone: checkpoint 0`],
      ['j-gone', `BROKEN: chain j-gone, seq 0: deleted-chain`],
      ['j-sha', `BROKEN: chain ${sub('j-sha')}, seq 3: unkeyed`],
      ['j-hmac', `BROKEN: chain ${sub('j-hmac')}, seq 1: unknown-key`],
      ['j-lost', 'BROKEN: chain j-lost, seq 0: job-without-chain'],
    ];
    for (const [job, line] of expectations) {
      const out = await run('audit', 'verify', '--job', job, '--data-dir', dataDir);
      expect(out.code, job).toBe(1);
      expect(out.stdout, job).toContain(line);
      expect(out.stderr, job).toContain('audit trail broken');
    }
    const gone = await run('audit', 'verify', '--job', 'j-gone', '--data-dir', dataDir);
    expect(gone.stdout).toContain(`BROKEN: chain ${sub('j-gone')}, seq 0: deleted-chain`);
    expect((await run('audit', 'verify', '--job', 'j-ok', '--data-dir', dataDir)).code).toBe(0);
  });

  it('a whole-trail verify names every broken chain at once, and says which jobs are intact', async () => {
    const all = await run('audit', 'verify', '--data-dir', dataDir);
    expect(all.code).toBe(1);
    const lines = all.stdout.split('\n').filter((l) => l.startsWith('BROKEN:'));
    expect(lines).toHaveLength(7);
    expect(all.stderr).toContain('audit trail broken: 7 problem(s)');
    expect(all.stdout).toMatch(/j-ok \(\+1\)\s+5\s+keyed\s+ok\s+#0 at/);
    expect(all.stdout).toMatch(/j-alter \(\+1\)\s+\d+\s+keyed\s+BROKEN\s+#0 at/);
    expect(all.stdout).toMatch(/j-gone \(\+1\)\s+0\s+none\s+BROKEN/);
    // Intents are counted on intact chains only: a broken chain's open intents mean nothing.
    expect(all.stdout).not.toContain('intent(s) with no outcome');
    const json = JSON.parse((await run('audit', 'verify', '--data-dir', dataDir, '--json')).stdout);
    expect(new Set(json.broken.map((b: { reason: string }) => b.reason))).toEqual(
      new Set(['altered', 'truncated', 'deleted-chain', 'unkeyed', 'unknown-key', 'job-without-chain']),
    );
  });

  it('fails when a checkpoint known from elsewhere is gone, and when a key file is readable by others', async () => {
    const expected = await run(
      'audit',
      'verify',
      '--job',
      'j-ok',
      '--expect-checkpoint',
      '4',
      '--data-dir',
      dataDir,
    );
    expect(expected.code).toBe(1);
    expect(expected.stdout).toContain(
      'checkpoint 4 is gone (the newest is 0): the newest checkpoints were deleted',
    );

    chmodSync(join(dataDir, 'audit-chain.key'), 0o644);
    try {
      const open = await run('audit', 'verify', '--job', 'j-ok', '--data-dir', dataDir);
      expect(open.code).toBe(1);
      expect(open.stderr).toContain('is readable by others (mode 644); run chmod 600 on it');
      for (const key of keyMaterial) expect(open.stderr + open.stdout).not.toContain(key);
    } finally {
      chmodSync(join(dataDir, 'audit-chain.key'), 0o600);
    }
  });
});
