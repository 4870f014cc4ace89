import { BaseProvider, type ResolvedCreateSpec, stateFrom } from '../base.ts';
import type { AdapterArgs } from '../definition.ts';
import {
  type ProviderError,
  ProviderInvalidStateError,
  ProviderNotFoundError,
  ProviderValidationError,
} from '../errors.ts';
import { errorDetails, type HttpAnswer, HttpClient, type HttpRequest } from '../http/client.ts';
import { allPages } from '../http/pages.ts';
import { errorForStatus } from '../http/status-errors.ts';
import type {
  Capabilities,
  CatalogueEntry,
  Instance,
  InstanceFilter,
  InstanceState,
  Operation,
  OperationRef,
  ProviderId,
} from '../port.ts';
import { bearerAuthenticator, credentialsFrom } from './auth.ts';
import {
  actionsSchema,
  availabilitySchema,
  errorSchema,
  imageListSchema,
  instanceListSchema,
  singleInstanceSchema,
  singleSnapshotSchema,
  type WireInstance,
} from './schemas.ts';

export const DEFAULT_ENDPOINT = 'https://api.genesiscloud.com/compute/v1';
export const DEFAULT_REGION = 'NORD-NO-KRS-1';
const PROVIDER: ProviderId = 'genesiscloud';
/** The API's largest page. */
const PER_PAGE = 100;
/** A runaway-pagination guard: 100 000 instances is far beyond any account. */
const MAX_PAGES = 1_000;

/**
 * Genesis Cloud statuses → the port's states. Go client (2025): active, creating, deleting, error,
 * pending_payment, resetting, starting, stopped, stopping; the JS client adds enqueued, copying,
 * build, restarting, shutoff, updating, unknown. Anything else becomes `unknown`.
 */
export const STATE_MAP: Readonly<Record<string, InstanceState>> = {
  enqueued: 'pending',
  creating: 'pending',
  build: 'pending',
  copying: 'pending',
  // Created but held until the payment goes through.
  pending_payment: 'pending',
  active: 'running',
  starting: 'starting',
  stopping: 'stopping',
  stopped: 'stopped',
  // OpenStack's name for a stopped server, which the JS client still lists.
  shutoff: 'stopped',
  resetting: 'rebooting',
  restarting: 'rebooting',
  deleting: 'deleting',
  error: 'error',
  // Known values with no port equivalent: what `updating` changes is not documented.
  updating: 'unknown',
  unknown: 'unknown',
};

export function mapState(status: string): InstanceState {
  return stateFrom(STATE_MAP, status);
}

export const CAPABILITIES: Capabilities = {
  list: {
    supported: true,
    note: 'Listed across pages of up to 100; instances of other regions are left out.',
  },
  get: { supported: true },
  create: {
    supported: true,
    note: 'Needs an SSH key id (sshKey) or a password (extra.password, 16+ characters).',
  },
  start: { supported: true, requiresState: ['stopped'] },
  stop: { supported: true, requiresState: ['running', 'starting', 'error'] },
  reboot: {
    supported: true,
    requiresState: ['running'],
    note: "Genesis Cloud's 'reset' action (a hard reset).",
  },
  scale: { supported: false, note: "Genesis Cloud cannot change an instance's type; replace the instance." },
  snapshot: { supported: true, requiresState: ['running', 'stopped'] },
  delete: { supported: true, note: 'Refused while the instance is protected.' },
  protection: { supported: true },
  labels: {
    supported: false,
    note: 'Genesis Cloud instances have no labels or tags (labels given on create are ignored); idempotent creates are matched by exact name, type and image.',
  },
  metrics: { supported: false, note: "Genesis Cloud's API reports no usage figures for an instance" },
};

// Where the API's wording says an action does not fit the instance's status (400 bodies).
const WRONG_STATE =
  /\b(in|for|of) (the )?(status|state)\b|\b(wrong|current|invalid) (status|state)\b|not allowed|cannot (start|stop|reset|destroy|delete)|already being deleted|\bis protected\b/i;
const WRONG_STATE_CODE = /state|protected|not_allowed/i;

type GenesisAction = 'create' | 'start' | 'stop' | 'reset' | 'delete';
type ParsedOp = { kind: 'instance'; id: string; action: GenesisAction } | { kind: 'snapshot'; id: string };

/**
 * The Genesis Cloud adapter. There are no operation objects: an action's operation is the instance
 * reaching the status the action leads to, read by polling, so operation ids encode what to read
 * (`instance:<id>:<action>`, `snapshot:<id>`).
 */
