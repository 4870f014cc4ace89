import type { z } from 'zod';
import { BaseProvider, type ResolvedCreateSpec, stateFrom } from '../base.ts';
import type { AdapterArgs } from '../definition.ts';
import {
  ProviderAuthenticationError,
  ProviderError,
  ProviderInvalidStateError,
  ProviderNotFoundError,
} from '../errors.ts';
import { errorDetails, type HttpAnswer, HttpClient, type HttpRequest } from '../http/client.ts';
import { allPages } from '../http/pages.ts';
import { errorForStatus } from '../http/status-errors.ts';
import type {
  Action,
  Capabilities,
  CatalogueEntry,
  Instance,
  InstanceFilter,
  InstanceState,
  Operation,
  OperationRef,
} from '../port.ts';
import { apiKeyAuthenticator, readCredentials } from './auth.ts';
import {
  AsyncAnswer,
  ComputeOffering,
  ErrorBody,
  ItemEnvelope,
  ListEnvelope,
  Network,
  TaskAnswer,
  Template,
  Instance as WireInstance,
} from './schemas.ts';

export const DEFAULT_ENDPOINT = 'https://api.cloud.ca/v1';

/**
 * cloud.ca states → ours. The docs name Running, Stopped, Destroyed and Error; the transitional
 * CloudStack states underneath (Starting, Stopping, Expunging) are UNCONFIRMED but mapped, and
 * anything else is `unknown`. Destroyed means deleted-but-recoverable until purged. Keys are
 * lower-case because cloud.ca compares states case-insensitively elsewhere (task statuses).
 */
export const STATE_MAP: Readonly<Record<string, InstanceState>> = {
  running: 'running',
  stopped: 'stopped',
  starting: 'starting',
  stopping: 'stopping',
  destroyed: 'deleted',
  expunging: 'deleting',
  error: 'error',
};

export function mapState(raw: string): InstanceState {
  return stateFrom(STATE_MAP, raw.toLowerCase());
}

/** The docs' error for an operation refused in the instance's current state. */
export const WRONG_STATE_CODE = '2012';

export const CAPABILITIES: Capabilities = {
  list: {
    supported: true,
    note: 'all pages via page_number/page_size (paging UNCONFIRMED); filters applied client-side',
  },
  get: { supported: true },
  create: {
    supported: true,
    note: 'needs a network: extra.network (id or name), else the environment must have exactly one',
  },
  start: { supported: true, requiresState: ['stopped'] },
  stop: { supported: true, requiresState: ['running'] },
  reboot: { supported: true, requiresState: ['running', 'stopped'] },
  scale: {
    supported: true,
    note: 'changeComputeOffering; forces a reboot of a running instance (no state precondition documented)',
  },
  snapshot: {
    supported: false,
    note: 'the cloud.ca API documents no instance or volume snapshot creation (snapshots are list/get only)',
  },
  delete: {
    supported: true,
    requiresState: ['running', 'stopped', 'error'],
    note: 'destroy; the instance stays Destroyed (recoverable) unless purged (purgeOnDelete or exPurge)',
  },
  protection: { supported: false, note: 'cloud.ca instances have no deletion protection' },
  labels: {
    supported: false,
    note: 'cloud.ca instances have no labels or tags; idempotent creates are matched by exact name',
  },
  metrics: { supported: false, note: 'the cloud.ca API reports no usage figures for an instance' },
};

export interface CloudcaAdapterArgs extends AdapterArgs {
  /** Destroy with `purgeImmediately` (not recoverable). Default false: Destroyed, recoverable. */
  purgeOnDelete?: boolean;
  /** Destroy with `deleteSnapshots`. Default false. */
  deleteSnapshotsOnDelete?: boolean;
  /** Network (id or name) for creates whose spec names none. */
  network?: string;
}

/** cloud.ca's destroy cleanup options (api-docs "Destroy an instance"). */
export interface DestroyOptions {
  purgeImmediately?: boolean;
  deleteSnapshots?: boolean;
  publicIpIdsToRelease?: string[];
  volumeIdsToDelete?: string[];
}

export interface CloudcaTask {
  id: string;
  status: string;
  created?: string;
  result?: unknown;
}

// Location segments and ids travel into URL paths.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const PAGE_SIZE = 100;
const MAX_PAGES = 1_000;
/** Optional create fields passed through from `spec.extra` (api-docs "Create an instance"). */
const CREATE_EXTRAS = [
  'rootVolumeSizeInGb',
  'diskOfferingId',
  'additionalDiskSizeInGb',
  'additionalDiskIops',
  'publicKey',
  'volumeIdToAttach',
  'affinityGroupId',
  'portsToForward',
  'cpuCount',
  'memoryInMB',
] as const;

