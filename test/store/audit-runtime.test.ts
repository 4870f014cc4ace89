import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AUDIT_KEY_ENV, LOCAL_KEY_FILES } from '../../functions/runtime/audit-key.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { createDynamo, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { tableNames } from '../../functions/store/tables.ts';
import { httpGet, provision, requestFor, waitForJob } from '../e2e/support/flow.ts';
import { startTestRuntime, type TestRuntime } from '../e2e/support/runtime.ts';

/**
 * The audit trail as `fleetflow start` runs it: its keys made on first start in the data folder
 * (0600, passed to the handlers by reference only), a checkpoint at start and at each job's end,
 * and the key material nowhere — not in a log line, a stored item, an execution's history or an
 * API answer. Its own file: it needs two runtimes one after the other (each sets process.env).
 */
const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-audit-runtime-'));
let current: TestRuntime | undefined;
afterAll(async () => {
  await current?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the audit trail in fleetflow start', () => {
  it('keys by reference from 0600 files, checkpoints at start and at each job end, and never lets a key out', async () => {
    let printed = '';
    const capture = (chunk: unknown) => {
      printed += String(chunk);
      return true;
    };
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    try {
      current = await startTestRuntime({ dataDir, persist: true, providers: ['exoscale'] });
      const files = Object.values(LOCAL_KEY_FILES).map((f) => join(dataDir, f));
      for (const f of files) expect(statSync(f).mode & 0o777).toBe(0o600);
      const keys = files.map((f) => JSON.parse(readFileSync(f, 'utf8')).key as string);
      expect(process.env[AUDIT_KEY_ENV.chain]).toBe(pathToFileURL(files[0]!).href);
      expect(process.env[AUDIT_KEY_ENV.checkpoint]).toBe(pathToFileURL(files[1]!).href);

      const { audit } = stores();
      expect(await audit.checkpoints.latest()).toMatchObject({ seq: 0, reason: 'adopt', heads: [] });

      const sim = current.runtime.simulators.exoscale!;
      const jobId = await provision(current.runtime, requestFor('exoscale', sim, { name: 'audit-rt' }));
      const view = await waitForJob(current.runtime, jobId);
      expect(view.job.status).toBe('SUCCEEDED');
      await current.runtime.engine.waitForExecution(view.job.executionArn!);

      // The job's end was checkpointed: every one of its chains, at its head.
      const latest = await audit.checkpoints.latest();
      expect(latest).toMatchObject({ reason: 'job-end', jobId, prev: { seq: latest!.seq - 1 } });
      const chains = await audit.chainsOfJob(jobId);
      expect(chains.length).toBeGreaterThanOrEqual(2);
      expect(latest!.heads.map((h) => h.chain).sort()).toEqual([...chains].sort());
      const report = await audit.verify({ jobId });
      expect(report.broken).toEqual([]);
      for (const r of report.chainReports) {
        expect(r, r.chain).toMatchObject({ ok: true, keying: 'keyed', uncheckpointed: 0 });
        expect(r.lastCheckpoint?.seq, r.chain).toBe(latest!.seq);
      }

      // The key material is nowhere: logs, stored items, execution history, API answers.
      const dynamo = createDynamo({
        ...localDynamoConfig(current.runtime.urls.dynamodb),
        credentials: current.runtime.credentials, // the data folder's key pair: the endpoint checks it
      });
      const stored: unknown[] = [];
      for (const table of Object.values(tableNames())) {
        stored.push((await dynamo.doc.send(new ScanCommand({ TableName: table }))).Items);
      }
      dynamo.destroy();
      const history = current.runtime.engine.getExecutionHistory(view.job.executionArn!);
      const answered = (await httpGet(current.runtime, `/jobs/${jobId}`)).text;
      for (const key of keys) {
        for (const [where, text] of Object.entries({
          logs: printed,
          stored: JSON.stringify(stored),
          history: JSON.stringify(history),
          answered,
          env: JSON.stringify(process.env),
        })) {
          expect(text.includes(key), `key material in ${where}`).toBe(false);
        }
      }

      // A restart keeps the keys (a new key would orphan every chain), and the trail still verifies.
      await current.close();
      current = await startTestRuntime({ dataDir, persist: true, providers: ['exoscale'] });
      expect(files.map((f) => JSON.parse(readFileSync(f, 'utf8')).key)).toEqual(keys);
      expect((await stores().audit.verify()).broken).toEqual([]);
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
  }, 180_000);
});