export class GenesisCloudProvider extends BaseProvider {
  readonly provider: ProviderId = PROVIDER;
  readonly capabilities: Capabilities = CAPABILITIES;
  private readonly http: HttpClient;
  private readonly log: AdapterArgs['logger'];

  constructor(args: AdapterArgs) {
    super(args.location);
    const { token } = credentialsFrom(args.credentials);
    this.log = args.logger;
    this.http = new HttpClient({
      provider: PROVIDER,
      baseUrl: args.endpoint ?? DEFAULT_ENDPOINT,
      authenticate: bearerAuthenticator(token),
      mapError: mapGenesisError,
      secrets: [token],
      ...(args.retry && { retry: args.retry }),
      ...(args.requestsPerSecond && { requestsPerSecond: args.requestsPerSecond }),
      ...(args.logger && { logger: args.logger }),
      ...(args.timeouts && { timeouts: args.timeouts }),
    });
  }

  // ---- reads -----------------------------------------------------------------------------
  protected async _list(_filter: InstanceFilter): Promise<Instance[]> {
    // The API filters nothing server-side; the base class applies the filter afterwards.
    const seen = new Map<string, Instance>();
    const pages = await this.allOf('/instances', instanceListSchema, 'list', (b) => b.instances);
    for (const body of pages)
      for (const wire of body.instances ?? [])
        if (!wire.region || wire.region === this.location) seen.set(wire.id, this.toInstance(wire));
    return [...seen.values()];
  }

  protected async _get(id: string): Promise<Instance> {
    return this.toInstance(await this.readInstance(id, 'get'));
  }

  // ---- mutations -------------------------------------------------------------------------
  protected async _create(spec: ResolvedCreateSpec): Promise<Operation> {
    if (Object.keys(spec.labels).length > 0) {
      this.log?.debug('labels ignored: Genesis Cloud instances have none', { name: spec.name });
    }
    const body = singleInstanceSchema.parse(
      await this.http.json({
        method: 'POST',
        path: '/instances',
        json: createBody(spec, this.location),
        action: 'create',
      }),
    );
    const id = body.instance.id;
    return this.pending('create', opId({ kind: 'instance', id, action: 'create' }), id);
  }

  protected override _start(id: string): Promise<Operation> {
    return this.act(id, 'start');
  }
  protected override _stop(id: string): Promise<Operation> {
    return this.act(id, 'stop');
  }
  protected override _reboot(id: string): Promise<Operation> {
    return this.act(id, 'reset');
  }

  protected override async _snapshot(id: string, name: string): Promise<Operation> {
    const body = singleSnapshotSchema.parse(
      await this.http.json({
        method: 'POST',
        path: `/instances/${enc(id)}/snapshots`,
        json: { name },
        action: 'snapshot',
      }),
    );
    return this.pending('snapshot', opId({ kind: 'snapshot', id: body.snapshot.id }), id);
  }

  protected override async _delete(id: string): Promise<Operation> {
    const ref = opId({ kind: 'instance', id, action: 'delete' });
    try {
      await this.http.send({ method: 'DELETE', path: `/instances/${enc(id)}`, action: 'delete' });
    } catch (error) {
      // A retried DELETE whose first attempt was applied is refused as "already being deleted":
      // that is our own delete in progress, not a failure.
      if (!(error instanceof ProviderInvalidStateError)) throw error;
      const current = await this.readInstance(id, 'delete').catch(() => undefined);
      if (current?.status !== 'deleting') throw error;
    }
    return this.pending('delete', ref, id);
  }

  protected override async _setProtection(id: string, enabled: boolean): Promise<Operation> {
    await this.patch(id, { is_protected: enabled }, 'protection');
    return this.succeeded('protection', `instance:${id}:protection`, id, id);
  }