export function parseLocation(location: string): { serviceCode: string; environment: string } {
  const [serviceCode, environment, ...rest] = String(location ?? '').split('/');
  if (
    !serviceCode ||
    !environment ||
    rest.length ||
    !SEGMENT.test(serviceCode) ||
    !SEGMENT.test(environment)
  ) {
    throw new ProviderError(
      `cloudca: location must be <service_code>/<environment>, e.g. compute-qc/production (got '${String(location).slice(0, 60)}')`,
      { provider: 'cloudca', code: 'bad-location' },
    );
  }
  return { serviceCode, environment };
}

/** Maps a non-2xx answer: `{"errors":[{code|errorCode, message, context}]}`. */
export function cloudcaError(answer: HttpAnswer, request: HttpRequest): ProviderError {
  const parsed = ErrorBody.safeParse(answer.body);
  const errors = parsed.success ? parsed.data.errors : [];
  const first = errors[0];
  const raw = first?.code ?? first?.errorCode;
  const code = raw === undefined ? undefined : String(raw);
  const text =
    errors
      .map((e) => e.message)
      .filter(Boolean)
      .join('; ') ||
    answer.text.slice(0, 200) ||
    'no error body';
  const where = `${request.method} ${request.path.split('?')[0]}`;
  const message = `cloudca: ${where}: ${text} (HTTP ${answer.status}${code ? `, code ${code}` : ''})`;
  const details = errorDetails('cloudca', answer, request, code);
  // cloud.ca documents 403 for requests it will not authorise and no 401; a bad or missing key
  // gets a 403, and nothing in the answer tells it from an RBAC refusal, so both read as auth.
  if (answer.status === 401 || answer.status === 403)
    return new ProviderAuthenticationError(message, details);
  if (code === WRONG_STATE_CODE || errors.some((e) => e.context?.expectedStates !== undefined)) {
    return new ProviderInvalidStateError(message, details);
  }
  return errorForStatus(answer.status, message, details);
}

/** Reads a task in either documented shape; the status is upper-cased (cloud.ca compares case-insensitively). */
export function readTask(body: unknown, fallbackId = ''): CloudcaTask {
  const task = parse(TaskAnswer, body, 'task');
  const inner = task.data ?? undefined;
  const status = (inner?.status ?? task.taskStatus ?? '').toUpperCase();
  const id = inner?.id ?? task.taskId ?? fallbackId;
  const result = inner && 'result' in inner ? inner.result : task.result;
  return {
    id,
    status,
    ...(inner?.created && { created: inner.created }),
    ...(result !== undefined && { result }),
  };
}

/** Why a FAILED task failed, from whatever its result carries. */
export function taskFailureReason(task: CloudcaTask): string {
  const r = task.result as { message?: unknown; errors?: Array<{ message?: unknown }> } | undefined;
  const message = r?.errors?.map((e) => e.message).find((m) => typeof m === 'string') ?? r?.message;
  return typeof message === 'string' && message ? message : `task ${task.id} failed`;
}

export class CloudcaProvider extends BaseProvider {
  readonly provider = 'cloudca' as const;
  readonly capabilities = CAPABILITIES;
  private readonly http: HttpClient;
  private readonly base: string;
  private readonly options: CloudcaAdapterArgs;

  constructor(args: CloudcaAdapterArgs) {
    super(args.location);
    const { serviceCode, environment } = parseLocation(args.location);
    this.base = `/services/${serviceCode}/${environment}`;
    this.options = args;
    const credentials = readCredentials(args.credentials);
    this.http = new HttpClient({
      provider: 'cloudca',
      baseUrl: args.endpoint ?? DEFAULT_ENDPOINT,
      authenticate: apiKeyAuthenticator(credentials),
      mapError: cloudcaError,
      secrets: [credentials.apiKey],
      ...(args.retry && { retry: args.retry }),
      ...(args.requestsPerSecond && { requestsPerSecond: args.requestsPerSecond }),
      ...(args.logger && { logger: args.logger }),
      ...(args.timeouts && { timeouts: args.timeouts }),
    });
  }

  // ---- raw calls -------------------------------------------------------------------------
  protected async _list(_filter: InstanceFilter): Promise<Instance[]> {
    // No server-side filters are documented: fetch every page, the base filters.
    const items = await this.listAll(`${this.base}/instances`, 'list');
    return items.map((item) => this.toInstance(parse(WireInstance, item, 'instance')));
  }

