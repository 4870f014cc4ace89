import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocation } from '../../../functions/providers/cloudca/client.ts';
import { definition } from '../../../functions/providers/cloudca/index.ts';
import { ProviderError, ProviderInputError } from '../../../functions/providers/errors.ts';
import type { CloudcaSimulator } from '../../../sim/cloudca/simulator.ts';
import { adapterFor, raw, startSim } from './helpers.ts';

const ENV = '/services/compute-qc/production';

describe('cloud.ca location and definition', () => {
  it('builds <service_code>/<environment> from both options, and says which is missing', () => {
    expect(definition.locationFrom({ serviceCode: 'compute-qc', environment: 'production' })).toBe(
      'compute-qc/production',
    );
    expect(() => definition.locationFrom({ serviceCode: 'compute-qc' })).toThrow(/missing --environment/);
    expect(() => definition.locationFrom({})).toThrow(ProviderInputError);
    expect(() => definition.locationFrom({ serviceCode: 'compute-qc', environment: '../x' })).toThrow(
      ProviderError,
    );
    expect(definition.locationOptions.map((o) => [o.flag, o.key])).toEqual([
      ['--service-code', 'serviceCode'],
      ['--environment', 'environment'],
    ]);
  });

  it('parses locations strictly', () => {
    expect(parseLocation('compute-on/test_area')).toEqual({
      serviceCode: 'compute-on',
      environment: 'test_area',
    });
    for (const bad of ['compute-qc', 'compute-qc/', '/prod', 'a/b/c', 'a b/c'])
      expect(() => parseLocation(bad)).toThrow(/service_code/);
  });

  it('reads CLOUDCA_API_KEY and points at api.cloud.ca', () => {
    expect(definition.credentialsFromEnv({ CLOUDCA_API_KEY: 'k-123' })).toEqual({ apiKey: 'k-123' });
    expect(definition.credentialsFromEnv({})).toBeUndefined();
    expect(definition.defaultEndpoint('compute-qc/production')).toBe('https://api.cloud.ca/v1');
  });
});

