import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ProviderInputError,
  ProviderInvalidStateError,
  ProviderNotFoundError,
} from '../../../functions/providers/errors.ts';
import { GcoreProvider } from '../../../functions/providers/gcore/client.ts';
import { RetryBudget, RetryPolicy } from '../../../functions/providers/http/retry.ts';
import { IDEMPOTENCY_LABEL, type Instance } from '../../../functions/providers/port.ts';
import { waitForOperation, waitForState } from '../../../functions/providers/wait.ts';
import { GcoreSimulator } from '../../../sim/gcore/simulator.ts';

const FAST = { intervalMs: 10, maxIntervalMs: 50, timeoutMs: 10_000 };
const noRetry = () => new RetryPolicy({ maxAttempts: 1, budget: new RetryBudget() });

function adapter(sim: GcoreSimulator, extra: Partial<ConstructorParameters<typeof GcoreProvider>[0]> = {}) {
  return new GcoreProvider({
    location: sim.defaultLocation,
    credentials: sim.credentials,
    endpoint: sim.endpoint(),
    retry: noRetry(),
    ...extra,
  });
}

async function raw(sim: GcoreSimulator, path: string, init: RequestInit & { auth?: string | null } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = init.auth === undefined ? `APIKey ${sim.credentials.apiKey}` : init.auth;
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(`${sim.endpoint()}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function createRunning(
  p: GcoreProvider,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<Instance> {
  const op = await waitForOperation(
    p,
    await p.create({ name, type: 'g1-standard-2-4', template: 'ubuntu-24.04-x64', ...extra }),
    FAST,
  );
  return (await waitForState(p, op.status === 'succeeded' ? op.resourceId! : '', 'running', FAST))!;
}

describe('gcore simulator: authentication as Gcore does it', () => {
  let sim: GcoreSimulator;
  beforeAll(async () => {
    sim = await new GcoreSimulator({ fleetSize: 1 }).start();
  });
  afterAll(() => sim.close());

  it('answers a missing, wrong or non-APIKey credential with 401 and the Gcore error body', async () => {
    const missing = await raw(sim, '/cloud/v1/instances/1/76', { auth: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({
      exception_class: 'NotAuthenticated',
      message: expect.any(String),
      traceback: null,
      request_id: expect.any(String),
    });
    expect(missing.headers.get('x-request-id')).toBe(missing.body.request_id);
    const wrong = await raw(sim, '/cloud/v1/instances/1/76', { auth: 'APIKey 1$nope' });
    expect([wrong.status, wrong.body.exception_class]).toEqual([401, 'AuthenticationFailed']);
    const bearer = await raw(sim, '/cloud/v1/instances/1/76', { auth: `Bearer ${sim.credentials.apiKey}` });
    expect(bearer.status).toBe(401);
    const ok = await raw(sim, '/cloud/v1/instances/1/76');
    expect(ok.status).toBe(200);
    sim.faults.rateLimited = 1;
    const limited = await raw(sim, '/cloud/v1/instances/1/76');
    expect([limited.status, limited.headers.get('retry-after'), limited.body.exception_class]).toEqual([
      429,
      '1',
      'TooManyRequests',
    ]);
  });

  it('serves only integer project/region scopes it knows', async () => {
    expect((await raw(sim, '/cloud/v1/instances/1/999')).body.exception_class).toBe('RegionNotFound');
    expect((await raw(sim, '/cloud/v1/instances/1/ed-8')).status).toBe(404);
    const p = new GcoreProvider({
      location: '1/999',
      credentials: sim.credentials,
      endpoint: sim.endpoint(),
      retry: noRetry(),
    });
    await expect(p.list()).rejects.toBeInstanceOf(ProviderNotFoundError);
  });

  it('validates the create body as the API does', async () => {
    const base = { name: 'x', flavor: 'g1-standard-1-2', interfaces: [{ type: 'external' }] };
    const image = {
      source: 'image',
      image_id: '0f3c9a5e-3d1b-4c7e-9a1f-2b8d6e4c1a01',
      size: 10,
      boot_index: 0,
    };
    const post = (body: unknown) =>
      raw(sim, '/cloud/v2/instances/1/76', { method: 'POST', body: JSON.stringify(body) });
    expect((await post({ ...base, volumes: [image], user_data: 'not base64!' })).status).toBe(400);
    expect((await post({ ...base, volumes: [{ ...image, size: 1 }] })).status).toBe(400);
    expect((await post({ ...base, volumes: [] })).status).toBe(400);
    expect((await post({ ...base, flavor: 'g9-nope-1-1', volumes: [image] })).status).toBe(404);
    const ok = await post({
      ...base,
      volumes: [image],
      user_data: Buffer.from('#cloud-config\n').toString('base64'),
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ tasks: [expect.any(String)] });
    const task = await raw(sim, `/cloud/v1/tasks/${ok.body.tasks[0]}`);
    expect(task.body).toMatchObject({
      id: ok.body.tasks[0],
      task_type: 'create_vm',
      project_id: 1,
      region_id: 76,
    });
    expect(['NEW', 'RUNNING']).toContain(task.body.state);
  });
});

describe('gcore adapter against the simulator', () => {
  let sim: GcoreSimulator;
  let p: GcoreProvider;
  beforeAll(async () => {
    sim = await new GcoreSimulator({
      seed: 5,
      fleetSize: 7,
      maxPageSize: 2,
      transitionMs: 15,
      operationMs: 15,
    }).start();
    p = adapter(sim);
  });
  afterAll(() => sim.close());

  it('pages with limit/offset until count is reached', async () => {
    const from = sim.requestLog.length;
    const all = await p.list();
    expect(all).toHaveLength(7);
    const offsets = sim.requestLog.slice(from).map((e) => e.query.offset);
    expect(offsets).toEqual(['0', '2', '4', '6']);
  });

  it('filters on the server: labels as metadata_kv JSON, names as an anchored regex, a single status', async () => {
    const from = sim.requestLog.length;
    const [labelled] = (await p.list()).filter((i) => i.labels.env);
    const byLabel = await p.list({ labels: { env: labelled!.labels.env! } });
    expect(byLabel.map((i) => i.id)).toContain(labelled!.id);
    const byName = await p.list({ name: labelled!.name });
    expect(byName.map((i) => i.id)).toEqual([labelled!.id]);
    await p.list({ states: ['error'] });
    const queries = sim.requestLog.slice(from).map((e) => e.query);
    expect(queries.some((q) => q.metadata_kv === JSON.stringify({ env: labelled!.labels.env }))).toBe(true);
    expect(queries.some((q) => q.name === `^${labelled!.name}$`)).toBe(true);
    // Regex metacharacters are escaped, so an odd name is a literal match, not a 400.
    expect(await p.list({ name: 'a.b(c' })).toEqual([]);
    expect(sim.requestLog.at(-1)).toMatchObject({ status: 200, query: { name: '^a\\.b\\(c$' } });
    expect(queries.some((q) => q.status === 'ERROR')).toBe(true);
  });

  it('keeps read-only system metadata out of the labels', async () => {
    const vm = await createRunning(p, 'meta-1', { labels: { team: 'a' } });
    expect(vm.labels).toEqual({ team: 'a' });
    expect(vm.extra.systemMetadata).toMatchObject({ image_name: 'ubuntu-24.04-x64', os_distro: 'ubuntu' });
    await expect(p.setLabels(vm.id, { image_name: 'x' })).rejects.toBeInstanceOf(ProviderInputError);
    // Removing a label that is not there is not an error.
    await p.setLabels(vm.id, { absent: null, env: 'qa' });
    expect((await p.get(vm.id)).labels).toEqual({ team: 'a', env: 'qa' });
  });

  it('sends user data base64-encoded and refuses a public key where Gcore wants a key name', async () => {
    await createRunning(p, 'ud-1', { userData: '#cloud-config\npackages: [nginx]\n' });
    const before = sim.mutations().length;
    await expect(
      createRunning(p, 'ud-2', { sshKey: 'ssh-ed25519 AAAAC3Nza user@host' }),
    ).rejects.toBeInstanceOf(ProviderInputError);
    expect(sim.mutations().length).toBe(before);
  });

  it('snapshots the boot volume', async () => {
    const vm = await createRunning(p, 'snap-1');
    const done = await waitForOperation(p, await p.snapshot(vm.id, 'snap-1-daily'), FAST);
    const snapshotId = done.status === 'succeeded' ? done.resourceId! : '';
    const snapshot = await raw(sim, `/cloud/v1/snapshots/1/76/${snapshotId}`);
    const boot = await raw(sim, `/cloud/v1/volumes/1/76?instance_id=${vm.id}&bootable=true`);
    expect(snapshot.body).toMatchObject({
      name: 'snap-1-daily',
      status: 'available',
      volume_id: boot.body.results[0].id,
    });
  });

  it('deletes the boot volume and floating IPs by default, and can keep the volume', async () => {
    const vm = await createRunning(p, 'del-1', {
      extra: { interfaces: [{ type: 'external', floating_ip: { source: 'new' } }] },
    });
    const bootId = (await raw(sim, `/cloud/v1/volumes/1/76?instance_id=${vm.id}`)).body.results[0].id;
    await waitForOperation(p, await p.delete(vm.id), FAST);
    const del = sim.requestLog.filter((e) => e.method === 'DELETE').at(-1)!;
    expect(del.query).toEqual({ delete_floatings: 'true', volumes: bootId });
    expect((await raw(sim, `/cloud/v1/volumes/1/76/${bootId}`)).status).toBe(404);

    const keep = adapter(sim, { deleteBootVolume: false });
    const vm2 = await createRunning(keep, 'del-2');
    const boot2 = (await raw(sim, `/cloud/v1/volumes/1/76?instance_id=${vm2.id}`)).body.results[0].id;
    await waitForOperation(keep, await keep.delete(vm2.id), FAST);
    expect((await raw(sim, `/cloud/v1/volumes/1/76/${boot2}`)).body).toMatchObject({
      status: 'available',
      attachments: [],
    });
    await expect(keep.get(vm2.id)).rejects.toBeInstanceOf(ProviderNotFoundError);
  });

  it('refuses a start on a running instance with a typed state error, without retrying it', async () => {
    const vm = await createRunning(p, 'state-1');
    const from = sim.requestLog.length;
    const error = await p.start(vm.id).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderInvalidStateError);
    expect(error.code).toBe('InstanceInvalidState');
    expect(sim.requestLog.slice(from).filter((e) => e.status === 409)).toHaveLength(1);
  });

  it('suspends and resumes through the ex* extras', async () => {
    const vm = await createRunning(p, 'susp-1');
    await waitForOperation(p, await p.exSuspend(vm.id), FAST);
    const suspended = await p.get(vm.id);
    expect([suspended.state, suspended.providerState]).toEqual(['stopped', 'SUSPENDED']);
    await expect(p.start(vm.id)).rejects.toBeInstanceOf(ProviderInvalidStateError);
    await waitForOperation(p, await p.exResume(vm.id), FAST);
    expect((await p.get(vm.id)).state).toBe('running');
    await waitForOperation(p, await p.exRebootHard(vm.id), FAST);
    expect((await p.get(vm.id)).state).toBe('running');
    expect((await p.exAvailableFlavors(vm.id)).map((f) => f.name)).not.toContain('g1-standard-2-4');
  });

  it('finds an earlier create by its idempotency key in metadata', async () => {
    const spec = {
      name: 'idem-1',
      type: 'g1-standard-1-2',
      template: 'debian-12-x64',
      idempotencyKey: 'k-1',
    };
    const first = await waitForOperation(p, await p.create(spec), FAST);
    const id = first.status === 'succeeded' ? first.resourceId : undefined;
    const again = await p.create(spec);
    expect(again).toMatchObject({ status: 'succeeded', resourceId: id });
    expect((await p.get(id!)).labels[IDEMPOTENCY_LABEL]).toBe('k-1');
  });
});

describe('gcore field names: old and new', () => {
  it('the simulator answers with the new names by default and the old ones under legacyFieldNames', async () => {
    const modern = await new GcoreSimulator({ fleetSize: 1 }).start();
    const legacy = await new GcoreSimulator({ fleetSize: 1, legacyFieldNames: true }).start();
    try {
      const m = (await raw(modern, '/cloud/v1/instances/1/76')).body.results[0];
      const l = (await raw(legacy, '/cloud/v1/instances/1/76')).body.results[0];
      expect(Object.keys(m)).toEqual(expect.arrayContaining(['id', 'name', 'created_at', 'tags']));
      expect(m.instance_id).toBeUndefined();
      expect(Object.keys(l)).toEqual(
        expect.arrayContaining([
          'instance_id',
          'instance_name',
          'instance_created',
          'metadata',
          'metadata_detailed',
        ]),
      );
      expect(l.id).toBeUndefined();

      // The adapter reads both into the same instance.
      const a = await adapter(modern).list();
      const b = await adapter(legacy).list();
      expect(b).toEqual(a);
      expect(a[0]).toMatchObject({
        id: m.id,
        name: m.name,
        createdAt: new Date(m.created_at.replace('+0000', 'Z')).toISOString(),
      });
      expect(Object.keys(a[0]!.labels).length).toBeGreaterThan(0);
    } finally {
      await modern.close();
      await legacy.close();
    }
  });
});
