import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobView, provision, requestFor, waitForJobState } from './support/flow.ts';
import { startTestRuntime, type TestRuntime } from './support/runtime.ts';

/**
 * Executions live in the engine's memory: a job that was RUNNING when its runtime stopped must be
 * marked INTERRUPTED by the next runtime on the same data folder, never left RUNNING. Its own file
 * because it needs two runtimes one after the other (each sets process.env).
 */
const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-e2e-restart-'));
let current: TestRuntime | undefined;

afterAll(async () => {
  await current?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('restart', () => {
  it('marks a job whose execution was lost INTERRUPTED, with a reason', async () => {
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
    const after = await jobView(current.runtime, jobId);
    expect(after.job.status).toBe('INTERRUPTED');
    expect(after.job.error).toEqual({
      code: 'Interrupted',
      message: expect.stringMatching(/runtime stopped/),
    });
    expect(after.job.endedAt).toBeTruthy();
    // The create was sent before the restart: its intent and outcome are both on record.
    expect(after.pendingIntents).toEqual([]);
    expect(after.audit.filter((e) => e.kind === 'intent').map((e) => e.action)).toEqual(['create']);
    // A finished job is left as it was.
    expect((await jobView(current.runtime, other)).job.status).toBe('SUCCEEDED');
  }, 180_000);
});
