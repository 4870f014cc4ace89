import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import type { Logger } from '../../log.ts';
import { BaseProvider, type ResolvedCreateSpec, stateFrom } from '../base.ts';
import {
  ProviderAuthenticationError,
  ProviderError,
  type ProviderErrorDetails,
  ProviderInvalidStateError,
  ProviderNotFoundError,
  ProviderOperationFailedError,
  ProviderOutcomeUnknownError,
  ProviderPermissionError,
  ProviderQuotaError,
  ProviderRateLimitError,
  ProviderTransientError,
  ProviderValidationError,
} from '../errors.ts';
import {
  errorDetails,
  type HttpAnswer,
  HttpClient,
  type HttpRequest,
  type PreparedRequest,
  type QueryValue,
} from '../http/client.ts';
import { allPages } from '../http/pages.ts';
import type { RetryPolicy } from '../http/retry.ts';
import { errorForStatus } from '../http/status-errors.ts';
import {
  type Action,
  type Capabilities,
  type CatalogueEntry,
  IDEMPOTENCY_LABEL,
  type Instance,
  type InstanceFilter,
  type InstanceState,
  type Operation,
  type OperationRef,
  type UsageReading,
} from '../port.ts';
import { type Params, signRequest } from './auth.ts';
import {
  AsyncAccepted,
  AsyncJob,
  ErrorBody,
  listOf,
  responseKey,
  ServiceOffering,
  Template,
  VirtualMachine,
  Volume,
  Zone,
} from './schemas.ts';

export const DEFAULT_ENDPOINT = 'https://api.exoscale.com/compute';
export const DEFAULT_ZONE = 'ch-gva-2';

/** CloudStack VM states (egoscale's list) → the port's; anything else is `unknown`. */
export const STATE_MAP: Readonly<Record<string, InstanceState>> = {
  Starting: 'starting',
  Running: 'running',
  Stopping: 'stopping',
  Stopped: 'stopped',
  // Exoscale's state for a guest that powered itself off: the VM is off, as if stopped.
  Shutdowned: 'stopped',
  // A live migration keeps the guest running.
  Migrating: 'running',
  Destroyed: 'deleted',
  Expunging: 'deleting',
  Error: 'error',
  Unknown: 'unknown',
  // Moving (between accounts) has no port equivalent and is left to the fallback.
};

export function mapState(providerState: string): InstanceState {
  return stateFrom(STATE_MAP, providerState);
}

export const CAPABILITIES: Capabilities = {
  list: { supported: true },
  get: { supported: true },
  create: {
    supported: true,
    note: 'deployVirtualMachine, then createTags for labels (CloudStack cannot tag at deploy time)',
  },
  start: { supported: true, requiresState: ['stopped'] },
  stop: {
    supported: true,
    requiresState: ['running'],
    note: 'CloudStack accepts stopping a Stopped VM as a no-op; the adapter refuses it as invalid state',
  },
  reboot: { supported: true, requiresState: ['running'] },
  scale: {
    supported: true,
    requiresState: ['stopped'],
    note: 'changeServiceForVirtualMachine; the VM must be Stopped',
  },
  snapshot: { supported: true, note: "snapshots the instance's ROOT volume (createSnapshot)" },
  delete: { supported: true, note: 'destroyVirtualMachine; Exoscale expunges the VM at once' },
  protection: { supported: false, note: "CloudStack's VM API has no termination protection" },
  labels: {
    supported: true,
    note: 'CloudStack resource tags (createTags/deleteTags); a changed value is deleted, then re-created',
  },
  metrics: {
    supported: true,
    note: "listVirtualMachines' cpuused and its networkkbsread/networkkbswrite counters: a point reading, sampled by fleetflow between sweeps to make rates",
  },
};

// egoscale switches to a form-encoded POST above this URL length.
const MAX_GET_URL = 2048;
const PAGE_SIZE = 500;
// A VM this young without an idempotency tag may be a deploy whose answer was lost.
const ORPHAN_WINDOW_MS = 15 * 60_000;
const HOSTNAME = /^(?![0-9-])[A-Za-z0-9-]{1,63}(?<!-)$/;
const SYNC_PREFIX = 'sync:';

export interface ExoscaleV1Options {
  location: string;
  apiKey: string;
  apiSecret: string;
  endpoint?: string;
  retry?: RetryPolicy;
  /** The account's rate limit: calls are paced to it. */
  requestsPerSecond?: number;
  logger?: Logger;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  /** Signature lifetime (signature version 3); 10 minutes as egoscale. */
  signatureTtlMs?: number;
}

