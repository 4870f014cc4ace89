import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/log.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { createDynamo, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { type JobStatus, JobStore } from '../../functions/store/jobs.ts';
import { tableNames } from '../../functions/store/tables.ts';
import { startDynalite } from '../../local/store/dynalite.ts';
import { type LevelDb, openLevel } from '../../local/store/level.ts';
import { httpGet, requestFor, waitForJob } from '../e2e/support/flow.ts';
import { startTestRuntime, type TestRuntime } from '../e2e/support/runtime.ts';
import { runCli } from '../support/cli.ts';

/**
 * What a crash or a bad disk leaves in the data folder, built exactly — index entries and items
 * written apart through dynalite's own LevelDB (as a kill between dynalite's separate writes leaves
 * them), bytes flipped in a table file — and what fleetflow makes of it: the restart comes up,
 * `fleetflow doctor` names and repairs, a damaged part answers 503 while the rest works.
 */
const folders: string[] = [];
let current: TestRuntime | undefined;
afterAll(async () => {
  await current?.close();
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

const trigger = { type: 'webhook', actor: 'webhook-sender' } as const;

/** A data folder with three provisioning jobs: two QUEUED (accepted, not started), one FAILED. */
async function folderWithJobs(label: string): Promise<{ dataDir: string; ids: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), `fleetflow-storage-${label}-`));
  folders.push(dataDir);
  current = await startTestRuntime({ dataDir, persist: true, providers: ['exoscale'] });
  const sim = current.runtime.simulators.exoscale!;
  const ids = ['a', 'b', 'c'].map((x) => `prov-${label}-${x}`);
  for (const [i, jobId] of ids.entries()) {
    await stores().jobs.create({
      jobId,
      kind: 'provision',
      trigger,
      request: { ...requestFor('exoscale', sim, { name: `${label}-${i}` }), account: 'default' },
    });
  }
  await stores().jobs.transition(ids[1]!, 'FAILED', { error: { code: 'Test', message: 'made to fail' } });
  await current.close();
  current = undefined;
  return { dataDir, ids };
}

// dynalite's own key code, to write entries exactly where dynalite would.
const dynaliteDb = createRequire(createRequire(import.meta.url).resolve('dynalite'))('./db/index.js') as {
  getIndexActions(
    indexes: unknown[],
    existing: null,
    item: unknown,
    table: unknown,
  ): {
    puts: Array<{ index: string; key: string; item: Record<string, { S?: string }> }>;
  };
};

/** The byStatus entry dynalite writes for a job item, for the item as given. */
async function byStatusEntry(db: LevelDb, item: Record<string, { S?: string }>) {
  const table = (await db.get('table~fleetflow-jobs')) as {
    GlobalSecondaryIndexes: Array<{ IndexName: string }>;
  };
  const put = dynaliteDb
    .getIndexActions(table.GlobalSecondaryIndexes, null, item, table)
    .puts.find((p) => p.index === 'byStatus')!;
  return { key: `index-global~fleetflow-jobs~byStatus~${put.key}`, value: put.item };
}

/** Breaks the byStatus index three ways, as kills between dynalite's writes do. */
async function breakIndex(dataDir: string, ids: string[]): Promise<void> {
  const db = await openLevel(join(dataDir, 'dynamo'));
  const items = new Map<string, Record<string, { S?: string }>>();
  for await (const [, item] of db.iterator({ gte: 'item-fleetflow-jobs~', lt: 'item-fleetflow-jobs~\xff' })) {
    const it = item as Record<string, { S?: string }>;
    items.set(it.jobId!.S!, it);
  }
  const [a, b] = [items.get(ids[0]!)!, items.get(ids[1]!)!];
  // a: its entry deleted (the index delete happened, the put did not).
  await db.batch([{ type: 'del', key: (await byStatusEntry(db, a)).key }]);
  // b: an entry for a status its item never reached (the index put happened, the item put did not).
  const stale = await byStatusEntry(db, { ...b, status: { S: 'RUNNING' } });
  await db.batch([{ type: 'put', key: stale.key, value: stale.value }]);
  // d: an entry for an item that was never written at all.
  const ghost = await byStatusEntry(db, { ...a, jobId: { S: 'prov-never-written' } });
  await db.batch([{ type: 'put', key: ghost.key, value: ghost.value }]);
  await db.close();
}