describe('cloud.ca simulator wire format (as curl and go-cloudca see it)', () => {
  let sim: CloudcaSimulator;
  beforeAll(async () => {
    sim = await startSim({ fleetSize: 12, maxPageSize: 5 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('lists everything with metadata.recordCount when no paging is asked (go-cloudca never pages)', async () => {
    const all = await raw(sim, 'GET', `${ENV}/instances`);
    expect(all.status).toBe(200);
    expect(all.body.data).toHaveLength(12);
    expect(all.body.metadata).toEqual({ recordCount: 12 });
    expect(Object.keys(all.body.data[0])).toEqual(
      expect.arrayContaining([
        'id',
        'name',
        'state',
        'templateName',
        'computeOfferingName',
        'networkName',
        'zoneName',
        'ipAddress',
        'username',
      ]),
    );
    // The list leaves out the detail-only fields, as the docs' example does.
    expect(all.body.data[0].nics).toBeUndefined();
    const one = await raw(sim, 'GET', `${ENV}/instances/${all.body.data[0].id}`);
    expect(one.body.data.nics[0]).toMatchObject({ isDefault: true });
    expect(Array.isArray(one.body.data.publicIps)).toBe(true);
  });

  it('pages with page_number/page_size capped at maxPageSize, and the adapter walks every page', async () => {
    const page = await raw(sim, 'GET', `${ENV}/instances?page_number=3&page_size=50`);
    expect(page.body.data).toHaveLength(2);
    expect(page.body.metadata).toEqual({ pageSize: 5, pageCurrent: 3, recordCount: 12 });
    expect((await raw(sim, 'GET', `${ENV}/instances?page_number=0`)).status).toBe(400);
    const before = sim.requestLog.length;
    const all = await adapterFor(sim).list();
    expect(all).toHaveLength(12);
    const pages = sim.requestLog.slice(before).filter((e) => e.path.endsWith('/instances'));
    // The first page says how many there are; the others are then asked for at once.
    expect(pages[0]!.query.page_number).toBe('1');
    expect(pages.map((e) => e.query.page_number).sort()).toEqual(['1', '2', '3']);
  });

  it('answers a mutation with a PENDING task, and serves both task shapes by default', async () => {
    const running = (await raw(sim, 'GET', `${ENV}/instances`)).body.data.find(
      (i: { state: string }) => i.state === 'Running',
    );
    const started = await raw(sim, 'POST', `${ENV}/instances/${running.id}?operation=reboot`);
    expect(started.status).toBe(200);
    expect(started.body).toEqual({ taskId: expect.any(String), taskStatus: 'PENDING' });
    await new Promise((r) => setTimeout(r, 30));
    const task = await raw(sim, 'GET', `/tasks/${started.body.taskId}`);
    expect(task.body).toMatchObject({
      taskId: started.body.taskId,
      taskStatus: 'SUCCESS',
      result: { id: running.id },
      data: {
        id: started.body.taskId,
        status: 'SUCCESS',
        created: expect.any(String),
        result: { id: running.id },
      },
    });
    expect((await raw(sim, 'GET', '/tasks/00000000-0000-4000-a000-000000000000')).status).toBe(404);
  });

  it('creates with the documented body and returns the instance as the task result', async () => {
    const networks = (await raw(sim, 'GET', `${ENV}/networks`)).body.data;
    const offerings = (await raw(sim, 'GET', `${ENV}/computeofferings`)).body.data;
    const templates = (await raw(sim, 'GET', `${ENV}/templates`)).body.data;
    expect(offerings.find((o: { name: string }) => o.name === 'Custom CPU and memory')).toMatchObject({
      custom: true,
      availableCpuCountValues: expect.any(Array),
    });
    expect(templates[0]).toMatchObject({
      isReady: true,
      osType: expect.any(String),
      availableInZones: expect.any(Array),
    });
    const body = {
      name: 'jarvis',
      templateId: templates[0].id,
      computeOfferingId: offerings.find((o: { name: string }) => o.name === '1vCPU.1GB').id,
      networkId: networks[0].id,
      sshKeyName: 'ops-team',
      portsToForward: ['80', '9999'],
      userData: "#!/bin/bash\necho 'hello world'",
    };
    const created = await raw(sim, 'POST', `${ENV}/instances`, body);
    expect(created.body.taskStatus).toBe('PENDING');
    await new Promise((r) => setTimeout(r, 30));
    const task = await raw(sim, 'GET', `/tasks/${created.body.taskId}`);
    expect(task.body.result).toMatchObject({
      name: 'jarvis',
      state: 'Running',
      computeOfferingName: '1vCPU.1GB',
      userData: body.userData,
    });
    expect(task.body.result.publicIps[0]).toMatchObject({
      purposes: ['PORT_FORWARDING'],
      ports: ['80', '9999'],
    });
    const missing = await raw(sim, 'POST', `${ENV}/instances`, { name: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].message).toMatch(/templateId, computeOfferingId, networkId/);
  });

  it('answers unknown environments and endpoints with 404, wrong verbs with 405', async () => {
    expect((await raw(sim, 'GET', '/services/compute-qc/nowhere/instances')).status).toBe(404);
    expect((await raw(sim, 'GET', `${ENV}/volcanoes`)).status).toBe(404);
    expect((await raw(sim, 'DELETE', `${ENV}/instances`)).status).toBe(405);
    expect((await raw(sim, 'POST', `${ENV}/templates`)).status).toBe(405);
  });

  it('refuses an unknown operation and an operation on a busy instance', async () => {
    const stopped = (await raw(sim, 'GET', `${ENV}/instances`)).body.data.find(
      (i: { state: string }) => i.state === 'Stopped',
    );
    expect((await raw(sim, 'POST', `${ENV}/instances/${stopped.id}?operation=explode`)).status).toBe(400);
    sim.faults.stuckOperations = 1;
    const first = await raw(sim, 'POST', `${ENV}/instances/${stopped.id}?operation=reboot`);
    expect(first.status).toBe(200);
    const second = await raw(sim, 'POST', `${ENV}/instances/${stopped.id}?operation=start`);
    expect(second.status).toBe(400);
    expect(second.body.errors[0].code).toBe(2012);
  });
});
