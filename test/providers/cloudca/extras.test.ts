import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ProviderInputError,
  ProviderInvalidStateError,
  ProviderNotFoundError,
  ProviderValidationError,
} from '../../../functions/providers/errors.ts';
import type { Operation } from '../../../functions/providers/port.ts';
import { waitForOperation, waitForState } from '../../../functions/providers/wait.ts';
import type { CloudcaSimulator } from '../../../sim/cloudca/simulator.ts';
import { adapterFor, FAST, startSim } from './helpers.ts';

describe('cloud.ca extras (ex methods) against the simulator', () => {
  let sim: CloudcaSimulator;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim.close();
  });

  const createRunning = async (name: string) => {
    const provider = adapterFor(sim);
    const op = await provider.create({
      name,
      type: '1vCPU.1GB',
      template: 'Debian 12',
      extra: { network: 'Web-production' },
    });
    const done = await waitForOperation(provider, op, FAST);
    const id = done.status === 'succeeded' ? done.resourceId! : '';
    await waitForState(provider, id, 'running', FAST);
    return id;
  };
  const settle = (op: Operation) => waitForOperation(adapterFor(sim), op, FAST);

  it('destroys (recoverable), recovers to Stopped, destroys again and purges', async () => {
    const provider = adapterFor(sim);
    const id = await createRunning('ex-recover');
    await settle(await provider.delete(id));
    const destroyed = await provider.get(id);
    expect(destroyed).toMatchObject({ state: 'deleted', providerState: 'Destroyed' });
    // Purge and recover need Destroyed; start does not accept it.
    await expect(provider.start(id)).rejects.toBeInstanceOf(ProviderInvalidStateError);
    await settle(await provider.exRecover(id));
    expect((await provider.get(id)).providerState).toBe('Stopped');
    await expect(provider.exPurge(id)).rejects.toBeInstanceOf(ProviderInvalidStateError);
    await settle(await provider.exDestroy(id, { deleteSnapshots: true }));
    await settle(await provider.exPurge(id));
    await expect(provider.get(id)).rejects.toBeInstanceOf(ProviderNotFoundError);
  });

  it('purges at once when the adapter is told to, sending the cleanup options', async () => {
    const provider = adapterFor(sim, { purgeOnDelete: true });
    const id = await createRunning('ex-purge-now');
    await settle(await provider.delete(id));
    await waitForState(provider, id, 'deleted', FAST);
    await expect(provider.get(id)).rejects.toBeInstanceOf(ProviderNotFoundError);
    expect((await provider.list()).some((i) => i.id === id)).toBe(false);
  });

  it('resets the password: the new one is in the task result', async () => {
    const provider = adapterFor(sim);
    const id = await createRunning('ex-password');
    const op = await provider.exResetPassword(id);
    await settle(op);
    const task = await provider.exTask(op.id);
    expect(task.status).toBe('SUCCESS');
    expect((task.result as { password?: string }).password).toMatch(/^[A-Za-z0-9]{12}$/);
    expect((task.result as { id?: string }).id).toBe(id);
  });

  it('changes network by name, and refuses an unknown one before any request', async () => {
    const provider = adapterFor(sim);
    const id = await createRunning('ex-network');
    const before = sim.mutations().length;
    await expect(provider.exChangeNetwork(id, 'No-such-net')).rejects.toBeInstanceOf(ProviderNotFoundError);
    expect(sim.mutations().length).toBe(before);
    await settle(await provider.exChangeNetwork(id, 'DB-production'));
    const moved = await provider.get(id);
    expect(moved.extra.networkName).toBe('DB-production');
    expect(moved.ipv4[0]).toMatch(/^10\.\d+\.2\.\d+$/);
  });

  it('associates a registered SSH key, and the simulator refuses an unknown key', async () => {
    const provider = adapterFor(sim);
    const id = await createRunning('ex-ssh');
    await settle(await provider.exAssociateSSHKey(id, 'deploy-bot'));
    await expect(provider.exAssociateSSHKey(id, 'nobody')).rejects.toBeInstanceOf(ProviderValidationError);
    await expect(provider.exAssociateSSHKey(id, '')).rejects.toBeInstanceOf(ProviderInputError);
  });

  it('renames through PUT', async () => {
    const provider = adapterFor(sim);
    const id = await createRunning('ex-rename');
    const renamed = await provider.exUpdate(id, { name: 'ex-renamed' });
    expect(renamed.name).toBe('ex-renamed');
    expect((await provider.get(id)).name).toBe('ex-renamed');
  });

  it('scales while running (changeComputeOffering has no documented precondition)', async () => {
    const provider = adapterFor(sim);
    const id = await createRunning('ex-scale');
    await settle(await provider.scale(id, '4vCPU.8GB'));
    const scaled = await provider.get(id);
    expect(scaled).toMatchObject({
      type: '4vCPU.8GB',
      state: 'running',
      extra: { cpuCount: 4, memoryInMB: 8192 },
    });
  });

  it('needs cpuCount and memoryInMB for the custom offering, on create and on scale', async () => {
    const provider = adapterFor(sim);
    const before = sim.mutations().length;
    const spec = {
      name: 'ex-custom',
      type: 'Custom CPU and memory',
      template: 'Ubuntu 22.04',
      extra: { network: 'Web-production' },
    };
    await expect(provider.create(spec)).rejects.toThrow(/custom offering/);
    const id = await createRunning('ex-custom-scale');
    await expect(provider.scale(id, 'Custom CPU and memory')).rejects.toBeInstanceOf(ProviderInputError);
    expect(sim.mutations().length).toBe(before + 1);
    // Invalid sizes reach the simulator and are refused there.
    await expect(
      provider.exChangeComputeOffering(id, 'Custom CPU and memory', { cpuCount: 3, memoryInMB: 2048 }),
    ).rejects.toBeInstanceOf(ProviderValidationError);
    await settle(
      await provider.exChangeComputeOffering(id, 'Custom CPU and memory', { cpuCount: 2, memoryInMB: 4096 }),
    );
    const custom = await provider.get(id);
    expect(custom.type).toBe('Custom CPU and memory');
    expect(custom.extra).toMatchObject({ cpuCount: 2, memoryInMB: 4096 });
    const op = await provider.create({
      ...spec,
      name: 'ex-custom-2',
      extra: { ...spec.extra, cpuCount: 4, memoryInMB: 8192 },
    });
    const done = await settle(op);
    expect(done.status).toBe('succeeded');
  });

  it('asks which network when the environment has several and the spec names none', async () => {
    const provider = adapterFor(sim);
    await expect(
      provider.create({ name: 'ex-nonet', type: '1vCPU.1GB', template: 'Debian 12' }),
    ).rejects.toThrow(/several networks \(Web-production, DB-production\)/);
    const withDefault = adapterFor(sim, { network: 'DB-production' });
    const done = await settle(
      await withDefault.create({ name: 'ex-default-net', type: '1vCPU.1GB', template: 'Debian 12' }),
    );
    const id = done.status === 'succeeded' ? done.resourceId! : '';
    expect((await withDefault.get(id)).extra.networkName).toBe('DB-production');
  });

  it('refuses an instance id that could change the path, before any request', async () => {
    const provider = adapterFor(sim);
    const before = sim.requestLog.length;
    await expect(provider.exPurge('../tasks/x')).rejects.toBeInstanceOf(ProviderInputError);
    await expect(provider.get('a/b')).rejects.toBeInstanceOf(ProviderInputError);
    expect(sim.requestLog.length).toBe(before);
  });
});
