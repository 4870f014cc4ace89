import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ProviderAuthenticationError,
  ProviderInvalidStateError,
  ProviderNotFoundError,
} from '../../../functions/providers/errors.ts';
import { signParams, stringToSign } from '../../../functions/providers/exoscale-v1/auth.ts';
import { authenticate, ExoscaleV1Provider } from '../../../functions/providers/exoscale-v1/client.ts';
import { RetryBudget, RetryPolicy } from '../../../functions/providers/http/retry.ts';
import { IDEMPOTENCY_LABEL, type Operation } from '../../../functions/providers/port.ts';
import { waitForOperation, waitForState } from '../../../functions/providers/wait.ts';
import { ExoscaleV1Simulator } from '../../../sim/exoscale-v1/simulator.ts';

const FAST = { intervalMs: 10, maxIntervalMs: 50, timeoutMs: 10_000 };
let sim: ExoscaleV1Simulator;
let provider: ExoscaleV1Provider;

const adapter = (over: Partial<ConstructorParameters<typeof ExoscaleV1Provider>[0]> = {}) =>
  new ExoscaleV1Provider({
    location: 'ch-gva-2',
    apiKey: sim.credentials.apiKey,
    apiSecret: sim.credentials.apiSecret,
    endpoint: sim.endpoint(),
    retry: new RetryPolicy({ baseDelayMs: 5, maxDelayMs: 20, budget: new RetryBudget() }),
    ...over,
  });

beforeAll(async () => {
  sim = await new ExoscaleV1Simulator({
    seed: 11,
    fleetSize: 8,
    transitionMs: 20,
    operationMs: 20,
    maxPageSize: 3,
  }).start();
  provider = adapter();
});
afterAll(async () => {
  await sim.close();
});

const commands = (name: string) => sim.requestLog.filter((e) => e.query.command === name);
const done = async (op: Operation) => waitForOperation(provider, op, FAST);