describe('an index that disagrees with its items', () => {
  it('fleetflow doctor names it, --repair rebuilds it from the items and says so', async () => {
    const { dataDir, ids } = await folderWithJobs('doctor');
    await breakIndex(dataDir, ids);

    const check = await runCli('doctor', '--data-dir', dataDir);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/fleetflow-jobs\/byStatus 2 stale, 1 missing, 0 outdated/);
    expect(check.stdout).toMatch(/jobId=prov-never-written/);
    expect(check.stdout).toMatch(/fleetflow doctor --repair/);
    // Accepted, never started: no execution journaled; the next start starts them.
    expect(check.stdout).toMatch(new RegExp(`${ids[0]} QUEUED \\(execution gone\\)`));

    const repair = await runCli('doctor', '--data-dir', dataDir, '--repair', '--json');
    expect(repair.code, repair.stdout).toBe(0);
    expect(JSON.parse(repair.stdout)).toMatchObject({
      healthy: true,
      repaired: [
        expect.stringMatching(/index fleetflow-jobs\/byStatus rebuilt from its items \(2 stale, 1 missing/),
      ],
    });
    expect((await runCli('doctor', '--data-dir', dataDir)).stdout).toMatch(/ok {3}indexes: agree with the/);

    // Read through dynalite as the runtime does: the index now says what the items say.
    const dynamo = await startDynalite({ path: join(dataDir, 'dynamo') });
    const { doc, destroy } = createDynamo(localDynamoConfig(dynamo.endpoint));
    const jobs = new JobStore(doc, tableNames().jobs);
    const byStatus = async (status: JobStatus) => {
      const out: string[] = [];
      for await (const job of jobs.listAll({ status })) out.push(job.jobId);
      return out.sort();
    };
    expect(await byStatus('RUNNING')).toEqual([]);
    expect(await byStatus('QUEUED')).toEqual([ids[0], ids[2]]);
    expect(await byStatus('FAILED')).toEqual([ids[1]]);
    destroy();
    await dynamo.close();
  }, 120_000);

  it('the restart comes up on it (where it used to exit on the first bad job) and provisions the accepted jobs', async () => {
    await current?.close();
    current = undefined;
    const { dataDir, ids } = await folderWithJobs('restart');
    await breakIndex(dataDir, ids);

    current = await startTestRuntime({ dataDir, persist: true, providers: ['exoscale'] });
    expect(current.runtime.recovery.jobs.map((j) => [j.jobId, j.action]).sort()).toEqual([
      [ids[0], 'started'],
      [ids[2], 'started'],
    ]);
    for (const id of [ids[0]!, ids[2]!])
      expect((await waitForJob(current.runtime, id)).job.status).toBe('SUCCEEDED');
    expect((await httpGet(current.runtime, `/jobs?status=RUNNING`)).json).toEqual({ items: [] });
  }, 180_000);
});

describe('a damaged data file', () => {
  it('is one line naming the file and fleetflow doctor; the server stays up and answers 503 for what it cannot read', async () => {
    await current?.close();
    current = undefined;
    const { dataDir } = await folderWithJobs('damage');
    const folder = join(dataDir, 'dynamo');
    // Reopening turns the log into a table file; then bytes in its middle are flipped.
    await (await openLevel(folder)).close();
    const [file] = readdirSync(folder)
      .filter((f) => f.endsWith('.ldb'))
      .sort((x, y) => statSync(join(folder, y)).size - statSync(join(folder, x)).size);
    expect(file).toBeTruthy();
    const bytes = readFileSync(join(folder, file!));
    for (const at of [0.3, 0.6])
      for (let i = 0; i < 256; i++) bytes[Math.floor(bytes.length * at) + i]! ^= 0xff;
    writeFileSync(join(folder, file!), bytes);

    const lines: string[] = [];
    current = await startTestRuntime({
      dataDir,
      persist: true,
      providers: ['exoscale'],
      logger: createLogger({ component: 'runtime' }, 'info', (line) => lines.push(line)),
    });
    const damage = lines.filter((l) => l.includes('damaged data file'));
    expect(damage.length).toBeGreaterThan(0);
    expect(damage[0]).toContain(join(folder, file!));
    expect(damage[0]).toContain(`fleetflow doctor --data-dir ${dataDir}`);

    const jobs = await httpGet(current.runtime, '/jobs');
    expect(jobs.status, jobs.text).toBe(503);
    expect(jobs.json).toMatchObject({ error: { code: 'store-unavailable' } });
    expect((await httpGet(current.runtime, '/')).status).toBe(200); // the rest is served
    await current.close();
    current = undefined;

    const verify = await runCli('audit', 'verify', '--data-dir', dataDir);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/damaged data file: .*\.ldb.*fleetflow doctor/);

    const check = await runCli('doctor', '--data-dir', dataDir, '--json');
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout).damaged).toEqual([
      { file: join(folder, file!), problem: expect.stringMatching(/Corruption/) },
    ]);
    const repair = await runCli('doctor', '--data-dir', dataDir, '--repair', '--json');
    const repaired = JSON.parse(repair.stdout) as { backup: string; repaired: string[] };
    expect(repaired.repaired[0]).toMatch(/salvaged what LevelDB could read/);
    expect(statSync(repaired.backup).isDirectory()).toBe(true);

    current = await startTestRuntime({ dataDir, persist: true, providers: ['exoscale'] });
    expect((await httpGet(current.runtime, '/jobs')).status).toBe(200);
  }, 180_000);
});
