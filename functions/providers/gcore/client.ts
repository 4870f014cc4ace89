import type { Logger } from '../../log.ts';
import { BaseProvider, type ResolvedCreateSpec, stateFrom } from '../base.ts';
import {
  type ProviderError,
  ProviderInputError,
  ProviderNotFoundError,
  ProviderQuotaError,
  ProviderTransientError,
  ProviderValidationError,
} from '../errors.ts';
import { errorDetails, type HttpAnswer, HttpClient, type HttpRequest } from '../http/client.ts';
import { allPages } from '../http/pages.ts';
import type { RetryPolicy } from '../http/retry.ts';
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
  UsageReading,
  UsageSample,
} from '../port.ts';
import { authenticator, gcoreCredentials } from './auth.ts';
import * as wire from './schemas.ts';

export const DEFAULT_ENDPOINT = 'https://api.gcore.com';
/** Boot volume size when neither the spec nor the image says more (GiB). */
const DEFAULT_DISK_GIB = 10;
/** Page size we ask for; the server may return fewer (we follow `count`). */
const PAGE_LIMIT = 1000;
/** Prefix of operation ids for work Gcore finishes synchronously (metadata). */
const SYNC_PREFIX = 'sync-';

export const CAPABILITIES: Capabilities = {
  list: { supported: true },
  get: { supported: true },
  create: {
    supported: true,
    note: 'boots from an image volume; one external interface unless extra.interfaces is given',
  },
  start: {
    supported: true,
    requiresState: ['stopped'],
    note: 'from SHUTOFF; a SUSPENDED instance needs exResume',
  },
  stop: { supported: true, requiresState: ['running'] },
  reboot: { supported: true, requiresState: ['running'], note: 'soft reboot; exRebootHard for a hard one' },
  scale: {
    supported: true,
    note: 'changeflavor, accepted while ACTIVE or SHUTOFF (Terraform resizes without stopping; the API rule is UNCONFIRMED)',
  },
  snapshot: { supported: true, note: 'snapshots the boot volume (Gcore has volume snapshots only)' },
  delete: {
    supported: true,
    note: 'also deletes the boot volume and floating IPs unless configured otherwise',
  },
  protection: { supported: false, note: 'Gcore instances have no deletion protection' },
  labels: {
    supported: true,
    note: 'instance metadata (tags); read-only system metadata is not exposed as labels',
  },
  metrics: {
    supported: true,
    note: 'Get Instance Metrics (cpu_util, network_Bps_ingress/egress), a history Gcore keeps, asked for by the hour',
  },
};

/**
 * Gcore states → ours. `status` is Nova's server status; `task_state` refines it while a task runs
 * (Nova keeps `ACTIVE` while powering off, for instance).
 */
export const STATE_MAP: Record<string, InstanceState> = {
  ACTIVE: 'running',
  BUILD: 'pending',
  REBUILD: 'pending',
  DELETED: 'deleted',
  SOFT_DELETED: 'deleted',
  ERROR: 'error',
  HARD_REBOOT: 'rebooting',
  REBOOT: 'rebooting',
  MIGRATING: 'running', // live migration: the guest keeps running
  PASSWORD: 'running', // a password change on a running guest
  RESCUE: 'running', // running a rescue image
  RESIZE: 'resizing',
  VERIFY_RESIZE: 'resizing',
  REVERT_RESIZE: 'resizing',
  SHUTOFF: 'stopped',
  SUSPENDED: 'stopped',
  PAUSED: 'stopped',
  SHELVED: 'stopped',
  SHELVED_OFFLOADED: 'stopped',
  UNKNOWN: 'unknown',
};

const TASK_STATE_MAP: Record<string, InstanceState> = {
  scheduling: 'pending',
  block_device_mapping: 'pending',
  networking: 'pending',
  spawning: 'pending',
  'powering-off': 'stopping',
  'powering-on': 'starting',
  suspending: 'stopping',
  resuming: 'starting',
  pausing: 'stopping',
  unpausing: 'starting',
  shelving: 'stopping',
  unshelving: 'starting',
  rebooting: 'rebooting',
  reboot_pending: 'rebooting',
  reboot_started: 'rebooting',
  rebooting_hard: 'rebooting',
  reboot_pending_hard: 'rebooting',
  reboot_started_hard: 'rebooting',
  resize_prep: 'resizing',
  resize_migrating: 'resizing',
  resize_migrated: 'resizing',
  resize_finish: 'resizing',
  resize_reverting: 'resizing',
  resize_confirming: 'resizing',
  deleting: 'deleting',
};

