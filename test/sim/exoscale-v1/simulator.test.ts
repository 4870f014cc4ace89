import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatExpires, type Params } from '../../../functions/providers/exoscale-v1/auth.ts';
import { ExoscaleV1Simulator } from '../../../sim/exoscale-v1/simulator.ts';
import { type Call, cloudstackClient } from './support.ts';

let sim: ExoscaleV1Simulator;

beforeAll(async () => {
  sim = await new ExoscaleV1Simulator({
    seed: 3,
    fleetSize: 12,
    transitionMs: 150,
    operationMs: 150,
    maxPageSize: 5,
  }).start();
});
afterAll(async () => {
  await sim.close();
});

const { send, waitJob, firstVm, key } = cloudstackClient(() => sim);
const expiring = (offsetMs: number): Params => [
  ['signatureVersion', '3'],
  ['expires', formatExpires(new Date(Date.now() + offsetMs))],
];
const AUTH_FAILED = {
  uuidList: [],
  errorcode: 401,
  errortext: 'unable to verify usercredentials and/or request signature',
};

describe('exoscale-v1 simulator: authentication as ApiServer.verifyRequest', () => {
  it('accepts a cs-style signed request (apiKey, signatureVersion=3, expires)', async () => {
    const { status, body } = await send({
      params: [['command', 'listZones'], ['apiKey', key()], ...expiring(600_000)],
    });
    expect(status).toBe(200);
    expect((body.listzonesresponse!.zone as Array<{ name: string }>).map((z) => z.name)).toContain(
      'ch-gva-2',
    );
  });

  it('accepts a non-expiring signature (the seed example has none)', async () => {
    expect(
      (
        await send({
          params: [
            ['command', 'listZones'],
            ['apikey', key()],
          ],
        })
      ).status,
    ).toBe(200);
  });

  it('accepts a form-encoded POST', async () => {
    expect(
      (
        await send({
          method: 'POST',
          params: [
            ['command', 'listZones'],
            ['apikey', key()],
          ],
        })
      ).status,
    ).toBe(200);
  });

  const denied: Array<[string, () => Call]> = [
    [
      'a missing signature',
      () => ({
        params: [
          ['command', 'listZones'],
          ['apikey', key()],
        ],
        signature: null,
      }),
    ],
    [
      'a wrong secret',
      () => ({
        params: [
          ['command', 'listZones'],
          ['apikey', key()],
        ],
        secret: 'wrong-secret',
      }),
    ],
    [
      'an unknown key',
      () => ({
        params: [
          ['command', 'listZones'],
          ['apikey', 'EXOnope'],
        ],
      }),
    ],
    [
      'a tampered signature',
      () => ({
        params: [
          ['command', 'listZones'],
          ['apikey', key()],
        ],
        signature: 'AAAA',
      }),
    ],
    [
      'an expired signature',
      () => ({ params: [['command', 'listZones'], ['apikey', key()], ...expiring(-1_000)] }),
    ],
    [
      'expires more than 15 minutes ahead',
      () => ({ params: [['command', 'listZones'], ['apikey', key()], ...expiring(16 * 60_000)] }),
    ],
    [
      'signature version 3 without expires',
      () => ({
        params: [
          ['command', 'listZones'],
          ['apikey', key()],
          ['signatureversion', '3'],
        ],
      }),
    ],
  ];
  for (const [name, call] of denied) {
    it(`answers ${name} with 401 in the command's wrapper`, async () => {
      const { status, body } = await send(call());
      expect(status).toBe(401);
      expect(body).toEqual({ listzonesresponse: AUTH_FAILED });
    });
  }
});