  protected async _get(id: string): Promise<Instance> {
    const body = parse(
      ItemEnvelope,
      await this.http.json({ method: 'GET', path: this.instancePath(id), action: 'get' }),
      'instance',
    );
    return this.toInstance(parse(WireInstance, body.data, 'instance'));
  }

  /** cloud.ca has no labels: a create is recognised by its exact name (any live instance with it). */
  protected override async findByIdempotencyKey(
    _key: string,
    spec: ResolvedCreateSpec,
  ): Promise<Instance | undefined> {
    const found = await this._list({ name: spec.name });
    return found.find((i) => i.name === spec.name && i.state !== 'deleted' && i.state !== 'deleting');
  }

  protected async _create(spec: ResolvedCreateSpec): Promise<Operation> {
    const extra = spec.extra ?? {};
    const offering = (await this.instanceTypes()).find((t) => t.id === spec.typeId);
    if (offering?.extra?.custom && (extra.cpuCount === undefined || extra.memoryInMB === undefined)) {
      throw this.inputError(
        'create',
        `'${offering.name}' is a custom offering: give extra.cpuCount and extra.memoryInMB`,
      );
    }
    const networkId = await this.resolveNetwork(extra.networkId ?? extra.network ?? this.options.network);
    const body: Record<string, unknown> = {
      name: spec.name,
      templateId: spec.templateId,
      computeOfferingId: spec.typeId,
      networkId,
    };
    for (const key of CREATE_EXTRAS) if (extra[key] !== undefined) body[key] = extra[key];
    if (spec.diskSize !== undefined) body.rootVolumeSizeInGb = spec.diskSize;
    if (spec.userData !== undefined) body.userData = spec.userData;
    if (spec.sshKey) {
      // A registered key's name, or a public key itself (the API takes either).
      if (/^(ssh-|ecdsa-|sk-)/.test(spec.sshKey)) body.publicKey = spec.sshKey;
      else body.sshKeyName = spec.sshKey;
    }
    const answer = await this.http.json({
      method: 'POST',
      path: `${this.base}/instances`,
      json: body,
      action: 'create',
    });
    return this.fromAnswer('create', answer);
  }

  protected override _start(id: string): Promise<Operation> {
    return this.execute(id, 'start', 'start');
  }
  protected override _stop(id: string): Promise<Operation> {
    return this.execute(id, 'stop', 'stop');
  }
  protected override _reboot(id: string): Promise<Operation> {
    return this.execute(id, 'reboot', 'reboot');
  }

  protected override async _scale(id: string, typeId: string): Promise<Operation> {
    const offering = (await this.instanceTypes()).find((t) => t.id === typeId);
    if (offering?.extra?.custom) {
      throw this.inputError(
        'scale',
        `'${offering.name}' is a custom offering: use exChangeComputeOffering with cpuCount and memoryInMB`,
      );
    }
    return this.execute(id, 'changeComputeOffering', 'scale', { computeOfferingId: typeId });
  }

  protected override _delete(id: string): Promise<Operation> {
    return this.destroy(id, {
      purgeImmediately: this.options.purgeOnDelete ?? false,
      deleteSnapshots: this.options.deleteSnapshotsOnDelete ?? false,
    });
  }

  protected async _operation(ref: OperationRef): Promise<Operation> {
    if (!SAFE_ID.test(ref.id)) throw this.inputError('operation', `invalid task id '${ref.id.slice(0, 40)}'`);
    const task = await this.exTask(ref.id);
    if (task.status === 'SUCCESS') {
      const resultId = idOf(task.result);
      return this.succeeded(
        ref.action,
        ref.id,
        ref.action === 'create' ? resultId : (resultId ?? ref.instanceId),
        ref.instanceId ?? resultId,
      );
    }
    if (task.status === 'FAILED') return this.failed(ref, taskFailureReason(task));
    // PENDING, or a status we do not know: never claim success we did not see.
    return { ...ref, status: 'pending' };
  }

  protected async _instanceTypes(): Promise<CatalogueEntry[]> {
    const items = await this.listAll(`${this.base}/computeofferings`, 'instance-types');
    return items.map((item) => {
      const { id, name, ...rest } = parse(ComputeOffering, item, 'compute offering');
      return { id, name, extra: rest };
    });
  }