  // ---- operations ------------------------------------------------------------------------
  protected async _operation(ref: OperationRef): Promise<Operation> {
    const parsed = parseOpId(ref);
    if (!parsed)
      throw this.inputError('operation', `not a Genesis Cloud operation id: '${ref.id.slice(0, 80)}'`);
    if (parsed.kind === 'snapshot') return this.snapshotOperation(ref, parsed.id);

    let wire: WireInstance;
    try {
      wire = await this.readInstance(parsed.id, 'operation');
    } catch (error) {
      if (!(error instanceof ProviderNotFoundError)) throw error;
      if (parsed.action === 'delete') return this.done(ref, parsed.id);
      return this.fail(ref, `instance ${parsed.id} no longer exists`);
    }
    const status = wire.status;
    if (status === 'error')
      return this.fail(ref, `instance ${parsed.id} went into error during ${parsed.action}`);
    const done = (): Operation => this.done(ref, parsed.id);
    switch (parsed.action) {
      case 'create':
        // Created is created, even if someone stopped it before we looked.
        return status === 'active' || status === 'stopped' || status === 'shutoff'
          ? done()
          : this.stillPending(ref);
      case 'start':
      case 'reset':
        if (status === 'active') return done();
        break;
      case 'stop':
        if (status === 'stopped' || status === 'shutoff') return done();
        break;
      case 'delete':
        return this.stillPending(ref);
    }
    if (status === 'deleting') return this.fail(ref, `instance ${parsed.id} is being deleted`);
    return this.stillPending(ref);
  }

  private async snapshotOperation(ref: OperationRef, snapshotId: string): Promise<Operation> {
    let status: string;
    try {
      const body = singleSnapshotSchema.parse(
        await this.http.json({ method: 'GET', path: `/snapshots/${enc(snapshotId)}`, action: 'operation' }),
      );
      status = body.snapshot.status;
    } catch (error) {
      if (error instanceof ProviderNotFoundError)
        return this.fail(ref, `snapshot ${snapshotId} no longer exists`);
      throw error;
    }
    // `created` (Go, seed page), `active` (JS client), `available` (the old OpenAPI file).
    if (status === 'created' || status === 'active' || status === 'available')
      return this.done(ref, snapshotId);
    if (status === 'error') return this.fail(ref, `snapshot ${snapshotId} ended in error`);
    if (status === 'deleting' || status === 'pending_delete')
      return this.fail(ref, `snapshot ${snapshotId} is being deleted`);
    return this.stillPending(ref);
  }

  // ---- catalogue -------------------------------------------------------------------------
  protected async _instanceTypes(): Promise<CatalogueEntry[]> {
    // The API has no instance-type list; the region's availability lists the types it offers.
    const body = availabilitySchema.parse(
      await this.http.json({
        method: 'GET',
        path: `/availability/${enc(this.location)}/instances`,
        action: 'catalogue',
      }),
    );
    return body.availability.instance_types.map((t) => ({
      id: t.type,
      name: t.type,
      extra: {
        ...parseTypeName(t.type),
        ...(t.available !== undefined && { available: t.available }),
        ...(t.count != null && { count: t.count }),
      },
    }));
  }

  protected async _templates(): Promise<CatalogueEntry[]> {
    const out: CatalogueEntry[] = [];
    const pages = await this.allOf('/images', imageListSchema, 'catalogue', (b) => b.images);
    for (const body of pages)
      for (const image of body.images ?? []) {
        if (image.regions && !image.regions.includes(this.location)) continue;
        out.push({
          id: image.id,
          name: image.name,
          extra: {
            ...(image.type && { type: image.type }),
            ...(image.slug && { slug: image.slug }),
            ...(image.family && { family: image.family }),
            ...(image.versions && { versions: image.versions }),
            ...(image.os_type && { osType: image.os_type }),
          },
        });
      }
    return out;
  }

  /** Every page of a listing (page/per_page; total_count says how many pages there are). */
  private allOf<T extends { total_count?: number | undefined }>(
    path: string,
    schema: { parse(value: unknown): T },
    action: string,
    items: (body: T) => readonly unknown[] | null | undefined,
  ): Promise<T[]> {
    return allPages({
      fetch: async (index) =>
        schema.parse(
          await this.http.json({
            method: 'GET',
            path,
            query: { page: index + 1, per_page: PER_PAGE },
            action,
          }),
        ),
      count: (body) => items(body)?.length ?? 0,
      total: (body) => body.total_count,
      maxPages: MAX_PAGES,
      asked: PER_PAGE,
    });
  }

  // ---- Genesis Cloud only (Libcloud's `ex_` convention) ------------------------------------
  /** Renames the instance (the hostname stays). */
  async exRename(id: string, name: string): Promise<Instance> {
    if (!name.trim()) throw this.inputError('rename', 'a name is required');
    return this.toInstance(await this.patch(this.validId(id), { name }, 'rename'));
  }

  /** Grows the boot disk to `sizeGiB`; Genesis Cloud refuses to shrink it. */
  async exGrowDisk(id: string, sizeGiB: number): Promise<Instance> {
    if (!Number.isInteger(sizeGiB) || sizeGiB < 1)
      throw this.inputError('grow-disk', 'the disk size must be a positive whole number of GiB');
    return this.toInstance(await this.patch(this.validId(id), { disk_size: sizeGiB }, 'grow-disk'));
  }