/** Our state for a Gcore status and task_state; anything unrecognised is `unknown`, never a guess. */
export function instanceState(status: string, taskState?: string | null): InstanceState {
  const base = stateFrom(STATE_MAP, status.toUpperCase());
  if (base === 'error' || base === 'deleted' || !taskState) return base;
  const derived = stateFrom(TASK_STATE_MAP, taskState);
  return derived === 'unknown' ? base : derived;
}

/** The one Gcore status behind a state, when there is exactly one (for the server-side filter). */
function statusFor(state: InstanceState): string | undefined {
  const statuses = Object.entries(STATE_MAP).filter(([, s]) => s === state);
  const derived = Object.values(TASK_STATE_MAP).includes(state);
  return statuses.length === 1 && !derived ? statuses[0]![0] : undefined;
}

export interface GcoreLocation {
  project: number;
  region: number;
}

/** Parses `<project>/<region>` (two positive integers), e.g. `1/76`. */
export function parseLocation(location: string): GcoreLocation {
  const m = /^\s*(\d{1,12})\s*\/\s*(\d{1,12})\s*$/.exec(location ?? '');
  const project = m ? Number(m[1]) : Number.NaN;
  const region = m ? Number(m[2]) : Number.NaN;
  if (!(project > 0) || !(region > 0)) {
    throw new ProviderInputError(
      `gcore: location must be <project>/<region> with integer ids, e.g. 1/76 (got '${String(location).slice(0, 40)}')`,
      { provider: 'gcore' },
    );
  }
  return { project, region };
}

/** Reads Gcore's error body into a typed error; the 409 task lock is transient, other 409s are state errors. */
export function mapGcoreError(answer: HttpAnswer, request: HttpRequest): ProviderError {
  const parsed = wire.ErrorBody.safeParse(answer.body);
  const body = parsed.success ? parsed.data : {};
  const code = body.exception_class ?? undefined;
  const reason = body.message || answer.text.slice(0, 300) || `HTTP ${answer.status}`;
  const details = errorDetails('gcore', answer, request, code);
  if (body.request_id) details.requestId = body.request_id;
  const message = `gcore: ${request.method} ${request.path} → ${answer.status}${code ? ` ${code}` : ''}: ${reason}`;
  // Stainless-generated Gcore SDKs obey this header; so do we.
  const shouldRetry = answer.headers['x-should-retry'];
  if (shouldRetry === 'true' && answer.status < 500) return new ProviderTransientError(message, details);
  if (answer.status === 409 && isTaskLock(code, reason) && shouldRetry !== 'false') {
    return new ProviderTransientError(message, details);
  }
  if (
    (answer.status === 400 || answer.status === 403) &&
    /quota|limit (is )?exceeded/i.test(`${code} ${reason}`)
  ) {
    return new ProviderQuotaError(message, details);
  }
  if (answer.status === 422) return new ProviderValidationError(message, details);
  return errorForStatus(answer.status, message, details);
}

function isTaskLock(code: string | undefined, message: string): boolean {
  return (
    /lock/i.test(code ?? '') ||
    /locked by (a |another )?(running )?task|is locked|running task/i.test(message)
  );
}

export interface GcoreProviderOptions {
  location: string;
  credentials: Record<string, string>;
  endpoint?: string;
  retry?: RetryPolicy;
  /** The account's rate limit: calls are paced to it. */
  requestsPerSecond?: number;
  logger?: Logger;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  /** Delete the instance's floating IPs with it (`delete_floatings=true`). Default true. */
  deleteFloatingIps?: boolean;
  /** Delete the boot volume with the instance (`volumes=<id>`). Default true. */
  deleteBootVolume?: boolean;
}

export class GcoreProvider extends BaseProvider {
  readonly provider = 'gcore' as const;
  readonly capabilities = CAPABILITIES;
  private readonly http: HttpClient;
  private readonly project: number;
  private readonly region: number;
  private readonly deleteFloatingIps: boolean;
  private readonly deleteBootVolume: boolean;

