import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTask, taskFailureReason } from '../../../functions/providers/cloudca/client.ts';
import { ProviderInvalidStateError } from '../../../functions/providers/errors.ts';
import { waitForOperation, waitForState } from '../../../functions/providers/wait.ts';
import { CloudcaSimulator } from '../../../sim/cloudca/simulator.ts';
import type { SimRequest, SimResponse } from '../../../sim/kit/index.ts';
import { adapterFor, FAST, raw, startSim } from './helpers.ts';

describe('cloud.ca task shapes', () => {
  it("reads the docs' shape {taskId, taskStatus, result}", () => {
    const task = readTask({ taskId: 't-1', taskStatus: 'SUCCESS', result: { id: 'i-1' } });
    expect(task).toEqual({ id: 't-1', status: 'SUCCESS', result: { id: 'i-1' } });
  });

  it("reads go-cloudca's shape data:{id, status, created, result}", () => {
    const task = readTask({
      data: { id: 't-2', status: 'FAILED', created: '2015-07-07', result: { message: 'boom' } },
    });
    expect(task).toEqual({ id: 't-2', status: 'FAILED', created: '2015-07-07', result: { message: 'boom' } });
    expect(taskFailureReason(task)).toBe('boom');
  });

  it('compares statuses case-insensitively and falls back to the polled id', () => {
    expect(readTask({ taskStatus: 'pending' }, 't-3')).toEqual({ id: 't-3', status: 'PENDING' });
    expect(readTask({ data: { id: 't-4', status: 'Success' } }).status).toBe('SUCCESS');
  });

  it('finds a failure reason in an errors list, or says which task failed', () => {
    expect(
      taskFailureReason({
        id: 't',
        status: 'FAILED',
        result: { errors: [{ code: 500, message: 'no capacity' }] },
      }),
    ).toBe('no capacity');
    expect(taskFailureReason({ id: 't-9', status: 'FAILED' })).toBe('task t-9 failed');
  });
});

describe.each([
  ['docs', 'code'],
  ['go', 'errorCode'],
] as const)(
  'cloud.ca adapter against the simulator (task shape %s, error key %s)',
  (taskShape, errorCodeKey) => {
    let sim: CloudcaSimulator;
    beforeAll(async () => {
      sim = await startSim({ taskShape, errorCodeKey });
    });
    afterAll(async () => {
      await sim.close();
    });

    it('serves only the chosen task shape, and the adapter completes operations through it', async () => {
      const provider = adapterFor(sim);
      const running = (await provider.list({ states: ['running'] }))[0]!;
      const op = await provider.stop(running.id);
      expect(op.status).toBe('pending');
      const task = await raw(sim, 'GET', `/tasks/${op.id}`);
      if (taskShape === 'docs') {
        expect(task.body).toMatchObject({ taskId: op.id });
        expect(task.body.data).toBeUndefined();
      } else {
        expect(task.body.data).toMatchObject({ id: op.id, created: expect.any(String) });
        expect(task.body.taskId).toBeUndefined();
      }
      const done = await waitForOperation(provider, op, FAST);
      expect(done).toMatchObject({ status: 'succeeded', instanceId: running.id });
      expect((await provider.get(running.id)).state).toBe('stopped');
    });

    it('reads the wrong-state refusal whichever key carries the code', async () => {
      const provider = adapterFor(sim);
      const stopped = (await provider.list({ states: ['stopped'] }))[0]!;
      const refusal = await raw(
        sim,
        'POST',
        `/services/compute-qc/production/instances/${stopped.id}?operation=stop`,
      );
      expect(refusal.status).toBe(400);
      expect(refusal.body.errors[0][errorCodeKey]).toBe(errorCodeKey === 'code' ? 2012 : '2012');
      expect(refusal.body.errors[0].context).toMatchObject({
        currentState: 'Stopped',
        expectedStates: ['Running'],
        type: 'instances',
      });
      const error = await provider.stop(stopped.id).catch((e) => e);
      expect(error).toBeInstanceOf(ProviderInvalidStateError);
      expect(error.code).toBe('2012');
    });

    it('reports a failed task with its reason', async () => {
      const provider = adapterFor(sim);
      const running = (await provider.list({ states: ['running'] }))[0]!;
      sim.faults.failOperations = 1;
      let op = await provider.reboot(running.id);
      for (let i = 0; i < 100 && op.status === 'pending'; i++) {
        await new Promise((r) => setTimeout(r, 5));
        op = await provider.operation(op);
      }
      expect(op).toMatchObject({ status: 'failed', reason: expect.stringMatching(/Failed to reboot/) });
      await waitForState(provider, running.id, 'running', FAST);
    });
  },
);

/** A cloud.ca that finishes some operations at once: `{taskStatus: 'SUCCESS', data}` (go-cloudca's PollResponse path). */
class SyncSimulator extends CloudcaSimulator {
  protected override async route(req: SimRequest): Promise<SimResponse> {
    const answer = await super.route(req);
    const body = answer.body as { taskId?: string } | undefined;
    if (req.query.operation === 'start' && body?.taskId) {
      return {
        status: 200,
        body: { taskId: body.taskId, taskStatus: 'SUCCESS', data: { id: req.path.split('/').pop() } },
      };
    }
    if (req.query.operation === 'reboot' && body?.taskId) {
      return {
        status: 200,
        body: { taskStatus: 'FAILED', data: { errors: [{ code: 500, message: 'hypervisor busy' }] } },
      };
    }
    return answer;
  }
}

describe('cloud.ca operations that finish in the first answer', () => {
  let sim: SyncSimulator;
  beforeAll(async () => {
    sim = await new SyncSimulator({ seed: 5, fleetSize: 8, transitionMs: 5, operationMs: 5 }).start();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('returns a succeeded operation for SUCCESS + data, and a failed one for FAILED, without polling', async () => {
    const provider = adapterFor(sim);
    const stopped = (await provider.list({ states: ['stopped'] }))[0]!;
    const before = sim.requestLog.length;
    const started = await provider.start(stopped.id);
    expect(started).toMatchObject({
      status: 'succeeded',
      action: 'start',
      instanceId: stopped.id,
      resourceId: stopped.id,
    });
    // Reboot needs Running or Stopped: let the start's transition finish first.
    await waitForState(provider, stopped.id, 'running', { intervalMs: 5, timeoutMs: 5_000 });
    const rebooted = await provider.reboot(stopped.id);
    expect(rebooted).toMatchObject({ status: 'failed', reason: 'hypervisor busy' });
    expect(sim.requestLog.slice(before).some((e) => e.path.includes('/tasks/'))).toBe(false);
  });
});