  protected async _templates(): Promise<CatalogueEntry[]> {
    const items = await this.listAll(`${this.base}/templates`, 'templates');
    return items.map((item) => {
      const { id, name, ...rest } = parse(Template, item, 'template');
      return { id, name, extra: rest };
    });
  }

  // ---- cloud.ca-only operations (Libcloud's ex_ convention) ------------------------------
  /** Destroy with every documented cleanup option. */
  async exDestroy(id: string, options: DestroyOptions = {}): Promise<Operation> {
    return this.destroy(this.checkedId(id), options);
  }
  /** Purge a Destroyed instance (removes it for good). */
  async exPurge(id: string): Promise<Operation> {
    return this.execute(this.checkedId(id), 'purge', 'delete');
  }
  /** Recover a Destroyed instance (it comes back Stopped). */
  async exRecover(id: string): Promise<Operation> {
    return this.execute(this.checkedId(id), 'recover', 'create');
  }
  /** Reset the default user's password; the new password is in the task result (`exTask`). */
  async exResetPassword(id: string): Promise<Operation> {
    return this.execute(this.checkedId(id), 'resetPassword', 'reboot');
  }
  /** Move the instance to another network (id or name); cloud.ca reboots it and drops its port forwards. */
  async exChangeNetwork(id: string, network: string): Promise<Operation> {
    const checked = this.checkedId(id);
    const networkId = await this.resolveNetwork(network);
    return this.execute(checked, 'changeNetwork', 'reboot', { networkId });
  }
  /** Replace the default user's SSH key with a registered key. */
  async exAssociateSSHKey(id: string, sshKeyName: string): Promise<Operation> {
    if (!sshKeyName) throw this.inputError('associateSSHKey', 'an SSH key name is required');
    return this.execute(this.checkedId(id), 'associateSSHKey', 'reboot', { sshKeyName });
  }
  /** Change the compute offering, with cpuCount/memoryInMB for a custom offering. */
  async exChangeComputeOffering(
    id: string,
    type: string,
    custom?: { cpuCount: number; memoryInMB: number },
  ): Promise<Operation> {
    const checked = this.checkedId(id);
    const offering = await this.resolveType(type);
    return this.execute(checked, 'changeComputeOffering', 'scale', {
      computeOfferingId: offering.id,
      ...custom,
    });
  }
  /** Rename (PUT); changing the hostname makes cloud.ca reboot the instance. */
  async exUpdate(id: string, changes: { name?: string; hostname?: string }): Promise<Instance> {
    const body = await this.http.json({
      method: 'PUT',
      path: this.instancePath(this.checkedId(id)),
      json: changes,
      action: 'update',
    });
    const answer = parse(AsyncAnswer, body, 'update answer');
    return answer.data ? this.toInstance(parse(WireInstance, answer.data, 'instance')) : this._get(id);
  }
  /** A task as cloud.ca reports it (status upper-cased, result as sent). */
  async exTask(taskId: string): Promise<CloudcaTask> {
    const body = await this.http.json({
      method: 'GET',
      path: `/tasks/${encodeURIComponent(taskId)}`,
      action: 'operation',
    });
    return readTask(body, taskId);
  }
  /** The environment's networks (tiers), for choosing where to create. */
  async exNetworks(): Promise<CatalogueEntry[]> {
    const items = await this.listAll(`${this.base}/networks`, 'networks');
    return items.map((item) => {
      const { id, name, ...rest } = parse(Network, item, 'network');
      return { id, name, extra: rest };
    });
  }

  // ---- helpers ---------------------------------------------------------------------------
  private instancePath(id: string): string {
    return `${this.base}/instances/${encodeURIComponent(id)}`;
  }

  private checkedId(id: string): string {
    if (typeof id !== 'string' || !SAFE_ID.test(id))
      throw this.inputError('get', `invalid instance id '${String(id).slice(0, 40)}'`);
    return id;
  }

  private async execute(
    id: string,
    operation: string,
    action: Action,
    json?: Record<string, unknown>,
  ): Promise<Operation> {
    const answer = await this.http.json({
      method: 'POST',
      path: this.instancePath(id),
      query: { operation },
      ...(json && { json }),
      action,
    });
    return this.fromAnswer(action, answer, id);
  }

  private async destroy(id: string, options: DestroyOptions): Promise<Operation> {
    // DELETE carries its cleanup options in a JSON body, as the docs and go-cloudca send them.
    const answer = await this.http.json({
      method: 'DELETE',
      path: this.instancePath(id),
      json: options,
      action: 'delete',
    });
    return this.fromAnswer('delete', answer, id);
  }