export class ExoscaleV1Provider extends BaseProvider {
  readonly provider = 'exoscale-v1' as const;
  readonly capabilities = CAPABILITIES;
  private readonly http: HttpClient;
  private zoneId?: Promise<string>;

  constructor(options: ExoscaleV1Options) {
    super(options.location);
    const endpoint = options.endpoint ?? DEFAULT_ENDPOINT;
    const sign = {
      apiKey: options.apiKey,
      apiSecret: options.apiSecret,
      expiresInMs: options.signatureTtlMs ?? 600_000,
    };
    this.http = new HttpClient({
      provider: 'exoscale-v1',
      baseUrl: endpoint,
      authenticate: (request) => authenticate(request, endpoint, sign),
      mapError: mapAnswerError,
      secrets: [options.apiKey, options.apiSecret],
      ...(options.retry && { retry: options.retry }),
      ...(options.requestsPerSecond && { requestsPerSecond: options.requestsPerSecond }),
      ...(options.logger && { logger: options.logger }),
      ...(options.timeouts && { timeouts: options.timeouts }),
    });
  }

  // ---- reads -----------------------------------------------------------------------------
  protected async _list(filter: InstanceFilter): Promise<Instance[]> {
    const query: Record<string, QueryValue> = { zoneid: await this.zone() };
    // CloudStack filters on one state; send it only when it maps back to exactly one.
    if (filter.states?.length === 1) {
      const providerStates = Object.keys(STATE_MAP).filter((s) => STATE_MAP[s] === filter.states![0]);
      if (providerStates.length === 1) query.state = providerStates[0];
    }
    if (filter.name) query.name = filter.name;
    // Several tags are OR'ed by CloudStack: send one, the base filters on the rest.
    const [firstLabel] = Object.entries(filter.labels ?? {});
    if (firstLabel) {
      query['tags[0].key'] = firstLabel[0];
      query['tags[0].value'] = firstLabel[1];
    }
    const vms = await this.listAll('listVirtualMachines', 'virtualmachine', VirtualMachine, query, 'list');
    return vms.map((vm) => this.toInstance(vm));
  }

  protected async _get(id: string): Promise<Instance> {
    const body = await this.call('listVirtualMachines', { id, zoneid: await this.zone() }, 'get');
    const [vm] = listOf('virtualmachine', VirtualMachine).parse(body).items;
    if (!vm) {
      throw new ProviderNotFoundError(`exoscale-v1: no virtual machine ${id} in ${this.location}`, {
        provider: 'exoscale-v1',
        action: 'get',
        code: 'not-found',
      });
    }
    return this.toInstance(vm);
  }

  protected override async _usage(id: string, options: { seen?: Instance }): Promise<UsageReading> {
    // The listing carries the figures: an instance listed a moment ago needs no second call.
    const vm = options.seen?.id === id ? options.seen : await this._get(id);
    return { kind: 'counters', at: new Date().toISOString(), ...usageFigures(vm.extra) };
  }

  protected async _instanceTypes(): Promise<CatalogueEntry[]> {
    const offerings = await this.listAll(
      'listServiceOfferings',
      'serviceoffering',
      ServiceOffering,
      {},
      'list',
    );
    return offerings.map((o) => ({
      id: o.id,
      name: o.name,
      extra: {
        displaytext: o.displaytext,
        cpunumber: o.cpunumber,
        cpuspeed: o.cpuspeed,
        memory: o.memory,
        authorized: o.authorized,
      },
    }));
  }

  protected async _templates(): Promise<CatalogueEntry[]> {
    const zoneid = await this.zone();
    // Exoscale's own templates are "featured"; the account's registered ones are "self".
    const [featured, own] = await Promise.all(
      ['featured', 'self'].map((templatefilter) =>
        this.listAll('listTemplates', 'template', Template, { templatefilter, zoneid }, 'list'),
      ),
    );
    return [...featured!, ...own!].map((t) => ({
      id: t.id,
      name: t.name,
      extra: { displaytext: t.displaytext, size: t.size, zoneid: t.zoneid },
    }));
  }

