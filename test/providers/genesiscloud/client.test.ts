import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedCreateSpec } from '../../../functions/providers/base.ts';
import {
  ProviderInputError,
  ProviderInvalidStateError,
  ProviderValidationError,
} from '../../../functions/providers/errors.ts';
import {
  createBody,
  GenesisCloudProvider,
  hostnameFrom,
  opId,
  parseOpId,
  parseTypeName,
} from '../../../functions/providers/genesiscloud/client.ts';
import { definition } from '../../../functions/providers/genesiscloud/index.ts';
import { RetryBudget, RetryPolicy } from '../../../functions/providers/http/retry.ts';
import type { Operation } from '../../../functions/providers/port.ts';
import { waitForOperation, waitForState } from '../../../functions/providers/wait.ts';
import { GenesisCloudSimulator, SIM_CREDENTIALS } from '../../../sim/genesiscloud/simulator.ts';
import { CONTRACT_FIXTURES } from '../../contract/fixtures.ts';

const FAST = { intervalMs: 5, maxIntervalMs: 20, timeoutMs: 5_000 };
const SPEC = { ...CONTRACT_FIXTURES.genesiscloud.createSpec };

describe('genesiscloud adapter against its simulator', () => {
  let sim: GenesisCloudSimulator;
  const adapter = (location = sim.defaultLocation) =>
    new GenesisCloudProvider({
      location,
      credentials: { ...SIM_CREDENTIALS },
      endpoint: sim.endpoint(),
      retry: new RetryPolicy({ baseDelayMs: 1, maxDelayMs: 5, budget: new RetryBudget() }),
    });
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${sim.endpoint()}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${SIM_CREDENTIALS.token}`,
        'content-type': 'application/json',
        ...init.headers,
      },
    });
  const running = async (name: string) => {
    const p = adapter();
    const done = await waitForOperation(p, await p.create({ ...SPEC, name }), FAST);
    return (done as Operation & { resourceId: string }).resourceId;
  };

  beforeAll(async () => {
    sim = await new GenesisCloudSimulator({
      seed: 3,
      fleetSize: 12,
      operationMs: 10,
      transitionMs: 10,
      maxPageSize: 4,
    }).start();
  });
  afterEach(() => {
    Object.assign(sim.faults, { failOperations: 0, stuckOperations: 0, resetsAfterApply: 0 });
  });
  afterAll(() => sim.close());

  it('refuses per_page above 100 in the error shape, and pages by what the reply says', async () => {
    const tooBig = await api('/instances?per_page=101');
    expect(tooBig.status).toBe(400);
    expect(await tooBig.json()).toEqual({
      code: 'invalid_parameter',
      message: 'per_page must be a positive integer lower or equal to 100',
    });
    const page2 = (await (await api('/instances?page=2&per_page=100')).json()) as Record<string, unknown>;
    expect(page2).toMatchObject({ page: 2, per_page: 4, total_count: 15 });
    expect((page2.instances as unknown[]).length).toBe(4);
  });

  it('lists only its own region, across pages', async () => {
    const here = await adapter().list();
    const munich = await adapter('EUC-DE-MUC-1').list();
    expect(here).toHaveLength(12);
    expect(munich).toHaveLength(3);
    expect(munich.every((i) => i.location === 'EUC-DE-MUC-1' && Object.keys(i.labels).length === 0)).toBe(
      true,
    );
  });

  it('reads the catalogue from the region availability and the image list', async () => {
    const types = await adapter().instanceTypes();
    const gpu = types.find((t) => t.name === 'vcpu-4_memory-12g_nvidia-rtx-3080-1');
    expect(gpu).toMatchObject({
      id: gpu?.name,
      extra: { vcpus: 4, memoryGiB: 12, accelerator: 'nvidia-rtx-3080', accelerators: 1 },
    });
    expect(types.some((t) => t.name.includes('gaudi2'))).toBe(false);
    expect((await adapter('EUC-DE-MUC-1').instanceTypes()).some((t) => t.name.includes('gaudi2'))).toBe(true);
    const templates = await adapter().templates();
    expect(templates.map((t) => t.name)).toEqual(['Ubuntu 24.04', 'Ubuntu 22.04', 'Ubuntu 20.04']);
    expect(templates[0]!.extra).toMatchObject({ type: 'cloud-image', slug: 'ubuntu-24.04' });
  });

  it('sends the create body Genesis Cloud requires, with userData as the startup script', async () => {
    const p = adapter();
    const op = await p.create({
      ...SPEC,
      name: 'Web Server #1',
      userData: '#!/bin/bash\necho hi',
      diskSize: 128,
    });
    expect(op).toMatchObject({ status: 'pending', action: 'create', id: `instance:${op.instanceId}:create` });
    const done = await waitForOperation(p, op, FAST);
    expect(done).toMatchObject({ status: 'succeeded', resourceId: op.instanceId });
    const instance = await p.get(op.instanceId!);
    expect(instance).toMatchObject({
      name: 'Web Server #1',
      state: 'running',
      type: SPEC.type,
      protected: false,
    });
    expect(instance.extra).toMatchObject({
      hostname: 'web-server-1',
      diskSize: 128,
      image: { name: 'Ubuntu 24.04' },
    });
    expect(instance.ipv4).toHaveLength(2);
    expect(sim.peek(instance.id)?.startupScript).toBe('#!/bin/bash\necho hi');
  });

  it('rejects a create without ssh key or password at the simulator, as the API does', async () => {
    const { sshKey: _none, ...noKey } = SPEC;
    await expect(adapter().create({ ...noKey, name: 'nokey' })).rejects.toBeInstanceOf(
      ProviderValidationError,
    );
    const withPassword = await adapter().create({
      ...noKey,
      name: 'pw',
      extra: { password: 'Sup3r-Secret-Passw0rd' },
    });
    expect(sim.peek(withPassword.instanceId!)?.password).toBe('Sup3r-Secret-Passw0rd');
  });

  it('refuses to delete a protected instance, then deletes it once unprotected', async () => {
    const p = adapter();
    const id = await running('protected-one');
    await p.setProtection(id, true);
    const before = sim.mutations().length;
    const error = await p.delete(id).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderInvalidStateError);
    expect(error.code).toBe('instance_protected');
    expect(sim.mutations().length).toBe(before);
    await p.setProtection(id, false);
    await waitForOperation(p, await p.delete(id), FAST);
    await waitForState(p, id, 'deleted', FAST);
  });

  it('treats a retried DELETE that was already applied as its own delete in progress', async () => {
    const p = adapter();
    const id = await running('delete-twice');
    // Applied, connection dropped, retried: the retry meets the delete in progress (kept there).
    sim.faults.resetsAfterApply = 1;
    sim.faults.stuckOperations = 1;
    const op = await p.delete(id);
    expect(op).toMatchObject({ status: 'pending', id: `instance:${id}:delete` });
    const deletes = sim.requestLog.filter((e) => e.method === 'DELETE' && e.path.endsWith(id));
    expect(deletes.map((e) => e.status)).toEqual([204, 409]);
    expect(await p.operation(op)).toMatchObject({ status: 'pending' });
    expect((await p.get(id)).state).toBe('deleting');
  });

  it('refuses wrong-state actions at the simulator with 409', async () => {
    const p = adapter();
    const id = await running('wrong-state');
    const error = await p.start(id).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderInvalidStateError);
    expect(error.status).toBe(409);
    expect(error.message).toMatch(/allowed actions: stop, reset/);
    expect(await p.exAllowedActions(id)).toEqual(['stop', 'reset']);
  });

  it('reports a failed action with the instance left in error, from which only stop is allowed', async () => {
    const p = adapter();
    const id = await running('fails-once');
    sim.faults.failOperations = 1;
    const op = await p.stop(id);
    let last = op;
    for (let i = 0; i < 100 && last.status === 'pending'; i++) {
      await new Promise((r) => setTimeout(r, 5));
      last = await p.operation(last);
    }
    expect(last).toMatchObject({ status: 'failed', reason: `instance ${id} went into error during stop` });
    expect((await p.get(id)).state).toBe('error');
    await waitForOperation(p, await p.stop(id), FAST);
    expect((await p.get(id)).state).toBe('stopped');
  });

  it('leaves a failed create in error, and a stuck action pending', async () => {
    const p = adapter();
    sim.faults.failOperations = 1;
    const failed = await p.create({ ...SPEC, name: 'never-born' });
    await expect(waitForOperation(p, failed, FAST)).rejects.toThrow(/went into error during create/);
    expect((await p.get(failed.instanceId!)).state).toBe('error');

    const id = await running('stuck');
    sim.faults.stuckOperations = 1;
    const op = await p.reboot(id);
    await new Promise((r) => setTimeout(r, 40));
    expect(await p.operation(op)).toMatchObject({ status: 'pending', action: 'reboot', instanceId: id });
    expect((await p.get(id)).providerState).toBe('resetting');
  });

  it('snapshots through the snapshot status, failing when the snapshot ends in error', async () => {
    const p = adapter();
    const id = await running('snap-me');
    const op = await p.snapshot(id, 'nightly');
    expect(op.id).toMatch(/^snapshot:/);
    const done = await waitForOperation(p, op, FAST);
    expect(done).toMatchObject({ status: 'succeeded', instanceId: id });
    sim.faults.failOperations = 1;
    await expect(waitForOperation(p, await p.snapshot(id, 'broken'), FAST)).rejects.toThrow(/ended in error/);
  });

  it('renames and grows the disk, and refuses to shrink it', async () => {
    const p = adapter();
    const id = await running('grow');
    expect((await p.exRename(id, 'grown')).name).toBe('grown');
    expect((await p.exGrowDisk(id, 200)).extra.diskSize).toBe(200);
    const error = await p.exGrowDisk(id, 100).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderValidationError);
    expect(error.message).toMatch(/can only be increased/);
  });

  it('finds an idempotent create again by exact name, type and image, without a second POST', async () => {
    const p = adapter();
    const first = await p.create({ ...SPEC, name: 'idem-by-name', idempotencyKey: 'k-1' });
    const posts = () =>
      sim.requestLog.filter((e) => e.method === 'POST' && e.path.endsWith('/instances')).length;
    const before = posts();
    const again = await p.create({ ...SPEC, name: 'idem-by-name', idempotencyKey: 'k-1' });
    expect(again).toMatchObject({ status: 'succeeded', resourceId: first.instanceId });
    expect(posts()).toBe(before);
    // The same name with another type is not the same create.
    const other = await p.create({
      ...SPEC,
      name: 'idem-by-name',
      type: 'vcpu-4_memory-8g',
      idempotencyKey: 'k-2',
    });
    expect(other.instanceId).not.toBe(first.instanceId);
  });

  it('refuses an operation reference it did not make', async () => {
    const p = adapter();
    await expect(
      p.operation({ provider: 'genesiscloud', location: p.location, id: 'task/../x', action: 'stop' }),
    ).rejects.toBeInstanceOf(ProviderInputError);
  });
});

describe('genesiscloud helpers', () => {
  it('derives a valid host name from any instance name', () => {
    expect(hostnameFrom('Web Server #1')).toBe('web-server-1');
    expect(hostnameFrom('--GPU__Train--')).toBe('gpu-train');
    expect(hostnameFrom('ä')).toBe('instance');
    expect(hostnameFrom('x'.repeat(80))).toHaveLength(63);
  });

  it('builds the create body from the spec and its provider-only extras', () => {
    const spec: ResolvedCreateSpec = {
      name: 'n',
      type: 'vcpu-2_memory-4g',
      template: 'Ubuntu 24.04',
      typeId: 'vcpu-2_memory-4g',
      templateId: 'img-1',
      labels: { ignored: 'yes' },
      sshKey: 'key-1',
      extra: {
        sshKeys: ['key-1', 'key-2'],
        securityGroups: ['sg-1'],
        isProtected: true,
        startupScript: 'echo',
      },
    };
    expect(createBody(spec, 'NORD-NO-KRS-1')).toEqual({
      name: 'n',
      hostname: 'n',
      type: 'vcpu-2_memory-4g',
      image: 'img-1',
      region: 'NORD-NO-KRS-1',
      ssh_keys: ['key-1', 'key-2'],
      security_groups: ['sg-1'],
      is_protected: true,
      metadata: { startup_script: 'echo' },
    });
  });

  it('reads type identifiers in the current and the older form', () => {
    expect(parseTypeName('vcpu-2_memory-4g')).toEqual({ vcpus: 2, memoryGiB: 4 });
    expect(parseTypeName('vcpu-192_memory-1920g_nvidia-h100-sxm5-8')).toEqual({
      vcpus: 192,
      memoryGiB: 1920,
      accelerator: 'nvidia-h100-sxm5',
      accelerators: 8,
    });
    expect(parseTypeName('vcpu-4_memory-12g_disk-80g_nvidia3080-1')).toEqual({
      vcpus: 4,
      memoryGiB: 12,
      diskGiB: 80,
      accelerator: 'nvidia3080',
      accelerators: 1,
    });
    expect(parseTypeName('custom')).toEqual({});
  });

  it('round-trips operation ids', () => {
    const base = { action: 'reboot' as const };
    expect(parseOpId({ ...base, id: opId({ kind: 'instance', id: 'abc', action: 'reset' }) })).toEqual({
      kind: 'instance',
      id: 'abc',
      action: 'reset',
    });
    expect(parseOpId({ ...base, id: opId({ kind: 'snapshot', id: 's-1' }) })).toEqual({
      kind: 'snapshot',
      id: 's-1',
    });
    expect(parseOpId({ action: 'create', id: 'bare-id' })).toEqual({
      kind: 'instance',
      id: 'bare-id',
      action: 'create',
    });
    expect(parseOpId({ ...base, id: 'bare-id' })).toBeUndefined();
  });

  it('takes the region from --region, by shape, defaulting to NORD-NO-KRS-1', () => {
    expect(definition.locationFrom({})).toBe('NORD-NO-KRS-1');
    expect(definition.locationFrom({ region: 'euc-de-muc-1' })).toBe('EUC-DE-MUC-1');
    expect(() => definition.locationFrom({ region: 'ch-gva-2' })).toThrow(/not a region/);
    expect(definition.credentialsFromEnv({ GENESISCLOUD_TOKEN: 't0k3n' })).toEqual({ token: 't0k3n' });
    expect(definition.credentialsFromEnv({})).toBeUndefined();
  });
});
