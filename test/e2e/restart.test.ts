import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobView, provision, requestFor, waitForJobState } from './support/flow.ts';
import { startTestRuntime, type TestRuntime } from './support/runtime.ts';

/**
 * Executions are journaled in the data folder: a job that was RUNNING when its runtime stopped
 * resumes in the next runtime on the same folder, its finished steps not run again, and ends —
 * never left RUNNING, never abandoned as INTERRUPTED. Its own file because it needs two runtimes
 * one after the other (each sets process.env).
 */
const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-e2e-restart-'));
let current: TestRuntime | undefined;

afterAll(async () => {
  await current?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('restart', () => {
  it('resumes a job whose runtime stopped mid-way, and it ends', async () => {
    current = await startTestRuntime({ dataDir, persist: true });
    const sim = current.runtime.simulators.exoscale!;
    const request = requestFor('exoscale', sim, { name: 'e2e-restart' });
    // The create never finishes, so the job is still RUNNING when the runtime goes away.
    sim.faults.stuckOperations = 1;
    const jobId = await provision(current.runtime, request);
    const running = await waitForJobState(current.runtime, jobId, (v) =>
      v.job.steps.some((s) => s.name === 'create' && s.status === 'STARTED'),
    );
    expect(running.job.status).toBe('RUNNING');
    const other = await provision(current.runtime, requestFor('exoscale', sim, { name: 'e2e-restart-ok' }));
    const done = await waitForJobState(current.runtime, other, (v) => v.job.status === 'SUCCEEDED');
    expect(done.job.status).toBe('SUCCEEDED');
    await current.close();
    current = undefined;

    current = await startTestRuntime({ dataDir, persist: true });
    const resumed = await jobView(current.runtime, jobId);
    expect(current.runtime.engine.describeExecution(resumed.job.executionArn!).status).toBe('RUNNING');
    // The in-process simulator restarted too and no longer knows the create's operation: the
    // resumed workflow sees that and ends the job with a reason instead of leaving it RUNNING.
    const after = await waitForJobState(current.runtime, jobId, (v) => v.job.endedAt !== undefined);
    expect(after.job.status).not.toBe('INTERRUPTED');
    expect(after.job.status).not.toBe('RUNNING');
    // The create was sent once, before the restart: it was not sent again.
    expect(after.pendingIntents).toEqual([]);
    expect(after.audit.filter((e) => e.kind === 'intent' && e.action === 'create')).toHaveLength(1);
    // A finished job is left as it was.
    expect((await jobView(current.runtime, other)).job.status).toBe('SUCCEEDED');
  }, 180_000);
});