  /** The actions the API allows right now (`GET /instances/{id}/actions`). */
  async exAllowedActions(id: string): Promise<string[]> {
    const body = actionsSchema.parse(
      await this.http.json({
        method: 'GET',
        path: `/instances/${enc(this.validId(id))}/actions`,
        action: 'get',
      }),
    );
    return body.actions;
  }

  // ---- helpers ---------------------------------------------------------------------------
  private async act(id: string, action: 'start' | 'stop' | 'reset'): Promise<Operation> {
    const port = action === 'reset' ? 'reboot' : action;
    await this.http.send({
      method: 'POST',
      path: `/instances/${enc(id)}/actions`,
      json: { action },
      action: port,
    });
    return this.pending(port, opId({ kind: 'instance', id, action }), id);
  }

  private async readInstance(id: string, action: string): Promise<WireInstance> {
    const body = singleInstanceSchema.parse(
      await this.http.json({ method: 'GET', path: `/instances/${enc(id)}`, action }),
    );
    return body.instance;
  }

  private async patch(id: string, changes: Record<string, unknown>, action: string): Promise<WireInstance> {
    // PATCH sets absolute values, so repeating it is harmless.
    const body = singleInstanceSchema.parse(
      await this.http.json({
        method: 'PATCH',
        path: `/instances/${enc(id)}`,
        json: changes,
        action,
        idempotent: true,
      }),
    );
    return body.instance;
  }

  /** The operation with a new status, built from the reference alone (no stale reason or resource). */
  private stillPending(ref: OperationRef): Operation {
    return { ...plainRef(ref), status: 'pending' };
  }
  private done(ref: OperationRef, resourceId: string): Operation {
    return { ...plainRef(ref), status: 'succeeded', resourceId };
  }
  private fail(ref: OperationRef, reason: string): Operation {
    return { ...plainRef(ref), status: 'failed', reason };
  }

  private validId(id: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id))
      throw this.inputError('get', `invalid instance id '${String(id).slice(0, 40)}'`);
    return id;
  }

  /** Genesis Cloud has no labels: a create is recognised by its exact name, type and image. */
  protected override async findByIdempotencyKey(
    _key: string,
    spec: ResolvedCreateSpec,
  ): Promise<Instance | undefined> {
    const same = await this._list({ name: spec.name });
    return same.find(
      (i) =>
        i.name === spec.name &&
        i.state !== 'deleted' &&
        i.state !== 'deleting' &&
        i.type === spec.typeId &&
        ((i.extra.image as { id?: string } | undefined)?.id ?? spec.templateId) === spec.templateId,
    );
  }

  private toInstance(w: WireInstance): Instance {
    const ipv4 = [w.public_ip, w.private_ip].filter(
      (ip): ip is string => typeof ip === 'string' && ip.length > 0,
    );
    const ipv6 = typeof w.public_ipv6 === 'string' && w.public_ipv6 ? [w.public_ipv6] : [];
    const isProtected = w.is_protected === true || w.is_protected === 'true';
    return {
      id: w.id,
      name: w.name,
      provider: PROVIDER,
      location: w.region ?? this.location,
      state: mapState(w.status),
      providerState: w.status,
      type: w.type,
      typeId: w.type,
      labels: {},
      ipv4,
      ipv6,
      ...(w.created_at && { createdAt: w.created_at }),
      ...(w.is_protected != null && { protected: isProtected }),
      extra: {
        ...(w.hostname && { hostname: w.hostname }),
        ...(w.dns_name && { dnsName: w.dns_name }),
        ...(w.image && { image: w.image }),
        ...(w.placement_option && { placementOption: w.placement_option }),
        ...(w.public_ip && { publicIp: w.public_ip }),
        ...(w.private_ip && { privateIp: w.private_ip }),
        ...(w.floating_ip && { floatingIp: w.floating_ip }),
        ...(w.disk_size != null && { diskSize: w.disk_size }),
        ...(w.os_type && { osType: w.os_type }),
        ...(w.reservation_id && { reservationId: w.reservation_id }),
        ...(w.updated_at && { updatedAt: w.updated_at }),
        sshKeys: w.ssh_keys ?? [],
        securityGroups: w.security_groups ?? [],
        volumes: w.volumes ?? [],
      },
    };
  }
}

