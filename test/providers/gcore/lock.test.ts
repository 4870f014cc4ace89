import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderTransientError } from '../../../functions/providers/errors.ts';
import { GcoreProvider } from '../../../functions/providers/gcore/client.ts';
import { RetryBudget, RetryPolicy } from '../../../functions/providers/http/retry.ts';
import { waitForOperation, waitForState } from '../../../functions/providers/wait.ts';
import { GcoreSimulator } from '../../../sim/gcore/simulator.ts';

/**
 * Gcore locks an instance while one of its tasks runs and answers 409 to any other mutation.
 * Two back-to-back mutations must both succeed: the second is retried through the 409.
 */
const FAST = { intervalMs: 10, maxIntervalMs: 50, timeoutMs: 10_000 };
let sim: GcoreSimulator;
let p: GcoreProvider;

beforeAll(async () => {
  sim = await new GcoreSimulator({ seed: 3, fleetSize: 2, transitionMs: 400, operationMs: 400 }).start();
  p = new GcoreProvider({
    location: sim.defaultLocation,
    credentials: sim.credentials,
    endpoint: sim.endpoint(),
    // Deterministic backoff (random = 1): 60, 120, 240… ms, enough attempts to outlast a 400 ms task.
    retry: new RetryPolicy({
      baseDelayMs: 60,
      maxDelayMs: 400,
      maxAttempts: 8,
      random: () => 1,
      budget: new RetryBudget(),
    }),
  });
});
afterAll(async () => {
  await sim.close();
});

const locked = () => sim.requestLog.filter((e) => e.status === 409);

describe('gcore task lock (409)', () => {
  it('stop then start at once: the start waits out the lock and both succeed', async () => {
    const [vm] = await p.list({ states: ['running'] });
    expect(vm).toBeDefined();
    const before = locked().length;
    const stop = await p.stop(vm!.id);
    // Sent while the stop task is still RUNNING: the simulator answers 409 until it finishes.
    const start = await p.start(vm!.id);
    expect(locked().length).toBeGreaterThan(before);
    expect(locked().every((e) => e.path.endsWith(`/${vm!.id}/action`))).toBe(true);
    expect((await waitForOperation(p, stop, FAST)).status).toBe('succeeded');
    expect((await waitForOperation(p, start, FAST)).status).toBe('succeeded');
    expect((await waitForState(p, vm!.id, 'running', FAST))!.state).toBe('running');
  });

  it('reboot then change of flavor at once: the resize waits for the reboot task', async () => {
    const create = await p.create({ name: 'lock-2', type: 'g1-standard-1-2', template: 'debian-12-x64' });
    const created = await waitForOperation(p, create, FAST).then((op) =>
      op.status === 'succeeded' ? op.resourceId! : '',
    );
    const reboot = await p.reboot(created);
    const before = locked().length;
    const scale = await p.scale(created, 'g1-cpu-2-4');
    expect(locked().length).toBeGreaterThan(before);
    await waitForOperation(p, reboot, FAST);
    await waitForOperation(p, scale, FAST);
    const after = await p.get(created);
    expect(after.type).toBe('g1-cpu-2-4');
    expect(after.state).toBe('running');
  });

  it('a lock that never clears ends in a typed transient error, not a hang', async () => {
    const [vm] = await p.list({ states: ['running'] });
    sim.faults.stuckOperations = 1;
    await p.reboot(vm!.id);
    const error = await p.stop(vm!.id).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(error.status).toBe(409);
    expect(error.code).toBe('ResourceLockedByTask');
    expect(error.requestId).toBeTruthy();
  });
});