describe('exoscale-v1 simulator: answers', () => {
  it('answers an unknown command with 432', async () => {
    const { status, body } = await send({
      params: [
        ['command', 'launchRocket'],
        ['apikey', key()],
      ],
    });
    expect(status).toBe(432);
    expect(body.launchrocketresponse).toMatchObject({ errorcode: 432, cserrorcode: 9999 });
  });

  it('answers an empty list as {}', async () => {
    const { body } = await send({
      params: [
        ['command', 'listTemplates'],
        ['templatefilter', 'self'],
        ['apikey', key()],
      ],
    });
    expect(body).toEqual({ listtemplatesresponse: {} });
  });

  it('pages with count as the total', async () => {
    const p1 = await send({
      params: [
        ['command', 'listVirtualMachines'],
        ['page', '1'],
        ['pagesize', '500'],
        ['apikey', key()],
      ],
    });
    const first = p1.body.listvirtualmachinesresponse!;
    expect(first.count).toBe(14);
    expect((first.virtualmachine as unknown[]).length).toBe(5);
    const p4 = await send({
      params: [
        ['command', 'listVirtualMachines'],
        ['page', '4'],
        ['pagesize', '500'],
        ['apikey', key()],
      ],
    });
    expect(p4.body.listvirtualmachinesresponse).toEqual({});
  });

  it('answers an unknown id with 431/4350 "entity does not exist"', async () => {
    const { status, body } = await send({
      params: [
        ['command', 'stopVirtualMachine'],
        ['id', '00000000-0000-4000-a000-000000000000'],
        ['apikey', key()],
      ],
    });
    expect(status).toBe(431);
    expect(body.stopvirtualmachineresponse).toMatchObject({ errorcode: 431, cserrorcode: 4350 });
    expect(String(body.stopvirtualmachineresponse!.errortext)).toMatch(/entity does not exist/);
  });

  it('deploys asynchronously: {id, jobid}, then the job result carries the VM', async () => {
    const { body: zones } = await send({
      params: [
        ['command', 'listZones'],
        ['name', 'ch-gva-2'],
        ['apikey', key()],
      ],
    });
    const zoneid = (zones.listzonesresponse!.zone as Array<{ id: string }>)[0]!.id;
    const { body: tpl } = await send({
      params: [
        ['command', 'listTemplates'],
        ['templatefilter', 'featured'],
        ['zoneid', zoneid],
        ['name', 'Linux Debian 12 (Bookworm) 64-bit'],
        ['apikey', key()],
      ],
    });
    const templateid = (tpl.listtemplatesresponse!.template as Array<{ id: string }>)[0]!.id;
    const { status, body } = await send({
      params: [
        ['command', 'deployVirtualMachine'],
        ['zoneid', zoneid],
        ['templateid', templateid],
        ['serviceofferingid', '71004023-bb72-4a97-b1e9-bc66dfce9470'],
        ['name', 'sim-unit-1'],
        ['apikey', key()],
      ],
    });
    expect(status).toBe(200);
    const accepted = body.deployvirtualmachineresponse as { id: string; jobid: string };
    expect(accepted.id).toBeTruthy();
    const pending = await send({
      params: [
        ['command', 'queryAsyncJobResult'],
        ['jobid', accepted.jobid],
        ['apikey', key()],
      ],
    });
    expect(pending.body.queryasyncjobresultresponse).toMatchObject({
      jobstatus: 0,
      jobid: accepted.jobid,
      jobinstanceid: accepted.id,
    });
    const done = await waitJob(accepted.jobid);
    expect(done).toMatchObject({ jobstatus: 1, jobresultcode: 0, jobresulttype: 'object' });
    expect(
      (done.jobresult as { virtualmachine: { id: string; state: string; serviceofferingname: string } })
        .virtualmachine,
    ).toMatchObject({
      id: accepted.id,
      state: 'Running',
      serviceofferingname: 'Micro',
    });
  });

  it('refuses to change the offering of a running VM: 431 sync, or a failed job for scaleVirtualMachine', async () => {
    const vm = await firstVm('Running');
    const sync = await send({
      params: [
        ['command', 'changeServiceForVirtualMachine'],
        ['id', String(vm.id)],
        ['serviceofferingid', 'c6f99499-7f59-4138-9427-a09db13af2bc'],
        ['apikey', key()],
      ],
    });
    expect(sync.status).toBe(431);
    expect(String(sync.body.changeserviceforvirtualmachineresponse!.errortext)).toMatch(
      /in state Running; make sure the virtual machine is stopped/,
    );
    const async = await send({
      params: [
        ['command', 'scaleVirtualMachine'],
        ['id', String(vm.id)],
        ['serviceofferingid', 'c6f99499-7f59-4138-9427-a09db13af2bc'],
        ['apikey', key()],
      ],
    });
    const job = await waitJob(String(async.body.scalevirtualmachineresponse!.jobid));
    expect(job).toMatchObject({
      jobstatus: 2,
      jobresultcode: 431,
      jobresult: { errorcode: 431, cserrorcode: 4350 },
    });
  });

  it('scales a stopped VM with scaleVirtualMachine ({success: true})', async () => {
    const vm = await firstVm('Stopped');
    const target =
      vm.serviceofferingid === 'c6f99499-7f59-4138-9427-a09db13af2bc'
        ? 'b6e9d1e8-89fc-4db3-aaa4-9b4c5b1d0844'
        : 'c6f99499-7f59-4138-9427-a09db13af2bc';
    const { body } = await send({
      params: [
        ['command', 'scaleVirtualMachine'],
        ['id', String(vm.id)],
        ['serviceofferingid', target],
        ['apikey', key()],
      ],
    });
    const job = await waitJob(String(body.scalevirtualmachineresponse!.jobid));
    expect(job).toMatchObject({ jobstatus: 1, jobresult: { success: true } });
  });

  it('treats stopping a Stopped VM as CloudStack does: the job succeeds and nothing changes', async () => {
    const vm = await firstVm('Stopped');
    const { body } = await send({
      params: [
        ['command', 'stopVirtualMachine'],
        ['id', String(vm.id)],
        ['apikey', key()],
      ],
    });
    const job = await waitJob(String(body.stopvirtualmachineresponse!.jobid));
    expect(job).toMatchObject({ jobstatus: 1 });
    expect((job.jobresult as { virtualmachine: { state: string } }).virtualmachine.state).toBe('Stopped');
  });

  it('fails a job for a tag key that is already on the VM', async () => {
    const vm = await firstVm('Running');
    const create = (value: string) =>
      send({
        params: [
          ['command', 'createTags'],
          ['resourceids', String(vm.id)],
          ['resourcetype', 'UserVm'],
          ['tags[0].key', 'unit'],
          ['tags[0].value', value],
          ['apikey', key()],
        ],
      });
    expect(await waitJob(String((await create('a')).body.createtagsresponse!.jobid))).toMatchObject({
      jobstatus: 1,
    });
    expect(await waitJob(String((await create('b')).body.createtagsresponse!.jobid))).toMatchObject({
      jobstatus: 2,
    });
  });

  it('answers the kit rate limit with 429/4545 and Retry-After', async () => {
    sim.faults.rateLimited = 1;
    sim.faults.retryAfterSeconds = 2;
    const { status, headers, body } = await send({
      params: [
        ['command', 'listZones'],
        ['apikey', key()],
      ],
    });
    expect(status).toBe(429);
    expect(headers.get('retry-after')).toBe('2');
    expect(body.errorresponse).toMatchObject({ errorcode: 429, cserrorcode: 4545 });
  });

  it('counts only CloudStack mutations as mutations', async () => {
    const before = sim.mutations().length;
    await send({
      params: [
        ['command', 'listVirtualMachines'],
        ['apikey', key()],
      ],
    });
    expect(sim.mutations().length).toBe(before);
    const vm = await firstVm('Running');
    await send({
      params: [
        ['command', 'rebootVirtualMachine'],
        ['id', String(vm.id)],
        ['apikey', key()],
      ],
    });
    expect(sim.mutations().length).toBe(before + 1);
  });
});