  /** A mutation's answer: PENDING → poll the task; SUCCESS (or no task) → done with `data`. */
  private fromAnswer(action: Action, body: unknown, instanceId?: string): Operation {
    const answer = parse(AsyncAnswer, body, `${action} answer`);
    const status = (answer.taskStatus ?? '').toUpperCase();
    if (answer.taskId && (status === 'PENDING' || status === ''))
      return this.pending(action, answer.taskId, instanceId);
    const dataId = idOf(answer.data);
    const opId = answer.taskId ?? `sync-${action}-${instanceId ?? dataId ?? 'unknown'}`;
    if (status === 'FAILED') {
      const ref = this.pending(action, opId, instanceId);
      return this.failed(ref, taskFailureReason({ id: opId, status, result: answer.data }));
    }
    const resourceId = action === 'create' ? dataId : (dataId ?? instanceId);
    return this.succeeded(action, opId, resourceId, instanceId ?? (action === 'create' ? dataId : undefined));
  }

  private async resolveNetwork(wanted: unknown): Promise<string> {
    const networks = await this.exNetworks();
    if (typeof wanted === 'string' && wanted) {
      const hit =
        networks.find((n) => n.id === wanted) ??
        networks.find((n) => n.name.toLowerCase() === wanted.toLowerCase());
      if (hit) return hit.id;
      throw new ProviderNotFoundError(
        `cloudca: unknown network '${wanted}' in ${this.location} (known: ${networks.map((n) => n.name).join(', ') || 'none'})`,
        { provider: 'cloudca', action: 'create', code: 'unknown-network' },
      );
    }
    if (networks.length === 1) return networks[0]!.id;
    throw this.inputError(
      'create',
      networks.length
        ? `${this.location} has several networks (${networks.map((n) => n.name).join(', ')}): choose one with extra.network`
        : `${this.location} has no network to create an instance in`,
    );
  }

  /** Every item of a list endpoint across pages (page_number/page_size; recordCount says when to stop). */
  private async listAll(path: string, action: string): Promise<unknown[]> {
    const out: unknown[] = [];
    const seen = new Set<string>();
    const pages = await allPages({
      fetch: async (index) =>
        parse(
          ListEnvelope,
          await this.http.json({
            method: 'GET',
            path,
            query: { page_number: index + 1, page_size: PAGE_SIZE },
            action,
          }),
          `${action} page`,
        ),
      count: (body) => body.data?.length ?? 0,
      total: (body) => body.metadata?.recordCount,
      maxPages: MAX_PAGES,
      asked: PAGE_SIZE,
      repeats: (page, before) => {
        const id = idOf(page.data?.[0]);
        return id !== undefined && id === idOf(before.data?.[0]);
      },
    });
    // A server that ignores paging answers every page alike: repeats are kept once.
    for (const body of pages)
      for (const item of body.data ?? []) {
        const id = idOf(item);
        if (id !== undefined) {
          if (seen.has(id)) continue;
          seen.add(id);
        }
        out.push(item);
      }
    return out;
  }

  private toInstance(wire: WireInstance): Instance {
    const {
      id,
      name,
      state,
      computeOfferingId,
      computeOfferingName,
      ipAddress,
      publicIps,
      publicIPs,
      created,
      ...rest
    } = wire;
    const publics = (publicIps ?? publicIPs ?? []).map((p) => p.ipAddress).filter((ip): ip is string => !!ip);
    const ipv4 = [...new Set([...(ipAddress ? [ipAddress] : []), ...publics])].filter(
      (ip) => !ip.includes(':'),
    );
    const ipv6 = publics.filter((ip) => ip.includes(':'));
    return {
      id,
      name,
      provider: 'cloudca',
      location: this.location,
      state: mapState(state),
      providerState: state,
      type: computeOfferingName ?? computeOfferingId ?? 'unknown',
      ...(computeOfferingId && { typeId: computeOfferingId }),
      labels: {},
      ipv4,
      ipv6,
      ...(created && { createdAt: created }),
      extra: { ...rest, ...((publicIps ?? publicIPs) && { publicIps: publicIps ?? publicIPs }) },
    };
  }
}

function idOf(value: unknown): string | undefined {
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' && id ? id : undefined;
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ProviderError(
    `cloudca: unexpected ${what} from the API (${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'unreadable'})`,
    {
      provider: 'cloudca',
      code: 'unexpected-answer',
    },
  );
}
