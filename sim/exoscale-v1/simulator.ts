import {
  type Params,
  parseExpires,
  signaturesMatch,
  signParams,
} from '../../functions/providers/exoscale-v1/auth.ts';
import { responseKey } from '../../functions/providers/exoscale-v1/schemas.ts';
import {
  CommandTable,
  type SeedRequest,
  type SimRequest,
  type SimResponse,
  SimulatorBase,
  type SimulatorOptions,
  type TransitionTable,
} from '../kit/index.ts';
import {
  CPU_SPEED,
  SERVICE_OFFERINGS,
  type SimServiceOffering,
  type SimTemplate,
  type SimZone,
  SSH_KEYPAIRS,
  TEMPLATES,
  ZONES,
} from './seed.ts';

/**
 * Exoscale's v1 compute API (Apache CloudStack) on loopback: `GET|POST /compute?command=…`,
 * signature checked as `ApiServer.verifyRequest` does, `<command>response` wrappers, async jobs
 * polled through queryAsyncJobResult, CloudStack's errorcode/cserrorcode error bodies.
 *
 * CloudStack couples a VM's state with its job: the state flips when the job completes, so a
 * job takes max(transitionMs, operationMs). As on Exoscale, destroyVirtualMachine expunges: the
 * VM is gone when the job completes, and its id then behaves like any unknown id.
 */

const ACCOUNT = 'fleetflow@example.com';
const ACCOUNT_ID = '7ec2f4ad-5b63-4c51-a6a3-0f4a3ad0c2b1';
const USER_ID = '2b8c1d0e-9f37-4a8e-b3a1-5c0f2de4a911';
const DOMAIN_ID = '4a8e6b1c-3f0d-4c55-9a57-1d2e3f4a5b6c';
const SG_ID = 'b87ff34d-abf3-42d3-a097-78075515dd34';

/** CloudStack's VM host name rule and its message. */
const HOSTNAME = /^(?![0-9-])[A-Za-z0-9-]{1,63}(?<!-)$/;
const INVALID_NAME =
  "Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through '9', and the hyphen ('-'), must be between 1 and 63 characters long, and can't start or end with \"-\" and can't start with digit";

const AUTH_FAILED = 'unable to verify usercredentials and/or request signature';
// ApiServer rejects `expires` further ahead than this when enforce.post.requests.and.timestamps is on.
const MAX_EXPIRES_AHEAD_MS = 15 * 60_000;

type Command = (p: Map<string, string>, command: string) => unknown;

/**
 * start/stop/reboot as CloudStack's VirtualMachineManager runs them: the states each acts from,
 * the state while its job runs, the state it ends in, and the job failure in any other state.
 * `refusedIn`: only these states fail; the others outside `from` succeed without doing anything
 * (CloudStack's advanceStop returns at once for a VM that is not running).
 */
const VM_ACTIONS: TransitionTable<
  'startVirtualMachine' | 'stopVirtualMachine' | 'rebootVirtualMachine',
  string,
  { cmd: string; refusedIn?: readonly string[]; refusal: (vm: SimVm, from: string) => JobFailure }
> = {
  startVirtualMachine: {
    from: ['Stopped', 'Shutdowned'],
    during: 'Starting',
    to: 'Running',
    cmd: 'org.apache.cloudstack.api.command.user.vm.StartVMCmd',
    refusal: (vm, from) =>
      from === 'Running'
        ? // CloudStack ≥ 4.15 (apache/cloudstack#3979) refuses to start a running VM.
          new JobFailure(431, 4350, `The virtual machine ${vm.id} (${vm.displayname}) is already running`)
        : new JobFailure(530, 4250, `Unable to start VM[User|${vm.instancename}]: it is in state ${from}`),
  },
  stopVirtualMachine: {
    from: ['Running'],
    during: 'Stopping',
    to: 'Stopped',
    cmd: 'org.apache.cloudstack.api.command.user.vm.StopVMCmd',
    refusedIn: ['Starting', 'Stopping', 'Migrating'],
    refusal: (vm, from) =>
      new JobFailure(530, 4250, `Unable to stop VM[User|${vm.instancename}]: it is in state ${from}`),
  },
  rebootVirtualMachine: {
    // RebootVMCmd answers INTERNAL_ERROR when the VM is not Running.
    from: ['Running'],
    to: 'Running',
    cmd: 'org.apache.cloudstack.api.command.user.vm.RebootVMCmd',
    refusal: () => new JobFailure(530, 9999, 'Failed to reboot vm instance'),
  },
};

interface SimVm {
  id: string;
  name: string;
  displayname: string;
  instancename: string;
  zone: SimZone;
  offering: SimServiceOffering;
  template: SimTemplate;
  state: string;
  created: string;
  tags: Map<string, string>;
  ipaddress: string;
  ip6address?: string;
  macaddress: string;
  nicId: string;
  keypair?: string;
  rootVolumeId: string;
  rootSizeGb: number;
  password?: string;
}

/** An elastic IP (associateIpAddress); this simulator does not attach it to a NIC. */
interface SimPublicIp {
  id: string;
  ipaddress: string;
  zone: SimZone;
  allocated: string;
}

interface SimSnapshot {
  id: string;
  name: string;
  volumeid: string;
  volumename: string;
  zone: SimZone;
  state: string;
  created: string;
}

interface SimJob {
  jobid: string;
  cmd: string;
  created: string;
  jobstatus: 0 | 1 | 2;
  jobresultcode: number;
  jobresult?: unknown;
  jobinstanceid?: string;
  jobinstancetype?: string;
}