  // ---- create ----------------------------------------------------------------------------
  protected async _create(spec: ResolvedCreateSpec): Promise<Operation> {
    const query: Record<string, QueryValue> = {
      zoneid: await this.zone(),
      serviceofferingid: spec.typeId,
      templateid: spec.templateId,
      displayname: spec.name,
      // `name` is the hostname; CloudStack refuses anything that is not a valid one.
      name: HOSTNAME.test(spec.name) ? spec.name : undefined,
      rootdisksize: spec.diskSize,
      keypair: spec.sshKey,
      userdata:
        spec.userData === undefined ? undefined : Buffer.from(spec.userData, 'utf8').toString('base64'),
    };
    for (const [k, v] of Object.entries(spec.extra ?? {})) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
        query[k.toLowerCase()] = v;
    }
    const accepted = AsyncAccepted.parse(await this.call('deployVirtualMachine', query, 'create', true));
    if (!accepted.id) throw this.unexpected('create', 'deployVirtualMachine answered without the new VM id');
    const jobs = [accepted.jobid];
    if (Object.keys(spec.labels).length > 0) {
      try {
        jobs.push(await this.createTags(accepted.id, spec.labels, 'create'));
      } catch (error) {
        // The VM exists but carries no tags: a lookup by name adopts it (see findByIdempotencyKey).
        throw new ProviderOutcomeUnknownError(
          `exoscale-v1: VM ${accepted.id} was deployed but could not be tagged`,
          {
            provider: 'exoscale-v1',
            action: 'create',
            cause: error,
          },
        );
      }
    }
    // One operation over both jobs: the create is done when the VM runs and carries its labels.
    return this.pending('create', jobs.join(','), accepted.id);
  }

  /**
   * Deploy cannot carry tags, so a create whose answer was lost leaves an untagged VM. Found by
   * name: first one tagged with the key; else one untagged VM of the same type and template,
   * created in the last 15 minutes, which is adopted (tagged) so later lookups find it by tag.
   */
  protected override async findByIdempotencyKey(
    key: string,
    spec: ResolvedCreateSpec,
  ): Promise<Instance | undefined> {
    const candidates = (await this._list({ name: spec.name })).filter(
      (i) => i.name === spec.name && i.state !== 'deleted' && i.state !== 'deleting',
    );
    const tagged = candidates.find((i) => i.labels[IDEMPOTENCY_LABEL] === key);
    if (tagged) return tagged;
    const now = Date.now();
    const [orphan] = candidates
      .filter(
        (i) =>
          i.labels[IDEMPOTENCY_LABEL] === undefined &&
          i.typeId === spec.typeId &&
          i.extra.templateid === spec.templateId &&
          i.createdAt !== undefined &&
          now - Date.parse(i.createdAt) < ORPHAN_WINDOW_MS,
      )
      .sort((a, b) => Date.parse(a.createdAt!) - Date.parse(b.createdAt!));
    if (!orphan) return undefined;
    const missing = Object.fromEntries(
      Object.entries(spec.labels).filter(([k]) => orphan.labels[k] === undefined),
    );
    if (Object.keys(missing).length > 0) {
      // Wait for the tags, so that a second retry finds the VM by its key and does not adopt it again.
      await this.awaitJob(await this.createTags(orphan.id, missing, 'create'), 'create');
    }
    return { ...orphan, labels: { ...orphan.labels, ...missing } };
  }

  // ---- actions ---------------------------------------------------------------------------
  protected override async _start(id: string): Promise<Operation> {
    return this.asyncAction('startVirtualMachine', 'start', id);
  }

  protected override async _stop(id: string, options: { seen?: InstanceState } = {}): Promise<Operation> {
    // CloudStack's advanceStop returns at once for a Stopped VM and the job succeeds; the port
    // treats stopping a stopped instance as a wrong-state request, so check first — unless the
    // caller has just listed it running (a scheduled stop: one call per instance, not two).
    if (options.seen === 'running') return this.asyncAction('stopVirtualMachine', 'stop', id);
    const current = await this._get(id);
    if (current.state === 'stopped') {
      throw new ProviderInvalidStateError(`exoscale-v1: VM ${id} is already ${current.providerState}`, {
        provider: 'exoscale-v1',
        action: 'stop',
        code: 'already-stopped',
      });
    }
    return this.asyncAction('stopVirtualMachine', 'stop', id);
  }

  protected override async _reboot(id: string): Promise<Operation> {
    return this.asyncAction('rebootVirtualMachine', 'reboot', id);
  }

  protected override async _scale(id: string, typeId: string): Promise<Operation> {
    // Synchronous, so a Running VM is refused at once (431) instead of in a failed job.
    const body = await this.call(
      'changeServiceForVirtualMachine',
      { id, serviceofferingid: typeId },
      'scale',
      true,
    );
    VirtualMachine.parse((body as { virtualmachine?: unknown }).virtualmachine);
    return this.succeeded('scale', `${SYNC_PREFIX}${id}`, id, id);
  }

  protected override async _snapshot(id: string, name: string): Promise<Operation> {
    const volumes = listOf('volume', Volume).parse(
      await this.call(
        'listVolumes',
        { virtualmachineid: id, type: 'ROOT', zoneid: await this.zone() },
        'snapshot',
      ),
    ).items;
    const root = volumes.find((v) => (v.type ?? 'ROOT').toUpperCase() === 'ROOT');
    if (!root) {
      throw new ProviderNotFoundError(`exoscale-v1: VM ${id} has no ROOT volume`, {
        provider: 'exoscale-v1',
        action: 'snapshot',
      });
    }
    const accepted = AsyncAccepted.parse(
      await this.call('createSnapshot', { volumeid: root.id, name }, 'snapshot', true),
    );
    return this.pending('snapshot', accepted.jobid, id);
  }

  protected override async _delete(id: string): Promise<Operation> {
    return this.asyncAction('destroyVirtualMachine', 'delete', id);
  }

  protected override async _setLabels(
    id: string,
    changes: Record<string, string | null>,
  ): Promise<Operation> {
    const current = (await this._get(id)).labels;
    const sets: Record<string, string> = {};
    const deletes: string[] = [];
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) {
        if (key in current) deletes.push(key);
      } else if (current[key] !== value) {
        sets[key] = value;
        // CloudStack cannot overwrite a tag: the old value goes first.
        if (key in current) deletes.push(key);
      }
    }
    if (deletes.length === 0 && Object.keys(sets).length === 0) {
      return this.succeeded('labels', `${SYNC_PREFIX}${id}`, id, id);
    }
    let deleteJob: string | undefined;
    if (deletes.length > 0) {
      const query: Record<string, QueryValue> = { resourceids: id, resourcetype: 'UserVm' };
      deletes.forEach((key, i) => {
        query[`tags[${i}].key`] = key;
      });
      deleteJob = AsyncAccepted.parse(await this.call('deleteTags', query, 'labels', true)).jobid;
    }
    if (Object.keys(sets).length === 0) return this.pending('labels', deleteJob!, id);
    if (deleteJob) await this.awaitJob(deleteJob, 'labels');
    return this.pending('labels', await this.createTags(id, sets, 'labels'), id);
  }

  protected async _operation(ref: OperationRef): Promise<Operation> {
    if (ref.id.startsWith(SYNC_PREFIX))
      return this.succeeded(ref.action, ref.id, ref.instanceId, ref.instanceId);
    const jobs = await Promise.all(ref.id.split(',').map((jobid) => this.queryJob(jobid, ref.action)));
    const base: OperationRef = {
      provider: ref.provider,
      location: ref.location,
      id: ref.id,
      action: ref.action,
      ...(ref.instanceId && { instanceId: ref.instanceId }),
    };
    const failed = jobs.find((j) => jobFailed(j));
    if (failed) return this.failed(base, jobFailureReason(failed));
    if (jobs.some((j) => j.jobstatus === 0)) return { ...base, status: 'pending' };
    const resourceId = resultId(jobs[0]!, ref.action) ?? ref.instanceId;
    return { ...base, status: 'succeeded', ...(resourceId && { resourceId }) };
  }

  // ---- provider-only ---------------------------------------------------------------------
  /** The Exoscale/CloudStack zone id behind this adapter's zone name. */
  async exZoneId(): Promise<string> {
    return this.zone();
  }

  // ---- helpers ---------------------------------------------------------------------------
  private zone(): Promise<string> {
    this.zoneId ??= (async () => {
      const zones = listOf('zone', Zone).parse(await this.call('listZones', {}, 'list')).items;
      const zone = zones.find((z) => z.name === this.location);
      if (zone) return zone.id;
      throw new ProviderNotFoundError(
        `exoscale-v1: unknown zone '${this.location}' (known: ${zones.map((z) => z.name).join(', ')})`,
        { provider: 'exoscale-v1', action: 'list', code: 'unknown-zone' },
      );
    })().catch((error) => {
      this.zoneId = undefined;
      throw error;
    });
    return this.zoneId;
  }

  /** Sends one command and returns its unwrapped answer. */
  private async call(
    command: string,
    params: Record<string, QueryValue>,
    action: Action | string,
    mutation = false,
  ) {
    const body = await this.http.json({
      method: 'GET',
      path: '',
      query: { command, ...params, response: 'json' },
      action,
      // Mutations arrive as GETs too; none of them may be re-sent blindly.
      idempotent: !mutation,
    });
    const inner = (body as Record<string, unknown> | undefined)?.[responseKey(command)];
    if (!inner || typeof inner !== 'object')
      throw this.unexpected(action, `${command} answered without ${responseKey(command)}`);
    return inner as Record<string, unknown>;
  }

  /** Every page of a list command; CloudStack's `count` is the total across pages. */
  private async listAll<T extends z.ZodType>(
    command: string,
    entity: string,
    item: T,
    params: Record<string, QueryValue>,
    action: Action,
  ): Promise<z.infer<T>[]> {
    const schema = listOf(entity, item);
    const seen = new Map<string, z.infer<T>>();
    const pages = await allPages({
      fetch: async (index) =>
        schema.parse(await this.call(command, { ...params, page: index + 1, pagesize: PAGE_SIZE }, action)),
      count: (page) => page.items.length,
      // Without a count the answer holds everything (CloudStack leaves it out of an empty list).
      total: (page) => page.count ?? page.items.length,
      maxPages: 10_000,
    });
    for (const page of pages) for (const it of page.items) seen.set((it as { id: string }).id, it);
    return [...seen.values()];
  }

  private async asyncAction(command: string, action: Action, id: string): Promise<Operation> {
    const accepted = AsyncAccepted.parse(await this.call(command, { id }, action, true));
    return this.pending(action, accepted.jobid, id);
  }

  private async createTags(id: string, labels: Record<string, string>, action: Action): Promise<string> {
    const query: Record<string, QueryValue> = { resourceids: id, resourcetype: 'UserVm' };
    Object.entries(labels).forEach(([key, value], i) => {
      query[`tags[${i}].key`] = key;
      query[`tags[${i}].value`] = value;
    });
    return AsyncJobId(await this.call('createTags', query, action, true));
  }

  private async queryJob(jobid: string, action: Action | string): Promise<AsyncJob> {
    return AsyncJob.parse(await this.call('queryAsyncJobResult', { jobid }, action));
  }

  /** Waits for a job inside a call, where the next request depends on it (tags, adoption). */
  private async awaitJob(jobid: string, action: Action, timeoutMs = 60_000): Promise<AsyncJob> {
    const deadline = Date.now() + timeoutMs;
    let interval = 50;
    for (;;) {
      const job = await this.queryJob(jobid, action);
      if (jobFailed(job)) {
        throw new ProviderOperationFailedError(`exoscale-v1: ${jobFailureReason(job)}`, {
          provider: 'exoscale-v1',
          action,
        });
      }
      if (job.jobstatus === 1) return job;
      if (Date.now() + interval > deadline) {
        throw new ProviderTransientError(`exoscale-v1: job ${jobid} did not finish in ${timeoutMs} ms`, {
          provider: 'exoscale-v1',
          action,
          code: 'job-timeout',
        });
      }
      await sleep(interval);
      interval = Math.min(2_000, Math.ceil(interval * 1.5));
    }
  }

  private unexpected(action: Action | string, message: string): ProviderError {
    return new ProviderError(`exoscale-v1: ${message}`, {
      provider: 'exoscale-v1',
      action,
      code: 'unexpected-answer',
    });
  }

  private toInstance(vm: VirtualMachine): Instance {
    const labels: Record<string, string> = {};
    for (const tag of vm.tags)
      if (!tag.resourcetype || tag.resourcetype === 'UserVm') labels[tag.key] = tag.value;
    const createdAt = csDateToIso(vm.created);
    return {
      id: vm.id,
      name: vm.displayname || vm.name || vm.id,
      provider: 'exoscale-v1',
      location: this.location,
      state: mapState(vm.state),
      providerState: vm.state,
      type: vm.serviceofferingname ?? vm.serviceofferingid ?? 'unknown',
      ...(vm.serviceofferingid && { typeId: vm.serviceofferingid }),
      labels,
      ipv4: vm.nic.flatMap((n) => (n.ipaddress ? [n.ipaddress] : [])),
      ipv6: vm.nic.flatMap((n) => (n.ip6address ? [n.ip6address] : [])),
      ...(createdAt && { createdAt }),
      extra: {
        hostname: vm.name,
        zoneid: vm.zoneid,
        zonename: vm.zonename,
        templateid: vm.templateid,
        templatename: vm.templatename,
        cpunumber: vm.cpunumber,
        cpuspeed: vm.cpuspeed,
        memory: vm.memory,
        keypair: vm.keypair,
        cpuused: vm.cpuused,
        networkkbsread: vm.networkkbsread,
        networkkbswrite: vm.networkkbswrite,
        securitygroups: ((vm.securitygroup as Array<{ name?: string }> | undefined) ?? []).map((g) => g.name),
      },
    };
  }
}