  constructor(options: GcoreProviderOptions) {
    const { project, region } = parseLocation(options.location);
    super(`${project}/${region}`);
    this.project = project;
    this.region = region;
    this.deleteFloatingIps = options.deleteFloatingIps ?? true;
    this.deleteBootVolume = options.deleteBootVolume ?? true;
    const credentials = gcoreCredentials(options.credentials);
    // Paths carry the `/cloud` prefix; accept an endpoint given with it (the Go SDK's style).
    const baseUrl = (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '').replace(/\/cloud$/, '');
    this.http = new HttpClient({
      provider: 'gcore',
      baseUrl,
      authenticate: authenticator(credentials),
      mapError: mapGcoreError,
      // Error bodies carry the request id; success bodies may carry another one (a task's origin).
      requestIdFrom: (answer) => {
        const parsed = answer.status >= 400 ? wire.ErrorBody.safeParse(answer.body) : undefined;
        return (parsed?.success && parsed.data.request_id) || answer.headers['x-request-id'];
      },
      secrets: [credentials.apiKey],
      ...(options.retry && { retry: options.retry }),
      ...(options.requestsPerSecond && { requestsPerSecond: options.requestsPerSecond }),
      ...(options.logger && { logger: options.logger }),
      ...(options.timeouts && { timeouts: options.timeouts }),
    });
  }