/** The create body: required name, hostname, type, image, region; provider-only options from `extra`. */
export function createBody(spec: ResolvedCreateSpec, region: string): Record<string, unknown> {
  const x = spec.extra ?? {};
  const sshKeys = [
    ...(spec.sshKey ? [spec.sshKey] : []),
    ...(Array.isArray(x.sshKeys) ? (x.sshKeys as string[]) : []),
  ];
  const startupScript = spec.userData ?? (typeof x.startupScript === 'string' ? x.startupScript : undefined);
  const optional: Record<string, unknown> = {
    ssh_keys: sshKeys.length ? [...new Set(sshKeys)] : undefined,
    password: x.password,
    security_groups: x.securityGroups,
    volumes: x.volumes,
    floating_ip: x.floatingIp,
    placement_option: x.placementOption,
    is_protected: x.isProtected,
    billing_type: x.billingType,
    reservation_id: x.reservationId,
    destroy_on_shutdown: x.destroyOnShutdown,
    public_ipv6: x.publicIpv6,
    disk_size: spec.diskSize,
    metadata: startupScript !== undefined ? { startup_script: startupScript } : undefined,
  };
  return {
    name: spec.name,
    hostname: typeof x.hostname === 'string' ? x.hostname : hostnameFrom(spec.name),
    type: spec.typeId,
    image: spec.templateId,
    region,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

/** A valid host name (RFC 1123 label) from an instance name; the API needs one on create. */
export function hostnameFrom(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || 'instance';
}

/** Reads `vcpu-4_memory-12g_nvidia-rtx-3080-1` (and the older `_disk-80g_nvidia3080-1` form). */
export function parseTypeName(name: string): Record<string, unknown> {
  const m = /^vcpu-(\d+)_memory-(\d+)g(?:_disk-(\d+)g)?(?:_([a-z0-9-]+?)-(\d+))?$/.exec(name);
  if (!m) return {};
  return {
    vcpus: Number(m[1]),
    memoryGiB: Number(m[2]),
    ...(m[3] && { diskGiB: Number(m[3]) }),
    ...(m[4] && { accelerator: m[4], accelerators: Number(m[5]) }),
  };
}

export function opId(op: ParsedOp): string {
  return op.kind === 'snapshot' ? `snapshot:${op.id}` : `instance:${op.id}:${op.action}`;
}

export function parseOpId(ref: Pick<OperationRef, 'id' | 'action' | 'instanceId'>): ParsedOp | undefined {
  const instance = /^instance:([A-Za-z0-9._-]+):(create|start|stop|reset|delete|protection)$/.exec(ref.id);
  if (instance) {
    // Protection applies at once; reading it again is a plain "is the instance there".
    const action = instance[2] === 'protection' ? 'create' : (instance[2] as GenesisAction);
    return { kind: 'instance', id: instance[1]!, action };
  }
  const snapshot = /^snapshot:([A-Za-z0-9._-]+)$/.exec(ref.id);
  if (snapshot) return { kind: 'snapshot', id: snapshot[1]! };
  // A create recognised by its idempotency key carries the bare instance id.
  if (ref.action === 'create' && /^[A-Za-z0-9._-]+$/.test(ref.id))
    return { kind: 'instance', id: ref.id, action: 'create' };
  return undefined;
}

/** Reads Genesis Cloud's `{"code","message"}` error body into a typed error. */
export function mapGenesisError(answer: HttpAnswer, request: HttpRequest): ProviderError {
  const parsed = errorSchema.safeParse(answer.body);
  const code = parsed.success && parsed.data.code !== undefined ? String(parsed.data.code) : undefined;
  const text =
    (parsed.success && parsed.data.message) || answer.text.slice(0, 200) || `HTTP ${answer.status}`;
  const message = `${PROVIDER}: ${text} (HTTP ${answer.status}${code ? `, code ${code}` : ''})`;
  const details = errorDetails(PROVIDER, answer, request, code);
  // 400 is also how the API may refuse an action the status does not allow (UNCONFIRMED).
  if (
    answer.status === 400 &&
    (WRONG_STATE.test(text) || (code !== undefined && WRONG_STATE_CODE.test(code)))
  ) {
    return new ProviderInvalidStateError(message, details);
  }
  if (answer.status === 422) return new ProviderValidationError(message, details);
  return errorForStatus(answer.status, message, details);
}

function plainRef(ref: OperationRef): OperationRef {
  return {
    provider: ref.provider,
    location: ref.location,
    id: ref.id,
    action: ref.action,
    ...(ref.instanceId && { instanceId: ref.instanceId }),
  };
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