// ---- module helpers ----------------------------------------------------------------------
/** CloudStack's `cpuused` ("0.22%") and its two network counters (KiB each way), as the port's figures. */
export function usageFigures(extra: Record<string, unknown>): { cpuPercent?: number; networkKB?: number } {
  const cpu = typeof extra.cpuused === 'string' ? Number.parseFloat(extra.cpuused) : Number.NaN;
  const read = extra.networkkbsread;
  const write = extra.networkkbswrite;
  const counters = typeof read === 'number' || typeof write === 'number';
  return {
    ...(Number.isFinite(cpu) && { cpuPercent: cpu }),
    ...(counters && {
      networkKB: (typeof read === 'number' ? read : 0) + (typeof write === 'number' ? write : 0),
    }),
  };
}

function AsyncJobId(body: Record<string, unknown>): string {
  return AsyncAccepted.parse(body).jobid;
}

/** Signs every attempt afresh (the signature expires) and switches to POST for long requests. */
export function authenticate(
  request: PreparedRequest,
  endpoint: string,
  sign: { apiKey: string; apiSecret: string; expiresInMs: number },
): PreparedRequest {
  const signed: Params = signRequest(request.query, sign);
  const encoded = signed.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  if (endpoint.length + 1 + encoded.length <= MAX_GET_URL) return { ...request, query: signed };
  return {
    ...request,
    method: 'POST',
    query: [],
    headers: { ...request.headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: encoded,
  };
}

/** Reads CloudStack's error body (`<command>response` or `errorresponse`) into a typed error. */
export function mapAnswerError(answer: HttpAnswer, request: HttpRequest): ProviderError {
  const command = typeof request.query?.command === 'string' ? request.query.command : '';
  const body = answer.body as Record<string, unknown> | undefined;
  const candidates = [
    command && body?.[responseKey(command)],
    body?.errorresponse,
    ...Object.values(body ?? {}),
  ];
  for (const candidate of candidates) {
    const parsed = ErrorBody.safeParse(candidate);
    if (parsed.success) {
      const { errorcode, errortext, cserrorcode } = parsed.data;
      const details = errorDetails('exoscale-v1', answer, request);
      return cloudStackError(errorcode, errortext, cserrorcode, details);
    }
  }
  const text = answer.text.slice(0, 200) || `HTTP ${answer.status}`;
  return errorForStatus(
    answer.status,
    `exoscale-v1: ${text}`,
    errorDetails('exoscale-v1', answer, request, String(answer.status)),
  );
}

function jobFailed(job: AsyncJob): boolean {
  // cs also treats a non-zero jobresultcode as failure.
  return job.jobstatus === 2 || (job.jobstatus === 1 && (job.jobresultcode ?? 0) !== 0);
}

function jobFailureReason(job: AsyncJob): string {
  const result = ErrorBody.safeParse(job.jobresult);
  if (result.success) {
    const { errorcode, errortext, cserrorcode } = result.data;
    return `${errortext || 'job failed'} (job ${job.jobid}, errorcode ${errorcode}${cserrorcode !== undefined ? `/${cserrorcode}` : ''})`;
  }
  return `job ${job.jobid} failed (jobresultcode ${job.jobresultcode ?? 'unknown'})`;
}

/** The id a finished job produced: the VM for a deploy, the snapshot for createSnapshot. */
function resultId(job: AsyncJob, action: string): string | undefined {
  const result = (job.jobresult ?? {}) as Record<string, { id?: unknown } | undefined>;
  const key = action === 'snapshot' ? 'snapshot' : 'virtualmachine';
  const id = result[key]?.id;
  if (typeof id === 'string') return id;
  return action === 'create' || action === 'snapshot' ? job.jobinstanceid : undefined;
}

/** `2013-12-19T22:28:31+0100` → ISO 8601; undefined when unreadable. */
export function csDateToIso(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const normalised = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const t = Date.parse(normalised);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

// ---- CloudStack's errors -----------------------------------------------------------------

/**
 * CloudStack's `errorcode` (ApiErrorCode, also the HTTP status) and `cserrorcode`
 * (CSExceptionErrorCode) → typed errors, in one table. CloudStack reports "not found" and "wrong
 * state" as parameter errors (431) or internal errors (530), so the text decides between them.
 */

type ErrorClass = new (message: string, details: ProviderErrorDetails) => ProviderError;

// "Invalid parameter id value=… due to incorrect long value format, or entity does not exist…",
// "Unable to find a virtual machine with specified vmId", "Unable to find … by id".
const NOT_FOUND_TEXT = /entity does not exist|unable to find|does not exist|not found|no such/i;
// "Unable to upgrade virtual machine … in state Running; make sure the virtual machine is stopped",
// "… is not in a valid state", "VM is already running", "Failed to reboot vm instance".
const WRONG_STATE_TEXT =
  /in state \w+|not in a valid state|invalid state|already (running|stopped|destroyed)|make sure the virtual machine is stopped|is not (running|stopped)|failed to reboot/i;

/** errorcode → class when the text says nothing more specific. */
export const ERROR_CODES: Record<number, ErrorClass> = {
  401: ProviderAuthenticationError, // UNAUTHORIZED: bad key, signature or expired request
  404: ProviderNotFoundError,
  405: ProviderValidationError, // METHOD_NOT_ALLOWED
  422: ProviderValidationError,
  429: ProviderRateLimitError, // API_LIMIT_EXCEED (cserrorcode 4545)
  430: ProviderValidationError, // MALFORMED_PARAMETER_ERROR
  431: ProviderValidationError, // PARAM_ERROR (InvalidParameterValueException, 4350)
  432: ProviderValidationError, // UNSUPPORTED_ACTION_ERROR: unknown command
  530: ProviderTransientError, // INTERNAL_ERROR
  531: ProviderPermissionError, // ACCOUNT_ERROR (PermissionDeniedException, 4365)
  532: ProviderQuotaError, // ACCOUNT_RESOURCE_LIMIT_ERROR
  533: ProviderQuotaError, // INSUFFICIENT_CAPACITY_ERROR
  534: ProviderTransientError, // RESOURCE_UNAVAILABLE_ERROR
  535: ProviderTransientError, // RESOURCE_ALLOCATION_ERROR
  536: ProviderInvalidStateError, // RESOURCE_IN_USE_ERROR
  537: ProviderInvalidStateError, // NETWORK_RULE_CONFLICT_ERROR
};

/** cserrorcode → class, where the exception class alone is decisive. */
export const CS_ERROR_CODES: Record<number, ErrorClass> = {
  4365: ProviderPermissionError, // PermissionDeniedException
  4545: ProviderRateLimitError, // RequestLimitException
};

/** Picks the error class for a CloudStack error (sync answer or failed job). */
export function classifyCloudStackError(
  errorcode: number,
  errortext: string,
  cserrorcode?: number,
): ErrorClass {
  if (errorcode === 401) return ProviderAuthenticationError;
  const byCs = cserrorcode !== undefined ? CS_ERROR_CODES[cserrorcode] : undefined;
  if (byCs) return byCs;
  if (errorcode === 431 || errorcode === 430 || errorcode === 530 || errorcode === 404) {
    if (NOT_FOUND_TEXT.test(errortext)) return ProviderNotFoundError;
    if (WRONG_STATE_TEXT.test(errortext)) return ProviderInvalidStateError;
  }
  const byCode = ERROR_CODES[errorcode];
  if (byCode) return byCode;
  return errorcode >= 500 ? ProviderTransientError : ProviderValidationError;
}

export function cloudStackError(
  errorcode: number,
  errortext: string,
  cserrorcode: number | undefined,
  details: ProviderErrorDetails,
): ProviderError {
  const Class = classifyCloudStackError(errorcode, errortext, cserrorcode);
  const code = cserrorcode !== undefined ? `${errorcode}/${cserrorcode}` : String(errorcode);
  return new Class(`exoscale-v1: ${errortext || `error ${errorcode}`} (errorcode ${code})`, {
    ...details,
    code,
  });
}