describe('exoscale-v1 adapter: signing on the wire', () => {
  it('switches to a form-encoded POST above 2048 characters, still verifiable', () => {
    const long = 'x'.repeat(3000);
    const prepared = authenticate(
      {
        method: 'GET',
        path: '/compute',
        query: [
          ['command', 'deployVirtualMachine'],
          ['userdata', long],
        ],
        headers: {},
      },
      'https://api.exoscale.com/compute',
      { apiKey: 'key', apiSecret: 'secret', expiresInMs: 600_000 },
    );
    expect(prepared.method).toBe('POST');
    expect(prepared.query).toEqual([]);
    expect(prepared.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const pairs = [...new URLSearchParams(prepared.body!)];
    const signature = pairs.find(([k]) => k === 'signature')![1];
    expect(signParams(pairs, 'secret')).toBe(signature);
    expect(stringToSign(pairs)).toContain('signatureversion=3');
  });

  it('keeps short requests as GET', () => {
    const prepared = authenticate(
      { method: 'GET', path: '/compute', query: [['command', 'listZones']], headers: {} },
      'https://api.exoscale.com/compute',
      { apiKey: 'key', apiSecret: 'secret', expiresInMs: 600_000 },
    );
    expect(prepared.method).toBe('GET');
    expect(prepared.query.map(([k]) => k)).toEqual([
      'command',
      'apikey',
      'signatureversion',
      'expires',
      'signature',
    ]);
  });

  it('creates with a long user-data through POST, and the simulator verifies it', async () => {
    const before = sim.requestLog.filter((e) => e.method === 'POST').length;
    const op = await provider.create({
      name: 'long-userdata',
      type: 'Tiny',
      template: 'Linux Debian 12 (Bookworm) 64-bit',
      userData: `#cloud-config\n${'# padding\n'.repeat(200)}`,
    });
    const finished = await done(op);
    expect(finished.status).toBe('succeeded');
    const posts = sim.requestLog.filter((e) => e.method === 'POST').slice(before);
    expect(posts.length).toBe(1);
    expect(posts[0]!.status).toBe(200);
  });

  it('is refused with a typed 401 when the signature has expired', async () => {
    const stale = adapter({ signatureTtlMs: -60_000 });
    await expect(stale.list()).rejects.toBeInstanceOf(ProviderAuthenticationError);
  });
});

describe('exoscale-v1 adapter: behaviour', () => {
  it('names an unknown zone and lists the known ones', async () => {
    const error = await adapter({ location: 'xx-nowhere-1' })
      .list()
      .catch((e) => e);
    expect(error).toBeInstanceOf(ProviderNotFoundError);
    expect(error.message).toMatch(/xx-nowhere-1.*ch-gva-2/);
  });

  it('lists only its own zone, across pages', async () => {
    const all = await provider.list();
    expect(all).toHaveLength(8 + 1); // the seeded home fleet + the long-userdata VM
    expect(all.every((i) => i.extra.zonename === 'ch-gva-2')).toBe(true);
  });

  it('creates, then tags, and reports both through one operation', async () => {
    const op = await provider.create({
      name: 'tagged-1',
      type: 'Small',
      template: 'Linux Ubuntu 24.04 LTS 64-bit',
      labels: { team: 'unit' },
      idempotencyKey: 'unit-key-1',
    });
    expect(op.status).toBe('pending');
    expect(op.id.split(',')).toHaveLength(2);
    const finished = await done(op);
    const id = finished.status === 'succeeded' ? finished.resourceId! : '';
    const vm = await provider.get(id);
    expect(vm.labels).toEqual({ team: 'unit', [IDEMPOTENCY_LABEL]: 'unit-key-1' });
    expect(vm.type).toBe('Small');
    expect(vm.ipv4.length).toBe(1);
  });

  it('adopts a deploy whose answer was lost instead of deploying a twin', async () => {
    const deploysBefore = commands('deployVirtualMachine').length;
    sim.faults.resetsAfterApply = 1;
    const spec = {
      name: 'lost-answer',
      type: 'Small',
      template: 'Linux Ubuntu 24.04 LTS 64-bit',
      labels: { team: 'unit' },
      idempotencyKey: 'unit-key-2',
    };
    const first = await done(await provider.create(spec));
    const id = first.status === 'succeeded' ? first.resourceId : undefined;
    expect(id).toBeTruthy();
    const again = await done(await provider.create(spec));
    expect(again.status === 'succeeded' && again.resourceId).toBe(id);
    expect(commands('deployVirtualMachine').length - deploysBefore).toBe(1);
    const vm = await waitForState(provider, id!, 'running', FAST);
    expect(vm!.labels).toEqual({ team: 'unit', [IDEMPOTENCY_LABEL]: 'unit-key-2' });
    expect((await provider.list({ name: 'lost-answer' })).length).toBe(1);
  });

  it('does not adopt a same-name VM of another type', async () => {
    await done(
      await provider.create({ name: 'same-name', type: 'Micro', template: 'Linux Ubuntu 24.04 LTS 64-bit' }),
    );
    const op = await provider.create({
      name: 'same-name',
      type: 'Small',
      template: 'Linux Ubuntu 24.04 LTS 64-bit',
      idempotencyKey: 'unit-key-3',
    });
    expect(op.status).toBe('pending');
    await done(op);
    expect((await provider.list({ name: 'same-name' })).length).toBe(2);
  });

  it('changes a label value by deleting, then re-creating the tag', async () => {
    const [vm] = await provider.list({ name: 'tagged-1' });
    const deletesBefore = commands('deleteTags').length;
    await done(await provider.setLabels(vm!.id, { team: 'other', extra: 'x' }));
    expect((await provider.get(vm!.id)).labels).toMatchObject({ team: 'other', extra: 'x' });
    expect(commands('deleteTags').length - deletesBefore).toBe(1);
    const op = await provider.setLabels(vm!.id, { team: 'other' });
    expect(op.status).toBe('succeeded');
  });

  it('refuses to stop a stopped VM before sending anything', async () => {
    const [stopped] = await provider.list({ states: ['stopped'] });
    const stopsBefore = commands('stopVirtualMachine').length;
    await expect(provider.stop(stopped!.id)).rejects.toBeInstanceOf(ProviderInvalidStateError);
    expect(commands('stopVirtualMachine').length).toBe(stopsBefore);
  });

  it('refuses to scale a running VM with a typed invalid-state error from the provider', async () => {
    const [running] = await provider.list({ states: ['running'] });
    const error = await provider.scale(running!.id, 'Large').catch((e) => e);
    expect(error).toBeInstanceOf(ProviderInvalidStateError);
    expect(error.status).toBe(431);
    expect(error.code).toBe('431/4350');
  });

  it('snapshots the ROOT volume and reports the snapshot id', async () => {
    const [vm] = await provider.list({ name: 'tagged-1' });
    const finished = await done(await provider.snapshot(vm!.id, 'unit-snap'));
    expect(finished.status === 'succeeded' && finished.resourceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(finished.status === 'succeeded' && finished.resourceId).not.toBe(vm!.id);
    expect(commands('listVolumes').at(-1)!.query).toMatchObject({ type: 'ROOT', virtualmachineid: vm!.id });
  });

  it('reports a deleted VM as not found once expunged', async () => {
    const [vm] = await provider.list({ name: 'long-userdata' });
    await done(await provider.delete(vm!.id));
    await expect(provider.get(vm!.id)).rejects.toBeInstanceOf(ProviderNotFoundError);
  });
});
