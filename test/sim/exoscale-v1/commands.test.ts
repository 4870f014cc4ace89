import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExoscaleV1Simulator } from '../../../sim/exoscale-v1/simulator.ts';
import { cloudstackClient } from './support.ts';

/**
 * The commands a compute client uses around instances, beyond what the fleetflow adapter sends:
 * each answered with Exoscale's (or, where Exoscale's page is silent, CloudStack's) shapes. The
 * "Libcloud" cases replay the calls and field reads of Apache Libcloud's CloudStack driver
 * (which Libcloud's Exoscale driver is) in list_nodes, create_node, reboot_node and destroy_node.
 */

let sim: ExoscaleV1Simulator;
const { call, run, firstVm } = cloudstackClient(() => sim);

beforeAll(async () => {
  sim = await new ExoscaleV1Simulator({ seed: 3, fleetSize: 6, transitionMs: 30, operationMs: 30 }).start();
});
afterAll(async () => {
  await sim.close();
});

type Row = Record<string, unknown>;
const rows = (answer: Row, entity: string) => (answer[entity] as Row[] | undefined) ?? [];
const zoneId = async () =>
  rows((await call('listZones', { name: 'ch-gva-2' })).answer, 'zone')[0]!.id as string;

describe('exoscale-v1 simulator: what Libcloud calls', () => {
  it('list_nodes: listVirtualMachines, listPublicIpAddresses, listPortForwardingRules, listIpForwardingRules', async () => {
    const vms = (await call('listVirtualMachines')).answer;
    const addrs = await call('listPublicIpAddresses');
    const pf = await call('listPortForwardingRules');
    const ipf = await call('listIpForwardingRules');
    expect([addrs.status, pf.status, ipf.status]).toEqual([200, 200, 200]);
    // What the driver reads: addrs.get('publicipaddress', []), rules.get('portforwardingrule', [])…
    expect(rows(pf.answer, 'portforwardingrule')).toEqual([]);
    expect(rows(ipf.answer, 'ipforwardingrule')).toEqual([]);
    // …and per VM: id, name or displayname, state (through its state map), nic[].ipaddress, tags.
    for (const vm of rows(vms, 'virtualmachine')) {
      expect(vm).toMatchObject({
        id: expect.any(String),
        name: expect.any(String),
        state: expect.any(String),
      });
      expect((vm.nic as Row[])[0]!.ipaddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(Array.isArray(vm.tags)).toBe(true);
    }
  });

  it('create_node: deployVirtualMachine with startvm=False (Python) deploys a stopped VM and answers its password', async () => {
    const size = rows((await call('listServiceOfferings', { name: 'Small' })).answer, 'serviceoffering')[0]!;
    const zoneid = await zoneId();
    const image = rows(
      (await call('listTemplates', { templatefilter: 'executable', zoneid })).answer,
      'template',
    )[0]!;
    const job = await run('deployVirtualMachine', {
      name: 'lc-web-1',
      displayname: 'lc-web-1',
      serviceofferingid: size.id as string,
      templateid: image.id as string,
      zoneid,
      startvm: 'False',
    });
    expect(job.jobstatus).toBe(1);
    const vm = (job.jobresult as Row).virtualmachine as Row;
    expect(vm).toMatchObject({ name: 'lc-web-1', displayname: 'lc-web-1', state: 'Stopped' });
    expect(vm.password).toEqual(expect.any(String));
    const started = await run('deployVirtualMachine', {
      name: 'lc-web-2',
      serviceofferingid: size.id as string,
      templateid: image.id as string,
      zoneid,
      startvm: 'TRUE',
    });
    expect(((started.jobresult as Row).virtualmachine as Row).state).toBe('Running');
  });

  it('reboot_node and destroy_node: rebootVirtualMachine, destroyVirtualMachine (expunge accepted)', async () => {
    const vm = await firstVm('Running');
    const rebooted = await run('rebootVirtualMachine', { id: vm.id as string });
    expect(((rebooted.jobresult as Row).virtualmachine as Row).state).toBe('Running');
    const destroyed = await run('destroyVirtualMachine', { id: vm.id as string, expunge: 'True' });
    expect(destroyed.jobstatus).toBe(1);
    expect(
      rows((await call('listVirtualMachines', { id: vm.id as string })).answer, 'virtualmachine'),
    ).toEqual([]);
  });
});

describe('exoscale-v1 simulator: public IPs (elastic)', () => {
  it('associateIpAddress → listPublicIpAddresses (with filters) → disassociateIpAddress', async () => {
    const zoneid = await zoneId();
    expect(rows((await call('listPublicIpAddresses')).answer, 'publicipaddress')).toEqual([]);
    const job = await run('associateIpAddress', { zoneid });
    const ip = (job.jobresult as Row).ipaddress as Row;
    expect(ip).toMatchObject({ zoneid, zonename: 'ch-gva-2', iselastic: true, state: 'Allocated' });
    const listed = rows((await call('listPublicIpAddresses', { zoneid })).answer, 'publicipaddress');
    expect(listed.map((a) => a.ipaddress)).toEqual([ip.ipaddress]);
    expect(
      rows((await call('listPublicIpAddresses', { iselastic: 'false' })).answer, 'publicipaddress'),
    ).toEqual([]);
    expect(
      rows(
        (await call('listPublicIpAddresses', { ipaddress: ip.ipaddress as string })).answer,
        'publicipaddress',
      ),
    ).toHaveLength(1);
    expect((await run('disassociateIpAddress', { id: ip.id as string })).jobresult).toEqual({
      success: true,
    });
    expect(rows((await call('listPublicIpAddresses')).answer, 'publicipaddress')).toEqual([]);
  });

  it('refuses an unknown zone or address as CloudStack does (431, the parameter named)', async () => {
    const zone = await call('associateIpAddress', { zoneid: '00000000-0000-4000-a000-000000000000' });
    expect(zone.status).toBe(431);
    expect(zone.answer.errortext).toMatch(/Invalid parameter zoneid/);
    const ip = await call('disassociateIpAddress', { id: '00000000-0000-4000-a000-000000000000' });
    expect(ip.status).toBe(431);
    expect((await call('associateIpAddress')).answer.errortext).toMatch(/missing parameter zoneid/);
  });
});

describe('exoscale-v1 simulator: snapshots', () => {
  it('createSnapshot → listSnapshots (by id, volume, zone, keyword) → deleteSnapshot', async () => {
    const vm = await firstVm('Stopped');
    const volume = rows(
      (await call('listVolumes', { virtualmachineid: vm.id as string })).answer,
      'volume',
    )[0]!;
    const created = await run('createSnapshot', { volumeid: volume.id as string });
    const snap = (created.jobresult as Row).snapshot as Row;
    const byVolume = rows(
      (await call('listSnapshots', { volumeid: volume.id as string })).answer,
      'snapshot',
    );
    expect(byVolume).toEqual([
      expect.objectContaining({ id: snap.id, state: 'BackedUp', volumetype: 'ROOT', zoneid: vm.zoneid }),
    ]);
    expect(rows((await call('listSnapshots', { id: snap.id as string })).answer, 'snapshot')).toHaveLength(1);
    expect(rows((await call('listSnapshots', { keyword: 'ROOT' })).answer, 'snapshot')).toHaveLength(1);
    expect(rows((await call('listSnapshots', { zoneid: 'elsewhere' })).answer, 'snapshot')).toEqual([]);
    expect((await run('deleteSnapshot', { id: snap.id as string })).jobresult).toEqual({ success: true });
    // An empty list is `{}`, as CloudStack answers it.
    expect((await call('listSnapshots')).answer).toEqual({});
  });
});

describe('exoscale-v1 simulator: the VM around it', () => {
  it('updateVirtualMachine renames (host name checked), resetPasswordForVirtualMachine needs a Stopped VM', async () => {
    const vm = await firstVm('Stopped');
    const updated = await call('updateVirtualMachine', {
      id: vm.id as string,
      displayname: 'Renamed',
      name: 'renamed-1',
    });
    expect((updated.answer.virtualmachine as Row).displayname).toBe('Renamed');
    expect((await call('updateVirtualMachine', { id: vm.id as string, name: '-bad' })).status).toBe(431);
    const reset = await run('resetPasswordForVirtualMachine', { id: vm.id as string });
    expect(((reset.jobresult as Row).virtualmachine as Row).password).toEqual(expect.any(String));
    const running = await firstVm('Running');
    const refused = await run('resetPasswordForVirtualMachine', { id: running.id as string });
    expect(refused).toMatchObject({ jobstatus: 2, jobresult: { errorcode: 431 } });
  });

  it('listNics, listSecurityGroups, listSSHKeyPairs, listTags, listNetworks, listAsyncJobs', async () => {
    const vm = await firstVm('Running');
    const nics = rows((await call('listNics', { virtualmachineid: vm.id as string })).answer, 'nic');
    expect(nics).toEqual([
      expect.objectContaining({
        virtualmachineid: vm.id,
        isdefault: true,
        ipaddress: (vm.nic as Row[])[0]!.ipaddress,
      }),
    ]);
    expect((await call('listNics')).answer.errortext).toMatch(/missing parameter virtualmachineid/);
    const groups = rows(
      (await call('listSecurityGroups', { virtualmachineid: vm.id as string })).answer,
      'securitygroup',
    );
    expect(groups.map((g) => g.name)).toEqual(['default']);
    expect(
      rows((await call('listSecurityGroups', { securitygroupname: 'other' })).answer, 'securitygroup'),
    ).toEqual([]);
    expect(rows((await call('listSSHKeyPairs')).answer, 'sshkeypair').map((k) => k.name)).toEqual(['ops']);
    const tags = rows((await call('listTags', { resourceid: vm.id as string })).answer, 'tag');
    expect(tags.length).toBe((vm.tags as Row[]).length);
    expect(tags.every((t) => t.resourcetype === 'UserVm')).toBe(true);
    expect(rows((await call('listTags', { resourcetype: 'Snapshot' })).answer, 'tag')).toEqual([]);
    expect((await call('listNetworks')).answer).toEqual({});
    // A job that never finishes stays pending however slow the machine is.
    sim.faults.stuckOperations = 1;
    const pending = await call('stopVirtualMachine', { id: vm.id as string });
    const jobs = rows((await call('listAsyncJobs')).answer, 'asyncjobs');
    expect(jobs.map((j) => j.jobid)).toContain(pending.answer.jobid);
  });

  it('still answers 432 for a command Exoscale does not offer', async () => {
    const { status, answer } = await call('enableStaticNat', { ipaddressid: 'x', virtualmachineid: 'y' });
    expect(status).toBe(432);
    expect(answer.errortext).toMatch(/does not exist/);
    expect((await call('constructor')).status).toBe(432);
  });
});