/** A job that fails with CloudStack's error triple. */
class JobFailure extends Error {
  constructor(
    readonly errorcode: number,
    readonly cserrorcode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A synchronous error answer, thrown from command handlers. */
class ApiFailure extends Error {
  constructor(
    readonly errorcode: number,
    readonly cserrorcode: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export class ExoscaleV1Simulator extends SimulatorBase {
  readonly provider = 'exoscale-v1' as const;
  readonly credentials: { apiKey: string; apiSecret: string };
  readonly defaultLocation = 'ch-gva-2';
  private readonly vms = new Map<string, SimVm>();
  private readonly snapshots = new Map<string, SimSnapshot>();
  private readonly jobs = new Map<string, SimJob>();
  private readonly publicIps = new Map<string, SimPublicIp>();
  private counter = 0;

  constructor(options: SimulatorOptions = {}) {
    super(options);
    const hex = (n: number) =>
      Array.from({ length: n }, () => Math.floor(this.random() * 16).toString(16)).join('');
    const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    this.credentials = {
      apiKey: `EXO${hex(24)}`,
      apiSecret: Array.from({ length: 43 }, () => b64[Math.floor(this.random() * 64)]).join(''),
    };
    this.seedFleet();
  }

  endpoint(_location?: string): string {
    // One URL for every zone, as https://api.exoscale.com/compute.
    return `${this.origin}/compute`;
  }

  protected override isMutation(req: SimRequest): boolean {
    return Object.hasOwn(this.writes, lookup(allParams(req), 'command') ?? '');
  }

  protected errorResponse(status: number, message: string, _code?: string): SimResponse {
    // The kit's rate limit and 5xx bursts: CloudStack's shape under the generic wrapper key.
    const cserrorcode = status === 429 ? 4545 : status >= 500 ? 9999 : undefined;
    const errortext =
      status === 429
        ? `The given user has reached his/her account api limit, please retry after ${this.faults.retryAfterSeconds * 1000} ms.`
        : message;
    return { status, body: { errorresponse: errorBody(status, errortext, cserrorcode) } };
  }

  protected authenticate(req: SimRequest): SimResponse | undefined {
    if (req.path !== '/compute' && req.path !== '/compute/') {
      return { status: 404, body: { errorresponse: errorBody(404, `no such path ${req.path}`) } };
    }
    if (req.method !== 'GET' && req.method !== 'POST') {
      return { status: 405, body: { errorresponse: errorBody(405, `method ${req.method} is not allowed`) } };
    }
    const params = allParams(req);
    const command = lookup(params, 'command') ?? '';
    const denied = () => this.fail(command, new ApiFailure(401, undefined, AUTH_FAILED));
    const apiKey = lookup(params, 'apikey');
    const signature = lookup(params, 'signature');
    if (!apiKey || !signature || apiKey !== this.credentials.apiKey) return denied();
    if (lookup(params, 'signatureversion') === '3') {
      const raw = lookup(params, 'expires');
      const expires = raw ? parseExpires(raw) : undefined;
      const now = Date.now();
      if (!expires || expires.getTime() < now || expires.getTime() > now + MAX_EXPIRES_AHEAD_MS)
        return denied();
    }
    const expected = signParams(params, this.credentials.apiSecret);
    return signaturesMatch(expected, signature) ? undefined : denied();
  }

  protected route(req: SimRequest): SimResponse {
    const params = allParams(req);
    const p = new Map<string, string>();
    // Parameter names are case-insensitive in CloudStack; values are not.
    for (const [k, v] of params) p.set(k.toLowerCase(), v);
    const command = p.get('command') ?? '';
    try {
      const handler = this.commands.lookup(command);
      if (!handler) {
        throw new ApiFailure(432, 9999, 'The given command does not exist or it is not available for user');
      }
      return { status: 200, body: { [responseKey(command)]: handler(p, command) } };
    } catch (error) {
      if (error instanceof ApiFailure) return this.fail(command, error);
      throw error;
    }
  }

  private fail(command: string, failure: ApiFailure): SimResponse {
    const key = command ? responseKey(command) : 'errorresponse';
    return {
      status: failure.errorcode,
      body: { [key]: errorBody(failure.errorcode, failure.message, failure.cserrorcode) },
    };
  }

  // ---- commands --------------------------------------------------------------------------
  // One table of reads and one of writes (the request log and resetsAfterApply need to
  // know which is which); route() looks a command up in both.
  private readonly reads: Record<string, Command> = {
    listZones: (p) => {
      const zones = ZONES.filter(
        (z) => (!p.get('id') || z.id === p.get('id')) && (!p.get('name') || z.name === p.get('name')),
      );
      return listBody('zone', zones.map(zoneJson));
    },
    listServiceOfferings: (p) => {
      const found = SERVICE_OFFERINGS.filter(
        (o) => (!p.get('id') || o.id === p.get('id')) && (!p.get('name') || o.name === p.get('name')),
      );
      return this.page(p, 'serviceoffering', found.map(offeringJson));
    },
    listTemplates: (p, command) => {
      const filter = required(p, 'templatefilter', command);
      if (
        ![
          'featured',
          'self',
          'selfexecutable',
          'sharedexecutable',
          'executable',
          'community',
          'all',
        ].includes(filter)
      ) {
        throw paramError(`Invalid template filter ${filter}`);
      }
      // Every simulated template is a featured public one; the account has none of its own.
      if (
        filter === 'self' ||
        filter === 'selfexecutable' ||
        filter === 'sharedexecutable' ||
        filter === 'community'
      ) {
        return {};
      }
      const found = TEMPLATES.filter(
        (t) =>
          (!p.get('zoneid') || t.zoneid === p.get('zoneid')) &&
          (!p.get('id') || t.id === p.get('id')) &&
          (!p.get('name') || t.name === p.get('name')),
      );
      return this.page(p, 'template', found.map(templateJson));
    },
    listVirtualMachines: (p, command) => {
      const id = p.get('id');
      if (id) this.vm(id, command, 'id');
      const tagFilters = indexedMap(p, 'tags');
      const name = p.get('name')?.toLowerCase();
      const keyword = p.get('keyword')?.toLowerCase();
      const found = [...this.vms.values()].filter(
        (vm) =>
          (!id || vm.id === id) &&
          (!p.get('zoneid') || vm.zone.id === p.get('zoneid')) &&
          (!p.get('state') || vm.state.toLowerCase() === p.get('state')!.toLowerCase()) &&
          (!p.get('templateid') || vm.template.id === p.get('templateid')) &&
          (!name || vm.name.toLowerCase().includes(name) || vm.displayname.toLowerCase().includes(name)) &&
          (!keyword ||
            vm.name.toLowerCase().includes(keyword) ||
            vm.displayname.toLowerCase().includes(keyword)) &&
          // Several tags are OR'ed, as the API page says.
          (tagFilters.length === 0 ||
            tagFilters.some(
              (t) =>
                vm.tags.has(t.key ?? '') && (t.value === undefined || vm.tags.get(t.key ?? '') === t.value),
            )),
      );
      return this.page(
        p,
        'virtualmachine',
        found.map((vm) => this.vmJson(vm)),
      );
    },
    listVolumes: (p, command) => {
      const vmId = p.get('virtualmachineid');
      if (vmId) this.vm(vmId, command, 'virtualmachineid');
      const type = p.get('type')?.toUpperCase();
      const found = [...this.vms.values()].filter(
        (vm) =>
          (!vmId || vm.id === vmId) &&
          (!p.get('id') || vm.rootVolumeId === p.get('id')) &&
          (!p.get('zoneid') || vm.zone.id === p.get('zoneid')) &&
          (!type || type === 'ROOT'),
      );
      return this.page(p, 'volume', found.map(volumeJson));
    },
    queryAsyncJobResult: (p, command) => {
      const jobid = required(p, 'jobid', command);
      const job = this.jobs.get(jobid);
      if (!job) throw entityMissing(command, 'jobid', jobid);
      return jobJson(job);
    },
    listPublicIpAddresses: (p) => {
      // iselastic=false: Exoscale's only public IPs outside elastic ones are the NICs' own,
      // which this command does not list (UNCONFIRMED, as the entries' fields: CloudStack's).
      const elastic = p.get('iselastic');
      const found = [...this.publicIps.values()].filter(
        (ip) =>
          (elastic === undefined || parseBoolean(elastic)) &&
          (!p.get('id') || ip.id === p.get('id')) &&
          (!p.get('ipaddress') || ip.ipaddress === p.get('ipaddress')) &&
          (!p.get('zoneid') || ip.zone.id === p.get('zoneid')),
      );
      return this.page(p, 'publicipaddress', found.map(publicIpJson));
    },
    listSnapshots: (p) => {
      const keyword = p.get('keyword')?.toLowerCase();
      const found = [...this.snapshots.values()].filter(
        (s) =>
          (!p.get('id') || s.id === p.get('id')) &&
          (!p.get('name') || s.name === p.get('name')) &&
          (!keyword || s.name.toLowerCase().includes(keyword)) &&
          (!p.get('volumeid') || s.volumeid === p.get('volumeid')) &&
          (!p.get('zoneid') || s.zone.id === p.get('zoneid')) &&
          // Snapshots carry no tags here: a tag filter matches none.
          indexedMap(p, 'tags').length === 0,
      );
      return this.page(p, 'snapshot', found.map(snapshotJson));
    },
    listSecurityGroups: (p, command) => {
      const vmId = p.get('virtualmachineid');
      if (vmId) this.vm(vmId, command, 'virtualmachineid');
      const matches =
        (!p.get('id') || p.get('id') === SG_ID) &&
        (!p.get('securitygroupname') || p.get('securitygroupname') === 'default');
      return this.page(p, 'securitygroup', matches ? [securityGroupJson()] : []);
    },
    listSSHKeyPairs: (p) => {
      const found = SSH_KEYPAIRS.filter(
        (k) =>
          (!p.get('name') || k.name === p.get('name')) &&
          (!p.get('fingerprint') || k.fingerprint === p.get('fingerprint')),
      );
      return this.page(p, 'sshkeypair', found);
    },
    // The account has no private networks; the zones' shared guest network is not listed
    // (UNCONFIRMED: Exoscale's page shows only private networks in its answer).
    listNetworks: (p) => this.page(p, 'network', []),
    listNics: (p, command) => {
      const vm = this.vm(required(p, 'virtualmachineid', command), command, 'virtualmachineid');
      return this.page(p, 'nic', [{ ...nicJson(vm), deviceid: '0', virtualmachineid: vm.id }]);
    },
    listTags: (p) => {
      const type = p.get('resourcetype');
      const found = [...this.vms.values()].flatMap((vm) =>
        tagsJson(vm).filter(
          (t) =>
            (!type || type.toLowerCase() === 'uservm') &&
            (!p.get('resourceid') || vm.id === p.get('resourceid')) &&
            (!p.get('key') || t.key === p.get('key')) &&
            (!p.get('value') || t.value === p.get('value')),
        ),
      );
      return this.page(p, 'tag', found);
    },
    // Exoscale's page: "all pending asynchronous jobs for the account".
    listAsyncJobs: (p) =>
      this.page(p, 'asyncjobs', [...this.jobs.values()].filter((j) => j.jobstatus === 0).map(jobJson)),
    // Not on Exoscale's command list: CloudStack answers an empty list in a zone with security
    // groups and no NAT rules, and so does this simulator (UNCONFIRMED). Libcloud's list_nodes calls both.
    listPortForwardingRules: (p) => this.page(p, 'portforwardingrule', []),
    listIpForwardingRules: (p) => this.page(p, 'ipforwardingrule', []),
  };

  private readonly writes: Record<string, Command> = {
    deployVirtualMachine: (p, command) => {
      const zone = ZONES.find((z) => z.id === required(p, 'zoneid', command));
      if (!zone) throw entityMissing(command, 'zoneid', p.get('zoneid')!);
      const offering = SERVICE_OFFERINGS.find((o) => o.id === required(p, 'serviceofferingid', command));
      if (!offering) throw entityMissing(command, 'serviceofferingid', p.get('serviceofferingid')!);
      const templateId = required(p, 'templateid', command);
      const template = TEMPLATES.find((t) => t.id === templateId);
      if (!template) throw entityMissing(command, 'templateid', templateId);
      if (template.zoneid !== zone.id) {
        throw paramError(`Template ${templateId} is not available in zone ${zone.name}`);
      }
      if (!offering.authorized) {
        throw new ApiFailure(
          531,
          4365,
          `Service offering ${offering.name} is not authorized for account ${ACCOUNT}`,
        );
      }
      const hostname = p.get('name');
      if (hostname !== undefined && !HOSTNAME.test(hostname)) throw paramError(INVALID_NAME);
      const rootdisksize = p.get('rootdisksize');
      const rootSizeGb = rootdisksize ? Number(rootdisksize) : template.sizeGb;
      if (!Number.isInteger(rootSizeGb) || rootSizeGb < template.sizeGb) {
        throw paramError(
          `Invalid disk size: rootdisksize must be an integer of at least ${template.sizeGb} GB`,
        );
      }
      const id = this.uuid();
      // Java's Boolean.parseBoolean: "true" in any case; Libcloud sends Python's `False`.
      const startVm = parseBoolean(p.get('startvm') ?? 'true');
      const vm = this.newVm({
        id,
        hostname: hostname ?? id,
        displayname: p.get('displayname') ?? hostname ?? id,
        zone,
        offering,
        template,
        state: startVm ? 'Starting' : 'Stopped',
        created: new Date(),
        ipv6: p.get('ip6') === 'true',
        rootSizeGb,
        ...(p.get('keypair') !== undefined && { keypair: p.get('keypair')! }),
      });
      this.load.begin(vm.id);
      const job = this.job('org.apache.cloudstack.api.command.user.vm.DeployVMCmd', vm.id, {
        complete: () => {
          if (startVm) vm.state = 'Running';
          // Templates here are password-enabled: the deploy answer carries the generated password.
          vm.password = this.password();
          return { virtualmachine: { ...this.vmJson(vm), password: vm.password } };
        },
        rollback: () => {
          vm.state = 'Error';
        },
        failure: new JobFailure(533, 4250, `Unable to create a deployment for VM[User|${vm.instancename}]`),
      });
      return { id: vm.id, jobid: job.jobid };
    },
    startVirtualMachine: (p, command) => this.vmAction('startVirtualMachine', p, command),
    stopVirtualMachine: (p, command) => this.vmAction('stopVirtualMachine', p, command),
    rebootVirtualMachine: (p, command) => this.vmAction('rebootVirtualMachine', p, command),
    destroyVirtualMachine: (p, command) => {
      const vm = this.vm(required(p, 'id', command), command, 'id');
      const from = vm.state;
      if (from !== 'Expunging' && from !== 'Destroyed') vm.state = 'Expunging';
      const job = this.job('org.apache.cloudstack.api.command.user.vm.DestroyVMCmd', vm.id, {
        complete: () => {
          this.vms.delete(vm.id);
          // Exoscale documents the answer of an expunged VM this way.
          return { null: { securitygroup: [], nic: [], tags: [], affinitygroup: [] } };
        },
        rollback: () => {
          vm.state = from;
        },
      });
      return { jobid: job.jobid };
    },
    scaleVirtualMachine: (p, command) => {
      const vm = this.vm(required(p, 'id', command), command, 'id');
      const offering = this.offering(required(p, 'serviceofferingid', command), command);
      const precondition = this.scalePrecondition(vm, offering);
      const job = this.job('org.apache.cloudstack.api.command.user.vm.ScaleVMCmd', vm.id, {
        ...(precondition && { precondition: new JobFailure(431, 4350, precondition) }),
        complete: () => {
          vm.offering = offering;
          return { success: true };
        },
      });
      return { jobid: job.jobid };
    },
    changeServiceForVirtualMachine: (p, command) => {
      const vm = this.vm(required(p, 'id', command), command, 'id');
      const offering = this.offering(required(p, 'serviceofferingid', command), command);
      const precondition = this.scalePrecondition(vm, offering);
      if (precondition) throw paramError(precondition);
      vm.offering = offering;
      return { virtualmachine: this.vmJson(vm) };
    },
    createSnapshot: (p, command) => {
      const volumeId = required(p, 'volumeid', command);
      const vm = [...this.vms.values()].find((v) => v.rootVolumeId === volumeId);
      if (!vm) throw entityMissing(command, 'volumeid', volumeId);
      const created = new Date();
      const snapshot: SimSnapshot = {
        id: this.uuid(),
        name: p.get('name') ?? `${vm.instancename}_ROOT-${vm.instancename.split('-')[2]}_${stamp(created)}`,
        volumeid: volumeId,
        volumename: `ROOT-${vm.instancename.split('-')[2]}`,
        zone: vm.zone,
        state: 'Creating',
        created: csDate(created),
      };
      this.snapshots.set(snapshot.id, snapshot);
      const job = this.job('org.apache.cloudstack.api.command.user.snapshot.CreateSnapshotCmd', snapshot.id, {
        instanceType: 'Snapshot',
        complete: () => {
          snapshot.state = 'BackedUp';
          return { snapshot: snapshotJson(snapshot) };
        },
        rollback: () => {
          this.snapshots.delete(snapshot.id);
        },
      });
      return { id: snapshot.id, jobid: job.jobid };
    },
    createTags: (p, command) => {
      const vms = this.tagTargets(p, command);
      const tags = indexedMap(p, 'tags').filter((t) => t.key !== undefined) as Array<{
        key: string;
        value?: string;
      }>;
      if (tags.length === 0) throw missingParam(command, 'tags');
      const job = this.job('org.apache.cloudstack.api.command.user.tag.CreateTagsCmd', undefined, {
        complete: () => {
          for (const vm of vms) {
            // CloudStack tags cannot be overwritten: a key already on the resource fails the job.
            const clash = tags.find((t) => vm.tags.has(t.key));
            if (clash) throw new JobFailure(530, 4250, `tag ${clash.key} already exists on UserVm ${vm.id}`);
          }
          for (const vm of vms) for (const t of tags) vm.tags.set(t.key, t.value ?? '');
          return { success: true };
        },
      });
      return { jobid: job.jobid };
    },
    deleteTags: (p, command) => {
      const vms = this.tagTargets(p, command);
      const tags = indexedMap(p, 'tags').filter((t) => t.key !== undefined) as Array<{
        key: string;
        value?: string;
      }>;
      const job = this.job('org.apache.cloudstack.api.command.user.tag.DeleteTagsCmd', undefined, {
        complete: () => {
          const doomed: Array<[SimVm, string]> = [];
          for (const vm of vms) {
            for (const [key, value] of vm.tags) {
              if (
                tags.length === 0 ||
                tags.some((t) => t.key === key && (t.value === undefined || t.value === value))
              ) {
                doomed.push([vm, key]);
              }
            }
          }
          if (doomed.length === 0) {
            throw new JobFailure(
              431,
              4350,
              'Unable to find any tags which conform to specified delete parameters',
            );
          }
          for (const [vm, key] of doomed) vm.tags.delete(key);
          return { success: true };
        },
      });
      return { jobid: job.jobid };
    },
    updateVirtualMachine: (p, command) => {
      const vm = this.vm(required(p, 'id', command), command, 'id');
      const hostname = p.get('name');
      if (hostname !== undefined && !HOSTNAME.test(hostname)) throw paramError(INVALID_NAME);
      if (hostname !== undefined) vm.name = hostname;
      const displayname = p.get('displayname');
      if (displayname !== undefined) vm.displayname = displayname;
      return { virtualmachine: this.vmJson(vm) };
    },
    resetPasswordForVirtualMachine: (p, command) => {
      const vm = this.vm(required(p, 'id', command), command, 'id');
      const job = this.job('org.apache.cloudstack.api.command.user.vm.ResetVMPasswordCmd', vm.id, {
        // Exoscale's page: the VM must be Stopped.
        ...(vm.state !== 'Stopped' && {
          precondition: new JobFailure(
            431,
            4350,
            `Vm VM[User|${vm.instancename}] should be stopped to do password reset`,
          ),
        }),
        complete: () => {
          vm.password = this.password();
          return { virtualmachine: { ...this.vmJson(vm), password: vm.password } };
        },
      });
      return { jobid: job.jobid };
    },
    deleteSnapshot: (p, command) => {
      const id = required(p, 'id', command);
      const snapshot = this.snapshots.get(id);
      if (!snapshot) throw entityMissing(command, 'id', id);
      const job = this.job('org.apache.cloudstack.api.command.user.snapshot.DeleteSnapshotCmd', snapshot.id, {
        instanceType: 'Snapshot',
        complete: () => {
          this.snapshots.delete(snapshot.id);
          return { success: true };
        },
      });
      return { jobid: job.jobid };
    },
    associateIpAddress: (p, command) => {
      const zoneId = required(p, 'zoneid', command);
      const zone = ZONES.find((z) => z.id === zoneId);
      if (!zone) throw entityMissing(command, 'zoneid', zoneId);
      const n = this.publicIps.size + 1;
      const ip: SimPublicIp = {
        id: this.uuid(),
        ipaddress: `159.100.${240 + (n >> 8)}.${n & 255}`,
        zone,
        allocated: csDate(new Date()),
      };
      const job = this.job('org.apache.cloudstack.api.command.user.address.AssociateIPAddrCmd', ip.id, {
        instanceType: 'IpAddress',
        complete: () => {
          this.publicIps.set(ip.id, ip);
          return { ipaddress: publicIpJson(ip) };
        },
      });
      return { id: ip.id, jobid: job.jobid };
    },
    disassociateIpAddress: (p, command) => {
      const id = required(p, 'id', command);
      const ip = this.publicIps.get(id);
      if (!ip) throw entityMissing(command, 'id', id);
      const job = this.job('org.apache.cloudstack.api.command.user.address.DisassociateIPAddrCmd', ip.id, {
        instanceType: 'IpAddress',
        complete: () => {
          this.publicIps.delete(ip.id);
          return { success: true };
        },
      });
      return { jobid: job.jobid };
    },
  };

  private readonly commands = new CommandTable<Command>({ ...this.reads, ...this.writes });

  /** start/stop/reboot through VM_ACTIONS: the job, or its failure when the state does not allow it. */
  private vmAction(name: keyof typeof VM_ACTIONS, p: Map<string, string>, command: string) {
    const rule = VM_ACTIONS[name];
    const vm = this.vm(required(p, 'id', command), command, 'id');
    const from = vm.state;
    const acts = rule.from.includes(from);
    const refused = !acts && (!rule.refusedIn || rule.refusedIn.includes(from));
    if (acts && rule.during) vm.state = rule.during;
    return this.vmJob(rule.cmd, vm, refused ? rule.refusal(vm, from) : undefined, from, () => {
      if (acts && vm.state === (rule.during ?? from)) vm.state = rule.to;
    });
  }

  // ---- helpers ---------------------------------------------------------------------------
  private password(): string {
    return Array.from(
      { length: 12 },
      () => 'abcdefghjkmnpqrstuvwxyz23456789'[Math.floor(Math.random() * 31)],
    ).join('');
  }

  private vm(id: string, command: string, param: string): SimVm {
    const vm = this.vms.get(id);
    if (!vm) throw entityMissing(command, param, id);
    return vm;
  }

  private offering(id: string, command: string): SimServiceOffering {
    const offering = SERVICE_OFFERINGS.find((o) => o.id === id);
    if (!offering) throw entityMissing(command, 'serviceofferingid', id);
    return offering;
  }

  /** UserVmManagerImpl's checks before changing a VM's offering; Exoscale needs it Stopped. */
  private scalePrecondition(vm: SimVm, offering: SimServiceOffering): string | undefined {
    if (vm.state !== 'Stopped') {
      return `Unable to upgrade virtual machine VM[User|${vm.instancename}] in state ${vm.state}; make sure the virtual machine is stopped`;
    }
    if (vm.offering.id === offering.id) {
      return `Not upgrading vm VM[User|${vm.instancename}] since it already has the requested service offering (${offering.name})`;
    }
    return undefined;
  }

  private tagTargets(p: Map<string, string>, command: string): SimVm[] {
    const type = required(p, 'resourcetype', command);
    if (type.toLowerCase() !== 'uservm')
      throw paramError(`Invalid resource type ${type}; this simulator tags UserVm only`);
    const ids = required(p, 'resourceids', command).split(',').filter(Boolean);
    return ids.map((id) => {
      const vm = this.vms.get(id);
      if (!vm) throw paramError(`Unable to find resource by id ${id} and type UserVm`);
      return vm;
    });
  }

  /** A VM command's job: fails with `precondition` if given, else runs `apply` at completion. */
  private vmJob(
    cmd: string,
    vm: SimVm,
    precondition: JobFailure | undefined,
    from: string,
    apply: () => void,
  ) {
    const job = this.job(cmd, vm.id, {
      ...(precondition && { precondition }),
      complete: () => {
        apply();
        return { virtualmachine: this.vmJson(vm) };
      },
      rollback: () => {
        vm.state = from;
      },
    });
    return { jobid: job.jobid };
  }

  /**
   * Starts an async job. It completes after the job duration: failing with `precondition` when
   * given, failing (with `rollback`) when the fault knobs say so, never when stuck, else with
   * whatever `complete` returns (or the JobFailure it throws).
   */
  private job(
    cmd: string,
    instanceId: string | undefined,
    work: {
      complete: () => unknown;
      rollback?: () => void;
      precondition?: JobFailure;
      failure?: JobFailure;
      instanceType?: string;
    },
  ): SimJob {
    const job: SimJob = {
      jobid: this.uuid(),
      cmd,
      created: csDate(new Date()),
      jobstatus: 0,
      jobresultcode: 0,
      ...(instanceId && {
        jobinstanceid: instanceId,
        jobinstancetype: work.instanceType ?? 'VirtualMachine',
      }),
    };
    this.jobs.set(job.jobid, job);
    const outcome = this.nextOperationOutcome();
    if (outcome === 'stuck') return job;
    const finish = (failure: JobFailure) => {
      job.jobstatus = 2;
      job.jobresultcode = failure.errorcode;
      job.jobresult = {
        errorcode: failure.errorcode,
        errortext: failure.message,
        cserrorcode: failure.cserrorcode,
      };
    };
    this.later(Math.max(this.options.transitionMs, this.options.operationMs), () => {
      if (work.precondition) return finish(work.precondition);
      if (outcome === 'fail') {
        work.rollback?.();
        return finish(
          work.failure ??
            new JobFailure(530, 4250, `Job ${job.jobid} failed: the operation could not be completed`),
        );
      }
      try {
        job.jobresult = work.complete();
        job.jobstatus = 1;
      } catch (error) {
        if (!(error instanceof JobFailure)) throw error;
        finish(error);
      }
    });
    return job;
  }

  /** Pages a list as CloudStack does (`page` 1-based); `count` is the total, not the page size. */
  private page(p: Map<string, string>, entity: string, items: unknown[]): unknown {
    const pageParam = p.get('page');
    const sizeParam = p.get('pagesize');
    if (pageParam === undefined && sizeParam === undefined && items.length <= this.options.maxPageSize) {
      return listBody(entity, items);
    }
    const page = Number(pageParam ?? '1');
    if (!Number.isInteger(page) || page < 1)
      throw paramError('Invalid page parameter: page must be a positive integer');
    const asked = Number(sizeParam ?? this.options.maxPageSize);
    if (!Number.isInteger(asked) || (asked < 1 && asked !== -1))
      throw paramError('Invalid pagesize parameter');
    // The simulator's page size cap stands in for CloudStack's default.page.size (500).
    const size = asked === -1 ? this.options.maxPageSize : Math.min(asked, this.options.maxPageSize);
    const slice = items.slice((page - 1) * size, page * size);
    if (slice.length === 0) return {};
    return { count: items.length, [entity]: slice };
  }

  private newVm(args: {
    id: string;
    hostname: string;
    displayname: string;
    zone: SimZone;
    offering: SimServiceOffering;
    template: SimTemplate;
    state: string;
    created: Date;
    ipv6: boolean;
    rootSizeGb: number;
    keypair?: string;
    tags?: Record<string, string>;
  }): SimVm {
    const n = ++this.counter;
    const vm: SimVm = {
      id: args.id,
      name: args.hostname,
      displayname: args.displayname,
      instancename: `i-${1400 + n}-${27000 + n}-VM`,
      zone: args.zone,
      offering: args.offering,
      template: args.template,
      state: args.state,
      created: csDate(args.created),
      tags: new Map(Object.entries(args.tags ?? {})),
      ipaddress: `185.19.${28 + (n >> 8)}.${n & 255}`,
      ...(args.ipv6 && {
        ip6address: `2a04:c43:e00:6a8f:4a0:${n.toString(16)}ff:fe00:${(n * 7).toString(16)}`,
      }),
      macaddress: `06:78:f8:00:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`,
      nicId: stableId(`nic:${args.id}`),
      ...(args.keypair && { keypair: args.keypair }),
      rootVolumeId: stableId(`volume:${args.id}`),
      rootSizeGb: args.rootSizeGb,
    };
    this.vms.set(vm.id, vm);
    return vm;
  }

  private vmJson(vm: SimVm): Record<string, unknown> {
    return {
      id: vm.id,
      name: vm.name,
      displayname: vm.displayname,
      account: ACCOUNT,
      domain: ACCOUNT,
      domainid: DOMAIN_ID,
      cpunumber: vm.offering.cpunumber,
      cpuspeed: CPU_SPEED,
      memory: vm.offering.memory,
      created: vm.created,
      // Usage, from the load knob: cpuused while running, network counters since the VM began.
      ...(vm.state === 'Running' && {
        cpuused: `${(this.load.at(vm.id, Date.now())?.cpuPercent ?? 0).toFixed(2)}%`,
      }),
      networkkbsread: this.load.counters(vm.id).readKB,
      networkkbswrite: this.load.counters(vm.id).writeKB,
      haenable: false,
      hypervisor: 'KVM',
      ...(vm.keypair && { keypair: vm.keypair }),
      nic: [nicJson(vm)],
      passwordenabled: true,
      rootdeviceid: 0,
      rootdevicetype: 'ROOT',
      securitygroup: [{ id: SG_ID, name: 'default', description: 'Default Security Group' }],
      affinitygroup: [],
      serviceofferingid: vm.offering.id,
      serviceofferingname: vm.offering.name,
      state: vm.state,
      tags: tagsJson(vm),
      templatedisplaytext: vm.template.displaytext,
      templateid: vm.template.id,
      templatename: vm.template.name,
      zoneid: vm.zone.id,
      zonename: vm.zone.name,
      isdynamicallyscalable: false,
      displayvm: true,
    };
  }

  /** The kit's seeding helper: Small VMs of the zone's first template, tagged with the labels, as deployed. */
  override seedInstances(request: SeedRequest): string[] {
    const zone = ZONES.find((z) => z.name === (request.location ?? this.defaultLocation));
    if (!zone) throw new RangeError(`unknown zone ${request.location}`);
    const offering = SERVICE_OFFERINGS.find((o) => o.name === 'Small')!;
    const template = TEMPLATES.find((t) => t.zoneid === zone.id)!;
    return Array.from({ length: request.count }, (_, n) => {
      const id = this.uuid();
      const name = `${request.namePrefix}${n}`;
      const vm = this.newVm({
        id,
        // As the adapter deploys: the name is the hostname when it is a valid one, else the id is.
        hostname: HOSTNAME.test(name) ? name : id,
        displayname: name,
        zone,
        offering,
        template,
        state: request.state === 'stopped' ? 'Stopped' : 'Running',
        created: new Date(),
        ipv6: false,
        rootSizeGb: template.sizeGb,
        ...(request.labels && { tags: request.labels }),
      });
      vm.password = this.password();
      this.load.begin(vm.id);
      return vm.id;
    });
  }

  /** A seeded demo fleet: mostly in the default zone, a few elsewhere; most carry tags. */
  private seedFleet(): void {
    const roles = ['web', 'api', 'db', 'worker', 'cache', 'queue', 'search', 'ci'];
    const envs = ['prod', 'staging', 'dev'];
    const teams = ['platform', 'data', 'shop'];
    const types = SERVICE_OFFERINGS.filter((o) => o.authorized && o.memory <= 16384);
    const home = ZONES.find((z) => z.name === this.defaultLocation)!;
    const away = ZONES.find((z) => z.name === 'de-fra-1')!;
    const total = this.options.fleetSize + 2;
    for (let i = 0; i < total; i++) {
      const zone = i < this.options.fleetSize ? home : away;
      const role = this.pick(roles);
      const name = `${role}-${String(i + 1).padStart(2, '0')}`;
      const r = this.random();
      // Several states, as a real account shows them; at least one of each common one.
      const error = r >= 0.95 && ![...this.vms.values()].some((vm) => vm.state === 'Error');
      // One VM in Error is realistic; a demo fleet full of them is not.
      const state =
        i === 0
          ? 'Running'
          : i === 1
            ? 'Stopped'
            : error
              ? 'Error'
              : r < 0.65 || r >= 0.95
                ? 'Running'
                : r < 0.88
                  ? 'Stopped'
                  : 'Shutdowned';
      const tagged = this.random() < 0.8;
      const kind = this.pick(TEMPLATES.filter((t) => t.zoneid === zone.id));
      this.newVm({
        id: this.seededUuid(),
        hostname: name,
        displayname: name,
        zone,
        offering: this.pick(types),
        template: kind,
        state,
        created: new Date(Date.UTC(2024, 0, 1) + Math.floor(this.random() * 500) * 86_400_000),
        ipv6: this.random() < 0.5,
        rootSizeGb: this.pick([10, 20, 50, 100].filter((s) => s >= kind.sizeGb)),
        ...(this.random() < 0.7 && { keypair: 'ops' }),
        ...(tagged && { tags: { env: this.pick(envs), team: this.pick(teams), role } }),
      });
    }
  }
}

// ---- wire helpers ----------------------------------------------------------------------------
function allParams(req: SimRequest): Params {
  return [...req.queryPairs, ...(req.form ?? [])];
}

/** A parameter by case-insensitive name, as ApiServer reads apikey/signature/expires. */
function lookup(params: Params, name: string): string | undefined {
  return params.find(([k]) => k.toLowerCase() === name)?.[1];
}

/** `tags[0].key=a&tags[0].value=b` → [{key:'a', value:'b'}], in index order. */
function indexedMap(p: Map<string, string>, name: string): Array<{ key?: string; value?: string }> {
  const byIndex = new Map<number, { key?: string; value?: string }>();
  const pattern = new RegExp(`^${name}\\[(\\d+)\\]\\.(key|value)$`);
  for (const [k, v] of p) {
    const m = pattern.exec(k);
    if (!m) continue;
    const entry = byIndex.get(Number(m[1])) ?? {};
    entry[m[2] as 'key' | 'value'] = v;
    byIndex.set(Number(m[1]), entry);
  }
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, e]) => e);
}

function errorBody(errorcode: number, errortext: string, cserrorcode?: number) {
  return { uuidList: [], errorcode, ...(cserrorcode !== undefined && { cserrorcode }), errortext };
}

function paramError(message: string): ApiFailure {
  return new ApiFailure(431, 4350, message);
}

function missingParam(command: string, name: string): ApiFailure {
  return paramError(
    `Unable to execute API command ${command.toLowerCase()} due to missing parameter ${name}`,
  );
}

function required(p: Map<string, string>, name: string, command: string): string {
  const value = p.get(name);
  if (value === undefined || value === '') throw missingParam(command, name);
  return value;
}

/** What ParamProcessWorker answers when a UUID parameter names nothing. */
function entityMissing(command: string, param: string, value: string): ApiFailure {
  return paramError(
    `Unable to execute API command ${command.toLowerCase()} due to invalid value. Invalid parameter ${param} value=${value} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.`,
  );
}

/** `{count, entity: [...]}`, or `{}` for an empty list (as CloudStack answers). */
function listBody(entity: string, items: unknown[]): unknown {
  return items.length === 0 ? {} : { count: items.length, [entity]: items };
}

/** CloudStack's date format: `2013-12-19T22:28:31+0100`. */
function csDate(d: Date): string {
  return `${d.toISOString().slice(0, 19)}+0000`;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function stableId(name: string): string {
  // Derived ids keep nic/volume ids stable for a VM without drawing from the seeded sequence.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < name.length; i++) {
    h1 = Math.imul(h1 ^ name.charCodeAt(i), 16777619) >>> 0;
    h2 = Math.imul(h2 ^ name.charCodeAt(i), 2246822519) >>> 0;
  }
  const hex = (h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')).repeat(2);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function zoneJson(z: SimZone) {
  return {
    id: z.id,
    name: z.name,
    allocationstate: 'Enabled',
    dhcpprovider: 'VirtualRouter',
    localstorageenabled: true,
    networktype: 'Basic',
    securitygroupsenabled: true,
    zonetoken: `${z.name}-token`,
    tags: [],
  };
}

function offeringJson(o: SimServiceOffering) {
  return {
    authorized: o.authorized,
    cpunumber: o.cpunumber,
    cpuspeed: CPU_SPEED,
    created: '2013-02-08T17:20:17+0100',
    defaultuse: false,
    displaytext: o.displaytext,
    id: o.id,
    iscustomized: false,
    issystem: false,
    isvolatile: false,
    limitcpuuse: false,
    memory: o.memory,
    name: o.name,
    offerha: false,
    storagetype: 'local',
  };
}

function templateJson(t: SimTemplate) {
  return {
    bootmode: 'legacy',
    created: '2024-05-02T08:00:00+0200',
    crossZones: false,
    details: { username: t.username },
    displaytext: t.displaytext,
    format: 'QCOW2',
    hypervisor: 'KVM',
    id: t.id,
    isextractable: false,
    isfeatured: true,
    ispublic: true,
    isready: true,
    name: t.name,
    oscategoryname: t.oscategoryname,
    ostypename: t.ostypename,
    passwordenabled: true,
    size: t.sizeGb * 1024 ** 3,
    sshkeyenabled: true,
    tags: [],
    templatetype: 'USER',
    zoneid: t.zoneid,
    zonename: t.zonename,
  };
}

function volumeJson(vm: SimVm) {
  return {
    id: vm.rootVolumeId,
    name: `ROOT-${vm.instancename.split('-')[2]}`,
    type: 'ROOT',
    deviceid: 0,
    virtualmachineid: vm.id,
    vmname: vm.name,
    vmdisplayname: vm.displayname,
    vmstate: vm.state,
    size: vm.rootSizeGb * 1024 ** 3,
    state: 'Ready',
    storagetype: 'local',
    created: vm.created,
    zoneid: vm.zone.id,
    zonename: vm.zone.name,
    destroyed: false,
    account: ACCOUNT,
  };
}

function snapshotJson(s: SimSnapshot) {
  return {
    id: s.id,
    name: s.name,
    account: ACCOUNT,
    created: s.created,
    intervaltype: 'MANUAL',
    snapshottype: 'MANUAL',
    state: s.state,
    volumeid: s.volumeid,
    volumename: s.volumename,
    volumetype: 'ROOT',
    zoneid: s.zone.id,
    zonename: s.zone.name,
    tags: [],
  };
}

function nicJson(vm: SimVm) {
  return {
    id: vm.nicId,
    ipaddress: vm.ipaddress,
    ...(vm.ip6address && { ip6address: vm.ip6address, ip6cidr: '2a04:c43:e00:6a8f::/64' }),
    isdefault: true,
    macaddress: vm.macaddress,
    netmask: '255.255.254.0',
    gateway: '185.19.28.1',
    networkid: '00304a04-c7ea-4e77-a786-18bc64347bf7',
    traffictype: 'Guest',
    type: 'Shared',
  };
}

function tagsJson(vm: SimVm) {
  return [...vm.tags].map(([key, value]) => ({
    account: ACCOUNT,
    domain: ACCOUNT,
    domainid: DOMAIN_ID,
    key,
    value,
    resourceid: vm.id,
    resourcetype: 'UserVm',
  }));
}

/** An elastic IP as CloudStack's IPAddressResponse names its fields (UNCONFIRMED for Exoscale). */
function publicIpJson(ip: SimPublicIp) {
  return {
    id: ip.id,
    ipaddress: ip.ipaddress,
    allocated: ip.allocated,
    zoneid: ip.zone.id,
    zonename: ip.zone.name,
    iselastic: true,
    issourcenat: false,
    isstaticnat: false,
    issystem: false,
    forvirtualnetwork: false,
    state: 'Allocated',
    account: ACCOUNT,
    domain: ACCOUNT,
    domainid: DOMAIN_ID,
    tags: [],
  };
}

/** The account's default security group, in the shape of Exoscale's listSecurityGroups answer. */
function securityGroupJson() {
  return {
    id: SG_ID,
    name: 'default',
    description: 'Default Security Group',
    account: ACCOUNT,
    domain: ACCOUNT,
    domainid: DOMAIN_ID,
    ingressrule: [],
    egressrule: [],
    tags: [],
  };
}

/** Java's Boolean.parseBoolean, as CloudStack reads boolean parameters. */
function parseBoolean(value: string): boolean {
  return value.toLowerCase() === 'true';
}

function jobJson(job: SimJob) {
  return {
    accountid: ACCOUNT_ID,
    userid: USER_ID,
    cmd: job.cmd,
    created: job.created,
    jobid: job.jobid,
    ...(job.jobinstanceid && { jobinstanceid: job.jobinstanceid, jobinstancetype: job.jobinstancetype }),
    jobprocstatus: 0,
    jobresultcode: job.jobresultcode,
    jobresulttype: 'object',
    jobstatus: job.jobstatus,
    ...(job.jobresult !== undefined && { jobresult: job.jobresult }),
  };
}
