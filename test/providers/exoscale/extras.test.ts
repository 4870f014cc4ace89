import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ProviderInputError,
  ProviderInvalidStateError,
  ProviderValidationError,
} from '../../../functions/providers/errors.ts';
import { ExoscaleProvider } from '../../../functions/providers/exoscale/client.ts';
import { RetryBudget, RetryPolicy } from '../../../functions/providers/http/retry.ts';
import type { Instance } from '../../../functions/providers/port.ts';
import { waitForOperation, waitForState } from '../../../functions/providers/wait.ts';
import { redactText } from '../../../functions/shared/redact.ts';
import { ExoscaleSimulator, SIM_CREDENTIALS } from '../../../sim/exoscale/simulator.ts';

const FAST = { intervalMs: 10, maxIntervalMs: 50, timeoutMs: 10_000 };
let sim: ExoscaleSimulator;
let p: ExoscaleProvider;
let vm: Instance;

beforeAll(async () => {
  sim = await new ExoscaleSimulator({ seed: 11, fleetSize: 4, transitionMs: 15, operationMs: 15 }).start();
  p = new ExoscaleProvider({
    zone: 'ch-gva-2',
    credentials: SIM_CREDENTIALS,
    endpoint: sim.endpoint('ch-gva-2'),
    retry: new RetryPolicy({ maxAttempts: 1, budget: new RetryBudget() }),
  });
  const op = await waitForOperation(
    p,
    await p.create({
      name: 'extras-1',
      type: 'standard.small',
      template: 'Linux Ubuntu 24.04 LTS 64-bit',
      diskSize: 20,
    }),
    FAST,
  );
  vm = (await waitForState(p, op.status === 'succeeded' ? op.resourceId! : '', 'running', FAST))!;
});
afterAll(async () => {
  await sim.close();
});

describe('Exoscale-only operations', () => {
  it('exRevealPassword returns the password and makes it a redacted secret', async () => {
    const password = await p.exRevealPassword(vm.id);
    expect(password).toBe(sim.peek(vm.id)?.password);
    expect(redactText(`oops ${password}`)).not.toContain(password);
  });

  it('exResizeDisk needs a stopped instance and only grows the disk', async () => {
    await expect(p.exResizeDisk(vm.id, 40)).rejects.toBeInstanceOf(ProviderInvalidStateError);
    await waitForOperation(p, await p.stop(vm.id), FAST);
    await waitForState(p, vm.id, 'stopped', FAST);
    await expect(p.exResizeDisk(vm.id, 10)).rejects.toBeInstanceOf(ProviderValidationError);
    await expect(p.exResizeDisk(vm.id, 9)).rejects.toBeInstanceOf(ProviderInputError);
    const done = await waitForOperation(p, await p.exResizeDisk(vm.id, 40), FAST);
    expect(done.status).toBe('succeeded');
    expect((await p.get(vm.id)).extra.diskSize).toBe(40);
  });

  it('exRevertToSnapshot restores a ready snapshot of a stopped instance', async () => {
    const snap = await waitForOperation(p, await p.snapshot(vm.id, 'ignored-name'), FAST);
    const snapshotId = snap.status === 'succeeded' ? snap.resourceId! : '';
    expect((await p.get(vm.id)).extra.snapshotIds).toContain(snapshotId);
    const done = await waitForOperation(p, await p.exRevertToSnapshot(vm.id, snapshotId), FAST);
    expect(done.status).toBe('succeeded');
    await expect(p.exRevertToSnapshot(vm.id, 'not-a-uuid')).rejects.toBeInstanceOf(ProviderInputError);
    await waitForOperation(p, await p.start(vm.id), FAST);
    await waitForState(p, vm.id, 'running', FAST);
    await expect(p.exRevertToSnapshot(vm.id, snapshotId)).rejects.toBeInstanceOf(ProviderInvalidStateError);
  });

  it('exReset re-installs from another template, with a new password, and the instance runs again', async () => {
    const before = sim.peek(vm.id)?.password;
    const done = await waitForOperation(
      p,
      await p.exReset(vm.id, { template: 'Linux Debian 12 (Bookworm) 64-bit', diskSize: 60 }),
      FAST,
    );
    expect(done.status).toBe('succeeded');
    const after = (await waitForState(p, vm.id, 'running', FAST))!;
    expect(after.extra.templateName).toBe('Linux Debian 12 (Bookworm) 64-bit');
    expect(after.extra.diskSize).toBe(60);
    expect(sim.peek(vm.id)?.password).not.toBe(before);
    await expect(p.exReset(vm.id, { template: 'No Such OS' })).rejects.toThrow(/No Such OS/);
  });
});