  // ---- raw calls ---------------------------------------------------------------------------
  protected async _list(filter: InstanceFilter): Promise<Instance[]> {
    const query: Record<string, string | number> = {};
    if (filter.labels && Object.keys(filter.labels).length) query.metadata_kv = JSON.stringify(filter.labels);
    // `name` is a MySQL regular expression on Gcore's side: anchor and escape it.
    if (filter.name !== undefined) query.name = `^${filter.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
    if (filter.states?.length === 1) {
      const status = statusFor(filter.states[0]!);
      if (status) query.status = status;
    }
    const raws = await this.allPages(this.path('v1', 'instances'), query, wire.Instance, 'list');
    return raws.map((raw) => this.toInstance(raw));
  }

  protected async _get(id: string): Promise<Instance> {
    return this.toInstance(await this.fetchInstance(id, 'get'));
  }

  protected async _create(spec: ResolvedCreateSpec): Promise<Operation> {
    const template = await this.resolveTemplate(spec.templateId);
    const extra = spec.extra ?? {};
    if (spec.sshKey && /^(ssh-|ecdsa-|sk-)/.test(spec.sshKey)) {
      throw this.inputError('create', 'sshKey must be the name of a Gcore SSH key, not a public key');
    }
    const minDisk = Number(template.extra?.minDisk ?? 0);
    const size = spec.diskSize ?? Math.max(DEFAULT_DISK_GIB, minDisk);
    const bootVolume: Record<string, unknown> = {
      source: 'image',
      image_id: spec.templateId,
      size,
      boot_index: 0,
      type_name: typeof extra.volumeType === 'string' ? extra.volumeType : 'standard',
    };
    const body: Record<string, unknown> = {
      name: spec.name,
      flavor: spec.typeId,
      interfaces: Array.isArray(extra.interfaces) ? extra.interfaces : [{ type: 'external' }],
      volumes: [bootVolume, ...(Array.isArray(extra.volumes) ? extra.volumes : [])],
    };
    if (Object.keys(spec.labels).length) body.tags = spec.labels;
    if (spec.sshKey) body.ssh_key_name = spec.sshKey;
    if (spec.userData) body.user_data = Buffer.from(spec.userData, 'utf8').toString('base64');
    if (Array.isArray(extra.securityGroups)) body.security_groups = extra.securityGroups;
    if (typeof extra.servergroupId === 'string') body.servergroup_id = extra.servergroupId;
    const tasks = await this.mutate({
      method: 'POST',
      path: this.path('v2', 'instances'),
      json: body,
      action: 'create',
    });
    return this.pending('create', tasks);
  }

  protected override _start(id: string): Promise<Operation> {
    return this.action(id, 'start', 'start');
  }
  protected override _stop(id: string): Promise<Operation> {
    return this.action(id, 'stop', 'stop');
  }
  protected override _reboot(id: string): Promise<Operation> {
    return this.action(id, 'reboot', 'reboot');
  }

  protected override async _scale(id: string, typeId: string): Promise<Operation> {
    const tasks = await this.mutate({
      method: 'POST',
      path: `${this.path('v1', 'instances')}/${id}/changeflavor`,
      json: { flavor_id: typeId },
      action: 'scale',
    });
    return this.pending('scale', tasks, id);
  }

  protected override async _snapshot(id: string, name: string): Promise<Operation> {
    const volume = await this.bootVolume(id, 'snapshot');
    if (!volume) {
      throw new ProviderNotFoundError(`gcore: instance ${id} has no boot volume to snapshot`, {
        provider: 'gcore',
        action: 'snapshot',
        code: 'no-boot-volume',
      });
    }
    const tasks = await this.mutate({
      method: 'POST',
      path: this.path('v1', 'snapshots'),
      json: { volume_id: volume.id, name, description: `fleetflow snapshot of instance ${id}` },
      action: 'snapshot',
    });
    return this.pending('snapshot', tasks, id);
  }

  protected override async _delete(id: string): Promise<Operation> {
    const query: Record<string, string> = {};
    if (this.deleteFloatingIps) query.delete_floatings = 'true';
    if (this.deleteBootVolume) {
      // The boot volume survives the instance unless named here (or delete_on_termination).
      const volume = await this.bootVolume(id, 'delete');
      if (volume) query.volumes = volume.id;
    }
    const tasks = await this.mutate({
      method: 'DELETE',
      path: `${this.path('v1', 'instances')}/${id}`,
      query,
      action: 'delete',
    });
    return this.pending('delete', tasks, id);
  }

  protected override async _setLabels(
    id: string,
    changes: Record<string, string | null>,
  ): Promise<Operation> {
    const path = `${this.path('v1', 'instances')}/${id}/metadata`;
    // Reading first gives a typed not-found for a missing instance and tells which keys exist.
    const current = await this.http.json({ method: 'GET', path, action: 'labels' });
    const items = parse(wire.page(wire.MetadataItem), current, 'labels').results;
    const byKey = new Map(items.map((i) => [i.key, i]));
    const sets: Record<string, string> = {};
    const removals: string[] = [];
    for (const [key, value] of Object.entries(changes)) {
      if (byKey.get(key)?.read_only) throw this.inputError('labels', `metadata key '${key}' is read-only`);
      if (value === null) {
        if (byKey.has(key)) removals.push(key);
      } else sets[key] = value;
    }
    if (Object.keys(sets).length)
      await this.http.send({ method: 'POST', path, json: sets, action: 'labels', idempotent: true });
    for (const key of removals) {
      await this.http
        .send({ method: 'DELETE', path: `${path}/${encodeURIComponent(key)}`, action: 'labels' })
        .catch((error) => {
          // Already gone (a concurrent change or a retried request): that is the wanted outcome.
          if (!(error instanceof ProviderNotFoundError && /metadata/i.test(`${error.code} ${error.message}`)))
            throw error;
        });
    }
    return this.succeeded('labels', `${SYNC_PREFIX}labels-${id}`, id, id);
  }

  protected async _operation(ref: OperationRef): Promise<Operation> {
    if (ref.id.startsWith(SYNC_PREFIX))
      return this.succeeded(ref.action, ref.id, ref.instanceId, ref.instanceId);
    const tasks = await Promise.all(ref.id.split(',').map((taskId) => this.task(taskId, ref.action)));
    const failed = tasks.find((t) => t.state === 'ERROR');
    if (failed)
      return this.failed(
        ref,
        failed.error ||
          failed.detailed_state ||
          `task ${failed.id} (${failed.task_type ?? ref.action}) failed`,
      );
    if (!tasks.every((t) => t.state === 'FINISHED')) return { ...ref, status: 'pending' };
    const created = (kind: string) => tasks.flatMap((t) => t.created_resources?.[kind] ?? [])[0];
    if (ref.action === 'create') {
      const instanceId = created('instances');
      if (!instanceId) return this.failed(ref, 'the create task finished without reporting an instance');
      return this.succeeded('create', ref.id, instanceId, instanceId);
    }
    if (ref.action === 'snapshot') {
      const snapshotId = created('snapshots');
      if (!snapshotId) return this.failed(ref, 'the snapshot task finished without reporting a snapshot');
      return this.succeeded('snapshot', ref.id, snapshotId, ref.instanceId);
    }
    return this.succeeded(ref.action, ref.id, ref.instanceId, ref.instanceId);
  }

  protected async _instanceTypes(): Promise<CatalogueEntry[]> {
    const body = await this.http.json({
      method: 'GET',
      path: this.path('v1', 'flavors'),
      action: 'catalogue',
    });
    return parse(wire.page(wire.Flavor), body, 'catalogue')
      .results.filter((f) => !f.disabled)
      .map((f) => ({
        id: f.flavor_id,
        name: f.flavor_name ?? f.flavor_id,
        extra: { vcpus: f.vcpus, ramMiB: f.ram },
      }));
  }

  protected async _templates(): Promise<CatalogueEntry[]> {
    const body = await this.http.json({
      method: 'GET',
      path: this.path('v1', 'images'),
      action: 'catalogue',
    });
    return parse(wire.page(wire.Image), body, 'catalogue')
      .results.filter((i) => !i.status || i.status === 'active')
      .map((i) => ({
        id: i.id,
        name: i.name,
        extra: { osDistro: i.os_distro, osVersion: i.os_version, minDisk: i.min_disk },
      }));
  }

  protected override async _usage(id: string, options: { since: Date }): Promise<UsageReading> {
    // Gcore takes a span back from now in whole hours or days (time_unit "hour" | "day").
    const hours = Math.max(1, Math.ceil((Date.now() - options.since.getTime()) / 3_600_000));
    const span =
      hours <= 24
        ? { time_interval: hours, time_unit: 'hour' }
        : { time_interval: Math.ceil(hours / 24), time_unit: 'day' };
    const body = await this.http.json({
      method: 'POST',
      path: `${this.path('v1', 'instances')}/${id}/metrics`,
      json: span,
      action: 'metrics',
      // A read, though it is a POST: sending it twice changes nothing.
      idempotent: true,
    });
    return {
      kind: 'series',
      samples: usageSamples(parse(wire.page(wire.MetricsItem), body, 'metrics').results),
    };
  }

  // ---- provider-only operations ------------------------------------------------------------
  /** Hard reboot (power cycle). */
  exRebootHard(id: string): Promise<Operation> {
    return this.action(this.idFor(id), 'reboot_hard', 'reboot');
  }
  /** Suspends to disk; the instance reads as `stopped` (status SUSPENDED) until resumed. */
  exSuspend(id: string): Promise<Operation> {
    return this.action(this.idFor(id), 'suspend', 'stop');
  }
  exResume(id: string): Promise<Operation> {
    return this.action(this.idFor(id), 'resume', 'start');
  }
  /** Flavors this instance can be resized into. */
  async exAvailableFlavors(id: string): Promise<CatalogueEntry[]> {
    const body = await this.http.json({
      method: 'GET',
      path: `${this.path('v1', 'instances')}/${this.idFor(id)}/available_flavors`,
    });
    return parse(wire.page(wire.Flavor), body, 'catalogue').results.map((f) => ({
      id: f.flavor_id,
      name: f.flavor_name ?? f.flavor_id,
    }));
  }

  // ---- helpers -----------------------------------------------------------------------------
  private path(version: 'v1' | 'v2', kind: string): string {
    return `/cloud/${version}/${kind}/${this.project}/${this.region}`;
  }

  private idFor(id: string): string {
    if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(id)) {
      throw this.inputError('get', `invalid instance id '${String(id).slice(0, 40)}'`);
    }
    return id;
  }

  private async action(id: string, gcoreAction: string, action: Action): Promise<Operation> {
    const tasks = await this.mutate({
      method: 'POST',
      path: `${this.path('v2', 'instances')}/${id}/action`,
      json: { action: gcoreAction },
      action,
    });
    return this.pending(action, tasks, id);
  }

  /** Sends a mutation and returns its task ids joined by commas (one task in practice). */
  private async mutate(request: HttpRequest): Promise<string> {
    const body = await this.http.json(request);
    return parse(wire.TaskListResponse, body, request.action ?? 'mutation').tasks.join(',');
  }

  private async task(taskId: string, action: Action): Promise<wire.Task> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(taskId))
      throw this.inputError('operation', `invalid task id '${taskId.slice(0, 40)}'`);
    const body = await this.http.json({ method: 'GET', path: `/cloud/v1/tasks/${taskId}`, action });
    return parse(wire.Task, body, action);
  }

  private async fetchInstance(id: string, action: Action): Promise<wire.Instance> {
    const body = await this.http.json({
      method: 'GET',
      path: `${this.path('v1', 'instances')}/${id}`,
      action,
    });
    return parse(wire.Instance, body, action);
  }

  /** The instance's boot volume: fetched first so that a missing instance is a typed not-found. */
  private async bootVolume(id: string, action: Action): Promise<{ id: string } | undefined> {
    const instance = await this.fetchInstance(id, action);
    const attached = new Set((instance.volumes ?? []).map((v) => v.id));
    if (!attached.size) return undefined;
    const volumes = await this.allPages(
      this.path('v1', 'volumes'),
      { instance_id: id, bootable: 'true' },
      wire.Volume,
      action,
    );
    const mine = volumes.filter((v) => attached.has(v.id));
    return mine.find((v) => v.is_root_volume) ?? mine.find((v) => v.bootable) ?? mine[0];
  }

  private async allPages<T extends import('zod').ZodType>(
    path: string,
    query: Record<string, string | number>,
    item: T,
    action: Action | string,
  ): Promise<Array<import('zod').infer<T>>> {
    const pages = await allPages({
      // Offset paging: page `index` starts after `index` pages of the size the first one had.
      fetch: async (index, size) =>
        parse(
          wire.page(item),
          await this.http.json({
            method: 'GET',
            path,
            query: { ...query, limit: PAGE_LIMIT, offset: index * size },
            action,
          }),
          action,
        ),
      count: (page) => page.results.length,
      total: (page) => page.count,
      maxPages: 10_000,
    });
    return pages.flatMap((page) => page.results);
  }

  private toInstance(raw: wire.Instance): Instance {
    const id = (raw.id ?? raw.instance_id)!;
    const labels: Record<string, string> = {};
    const readOnly: Record<string, string> = {};
    const detailed = raw.tags ?? raw.metadata_detailed;
    if (detailed) {
      for (const item of detailed) (item.read_only ? readOnly : labels)[item.key] = item.value;
    } else {
      for (const [k, v] of Object.entries(raw.metadata ?? {})) if (typeof v === 'string') labels[k] = v;
    }
    const ipv4: string[] = [];
    const ipv6: string[] = [];
    for (const list of Object.values(raw.addresses ?? {})) {
      for (const address of list) (address.addr.includes(':') ? ipv6 : ipv4).push(address.addr);
    }
    const created = raw.created_at ?? raw.instance_created ?? undefined;
    const createdAt = created ? isoTime(created) : undefined;
    const flavorId = raw.flavor?.flavor_id;
    return {
      id,
      name: raw.name ?? raw.instance_name ?? '',
      provider: 'gcore',
      location: this.location,
      state: instanceState(raw.status, raw.task_state),
      providerState: raw.status,
      type: raw.flavor?.flavor_name ?? flavorId ?? 'unknown',
      ...(flavorId && { typeId: flavorId }),
      labels,
      ipv4,
      ipv6,
      ...(createdAt && { createdAt }),
      extra: {
        vmState: raw.vm_state ?? null,
        taskState: raw.task_state ?? null,
        taskId: raw.task_id ?? null,
        volumes: raw.volumes ?? [],
        addresses: raw.addresses ?? {},
        systemMetadata: readOnly,
        region: raw.region,
        keypairName: raw.keypair_name ?? null,
      },
    };
  }
}

/**
 * Gcore's metric points as intervals: each point stands for the span since the one before it (the
 * first for one typical step); `cpu_util` is a percentage, network figures are bytes per second
 * each way, added up here and turned into KiB/s. A null figure stays unknown.
 */
export function usageSamples(items: wire.MetricsItem[]): UsageSample[] {
  const points = items
    // A time without a zone is UTC, as Gcore's task times are (UNCONFIRMED for metrics).
    .map((m) => ({
      at: Date.parse(isoTime(/(Z|[+-]\d{2}:?\d{2})$/.test(m.time) ? m.time : `${m.time}Z`)),
      m,
    }))
    .filter((p) => !Number.isNaN(p.at))
    .sort((a, b) => a.at - b.at);
  const gaps = points
    .slice(1)
    .map((p, i) => p.at - points[i]!.at)
    .filter((g) => g > 0)
    .sort((a, b) => a - b);
  const step = gaps.length ? gaps[Math.floor(gaps.length / 2)]! : 300_000;
  return points.map(({ at, m }, i) => {
    const network =
      m.network_Bps_ingress == null && m.network_Bps_egress == null
        ? undefined
        : ((m.network_Bps_ingress ?? 0) + (m.network_Bps_egress ?? 0)) / 1024;
    return {
      from: new Date(i === 0 ? at - step : points[i - 1]!.at).toISOString(),
      to: new Date(at).toISOString(),
      ...(m.cpu_util != null && { cpuPercent: m.cpu_util }),
      ...(network !== undefined && { networkKBps: network }),
    };
  });
}

function isoTime(value: string): string {
  // Gcore writes `2019-07-11T06:58:48+0000` or `…Z`; Date.parse wants a colon in the offset.
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

function parse<T extends import('zod').ZodType>(
  schema: T,
  body: unknown,
  action: Action | string,
): import('zod').infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ProviderValidationError(
    `gcore: unexpected answer shape (${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'unreadable'})`,
    { provider: 'gcore', action, code: 'unexpected-response' },
  );
}
