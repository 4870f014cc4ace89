import { tokenFromHeaders } from '../../functions/providers/genesiscloud/auth.ts';
import { hostnameFrom } from '../../functions/providers/genesiscloud/client.ts';
import type { ProviderId } from '../../functions/providers/port.ts';
import {
  allowedFrom,
  routeTable,
  type SeedRequest,
  type SimHandler,
  type SimRequest,
  type SimResponse,
  SimulatorBase,
  type SimulatorDescription,
  type SimulatorOptions,
  type TransitionTable,
} from '../kit/index.ts';
import { DEFAULT_REGION, findImage, IMAGES, isRegion, REGIONS, type Region, typesIn } from './seed.ts';

/**
 * A faithful Genesis Cloud compute v1 API (instances, snapshots, images, availability) on loopback,
 * under the real path prefix `/compute/v1`. One endpoint serves every region: the region is a field
 * of the create body and of each instance, as in the real API.
 *
 * Choices where the sources are silent (UNCONFIRMED, listed in the room's index):
 * - Error codes: the spec's body is `{"code","message"}` with codes like "02001" whose list is not
 *   public; the simulator uses readable codes (`unauthorized`, `invalid_state`, …).
 * - Missing, malformed or unknown token → 401. `per_page` above 100 or below 1 → 400.
 * - An action the instance's status does not allow (start an active instance, stop a stopped one,
 *   reset a stopped one) → 409 `invalid_state`, listing the allowed actions; deleting a protected
 *   instance → 409 `instance_protected`. Allowed actions follow the Terraform provider: start from
 *   stopped; stop from active, starting or error; reset from active.
 * - Actions, creates, deletes and snapshots finish after `operationMs`. A failed action
 *   (`failOperations`) leaves the instance in `error`, where only stop is allowed (as on the
 *   platform); a stuck one keeps its transitional status.
 * - Public and private IPs are assigned when a created instance becomes active.
 */

type Status =
  | 'creating'
  | 'pending_payment'
  | 'active'
  | 'stopping'
  | 'stopped'
  | 'starting'
  | 'resetting'
  | 'error'
  | 'deleting';
type Action = 'start' | 'stop' | 'reset';

interface Ref {
  id: string;
  name: string;
}

interface SimInstance {
  id: string;
  name: string;
  hostname: string;
  type: string;
  region: Region;
  placementOption: string;
  imageId: string;
  status: Status;
  sshKeys: Ref[];
  securityGroups: Ref[];
  volumes: Ref[];
  floatingIp: Ref | null;
  isProtected: boolean;
  privateIp: string | null;
  publicIp: string | null;
  diskSize: number;
  createdAt: string;
  updatedAt: string;
  password?: string;
  startupScript?: string;
  /** Bumped on every state change, so a superseded timer does nothing. */
  generation: number;
}

interface SimSnapshot {
  id: string;
  name: string;
  size: number;
  resourceId: string;
  region: Region;
  status: 'creating' | 'created' | 'error' | 'deleting';
  createdAt: string;
  updatedAt: string;
}

/** A token of the shape Genesis Cloud issues (32 hex characters). */
export const SIM_CREDENTIALS = { token: 'e3b1c0f5a9d24c7f8b6e2a1d9c4f7b30' };

/** The instance actions: the statuses each is allowed in, the status while it runs, the end status. */
const ACTIONS: TransitionTable<Action, Status> = {
  start: { from: ['stopped'], during: 'starting', to: 'active' },
  stop: { from: ['active', 'starting', 'error'], during: 'stopping', to: 'stopped' },
  reset: { from: ['active'], during: 'resetting', to: 'active' },
};
const DEFAULT_PER_PAGE = 50;
const MAX_PER_PAGE = 100;
const MIN_DISK_GIB = 80;
const MAX_STARTUP_SCRIPT = 64 * 1024;
const ROLES = ['train', 'inference', 'notebook', 'render', 'web', 'worker', 'batch', 'db'] as const;
const SEED_TYPES = [
  'vcpu-2_memory-4g',
  'vcpu-4_memory-8g',
  'vcpu-8_memory-16g',
  'vcpu-4_memory-12g_nvidia-rtx-3080-1',
  'vcpu-8_memory-48g_nvidia-rtx-3090-2',
];
const STANDARD_SG: Ref = { id: 'fd537d69-9db7-4a44-83b8-96f79d10071a', name: 'standard' };

export class GenesisCloudSimulator extends SimulatorBase {
  readonly provider: ProviderId = 'genesiscloud';
  readonly credentials: Record<string, string> = { ...SIM_CREDENTIALS };
  readonly defaultLocation: string = DEFAULT_REGION;

  private readonly instances = new Map<string, SimInstance>();
  private readonly snapshots = new Map<string, SimSnapshot>();

  constructor(options: SimulatorOptions = {}) {
    super(options);
    this.seedFleet(DEFAULT_REGION, this.options.fleetSize);
    // A few elsewhere, so region scoping shows: an adapter bound to one region never lists these.
    this.seedFleet('EUC-DE-MUC-1', Math.max(1, Math.ceil(this.options.fleetSize / 4)));
  }

  endpoint(_location?: string): string {
    return `${this.origin}/compute/v1`;
  }

  override describe(): SimulatorDescription {
    return { ...super.describe(), regions: [...REGIONS] };
  }

  /** Test hook: what the API does not show back (password, startup script). */
  peek(
    id: string,
  ): { status: string; isProtected: boolean; password?: string; startupScript?: string } | undefined {
    const i = this.instances.get(id);
    if (!i) return undefined;
    return {
      status: i.status,
      isProtected: i.isProtected,
      ...(i.password !== undefined && { password: i.password }),
      ...(i.startupScript !== undefined && { startupScript: i.startupScript }),
    };
  }

  // ---- kit hooks -----------------------------------------------------------------------
  protected errorResponse(status: number, message: string, code?: string): SimResponse {
    return { status, body: { code: code ?? defaultCode(status), message } };
  }

  protected authenticate(req: SimRequest): SimResponse | undefined {
    if (!req.headers.authorization && !req.headers['x-auth-token']) {
      return this.errorResponse(401, 'Missing authentication token', 'unauthorized');
    }
    const token = tokenFromHeaders(req.headers);
    if (!token || token !== this.credentials.token) {
      return this.errorResponse(401, 'Invalid authentication token', 'unauthorized');
    }
    return undefined;
  }

  private readonly routes = routeTable<SimHandler>({
    'GET /compute/v1/instances': (req) => this.listInstances(req),
    'POST /compute/v1/instances': (req) => this.createInstance(body(req)),
    'GET /compute/v1/instances/{id}': this.onInstance((_req, i) => ok({ instance: instanceJson(i) })),
    'PATCH /compute/v1/instances/{id}': this.onInstance((req, i) => this.updateInstance(i, body(req))),
    'DELETE /compute/v1/instances/{id}': this.onInstance((_req, i) => this.deleteInstance(i)),
    'GET /compute/v1/instances/{id}/actions': this.onInstance((_req, i) =>
      ok({ actions: allowedFrom(ACTIONS, i.status) }),
    ),
    'POST /compute/v1/instances/{id}/actions': this.onInstance((req, i) => this.perform(i, body(req).action)),
    'GET /compute/v1/instances/{id}/snapshots': this.onInstance((req, i) =>
      this.page(
        req,
        'snapshots',
        [...this.snapshots.values()].filter((s) => s.resourceId === i.id).map(snapshotJson),
      ),
    ),
    'POST /compute/v1/instances/{id}/snapshots': this.onInstance((req, i) =>
      this.createSnapshot(i, body(req)),
    ),
    'GET /compute/v1/snapshots': (req) =>
      this.page(req, 'snapshots', [...this.snapshots.values()].map(snapshotJson)),
    'GET /compute/v1/snapshots/{id}': this.onSnapshot((s) => ok({ snapshot: snapshotJson(s) })),
    'DELETE /compute/v1/snapshots/{id}': this.onSnapshot((s) => this.deleteSnapshot(s)),
    'GET /compute/v1/images': (req) =>
      this.page(
        req,
        'images',
        IMAGES.filter((i) => req.query.type === undefined || i.type === req.query.type).map(imageJson),
      ),
    'GET /compute/v1/availability/{region}/instances': (req, p) =>
      this.availability(p.region!, req.query.placement),
  });

  protected route(req: SimRequest): SimResponse | Promise<SimResponse> {
    if (req.rawBody && req.json === undefined && req.method !== 'GET')
      return this.errorResponse(400, 'Invalid JSON body', 'invalid_body');
    return this.dispatch(this.routes, req);
  }

  // Genesis Cloud answers a wrong method like an unknown path.
  protected override notFound(): SimResponse {
    return this.invalidRoute();
  }

  protected override methodNotAllowed(): SimResponse {
    return this.invalidRoute();
  }

  private onInstance(handler: (req: SimRequest, instance: SimInstance) => SimResponse): SimHandler {
    return (req, params) => {
      const instance = this.instances.get(params.id!);
      return instance ? handler(req, instance) : this.errorResponse(404, 'Instance not found', 'not_found');
    };
  }

  private onSnapshot(handler: (snapshot: SimSnapshot) => SimResponse): SimHandler {
    return (_req, params) => {
      const s = this.snapshots.get(params.id!);
      return s ? handler(s) : this.errorResponse(404, 'Snapshot not found', 'not_found');
    };
  }

  private invalidRoute(): SimResponse {
    return this.errorResponse(404, 'Invalid route', 'not_found');
  }

  // ---- reads -----------------------------------------------------------------------------
  private listInstances(req: SimRequest): SimResponse {
    return this.page(
      req,
      'instances',
      [...this.instances.values()].map((i) => instanceJson(i)),
    );
  }

  /** Paginates as the API does: `page` ≥ 1, `per_page` 1…100 (default 50). */
  private page(req: SimRequest, key: string, items: unknown[]): SimResponse {
    const pageNo = req.query.page === undefined ? 1 : Number(req.query.page);
    const perPage = req.query.per_page === undefined ? DEFAULT_PER_PAGE : Number(req.query.per_page);
    if (!Number.isInteger(pageNo) || pageNo < 1)
      return this.errorResponse(400, 'page must be a positive integer', 'invalid_parameter');
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) {
      return this.errorResponse(
        400,
        `per_page must be a positive integer lower or equal to ${MAX_PER_PAGE}`,
        'invalid_parameter',
      );
    }
    // The simulator's own cap (maxPageSize) forces paging in tests; the reply says what was used.
    const size = Math.min(perPage, this.options.maxPageSize);
    const start = (pageNo - 1) * size;
    return ok({
      [key]: items.slice(start, start + size),
      total_count: items.length,
      page: pageNo,
      per_page: size,
    });
  }

  private availability(region: string, placement: string | undefined): SimResponse {
    if (!isRegion(region))
      return this.errorResponse(400, `Invalid region '${region.slice(0, 40)}'`, 'invalid_parameter');
    return ok({
      availability: {
        type: 'instances',
        region,
        placement: placement ?? 'NONE',
        instance_types: typesIn(region).map((t) => ({
          type: t.name,
          available: true,
          count: t.accelerators ? 8 : 64,
        })),
      },
    });
  }

  // ---- mutations -------------------------------------------------------------------------
  private createInstance(b: Record<string, unknown>): SimResponse {
    for (const field of ['name', 'hostname', 'type', 'image', 'region'] as const) {
      if (typeof b[field] !== 'string' || !(b[field] as string).trim()) {
        return this.errorResponse(400, `${field} is required`, 'invalid_parameter');
      }
    }
    const region = b.region as string;
    if (!isRegion(region))
      return this.errorResponse(400, `Invalid region '${region.slice(0, 40)}'`, 'invalid_parameter');
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(b.hostname as string)) {
      return this.errorResponse(400, 'hostname is not a valid host name', 'invalid_parameter');
    }
    const type = typesIn(region).find((t) => t.name === b.type);
    if (!type)
      return this.errorResponse(
        400,
        `Instance type '${String(b.type).slice(0, 60)}' is not available in ${region}`,
        'invalid_parameter',
      );
    const image = findImage(b.image as string);
    const fromSnapshot = image ? undefined : this.snapshots.get(b.image as string);
    if (!image && !(fromSnapshot && fromSnapshot.status === 'created' && fromSnapshot.region === region)) {
      return this.errorResponse(
        400,
        `Image '${String(b.image).slice(0, 60)}' not found`,
        'invalid_parameter',
      );
    }
    const sshKeys = b.ssh_keys;
    const password = b.password;
    if (sshKeys !== undefined && password !== undefined) {
      return this.errorResponse(400, 'Only one of ssh_keys or password can be provided', 'invalid_parameter');
    }
    if (sshKeys === undefined && password === undefined) {
      return this.errorResponse(400, 'One of ssh_keys or password is required', 'invalid_parameter');
    }
    if (sshKeys !== undefined && !isIdList(sshKeys, 1))
      return this.errorResponse(
        400,
        'ssh_keys must be a non-empty array of ssh key ids',
        'invalid_parameter',
      );
    if (password !== undefined && (typeof password !== 'string' || password.length < 16)) {
      return this.errorResponse(400, 'password must be at least 16 characters long', 'invalid_parameter');
    }
    const securityGroups = b.security_groups;
    if (securityGroups !== undefined && !isIdList(securityGroups, 0))
      return this.errorResponse(400, 'security_groups must be an array of ids', 'invalid_parameter');
    const volumes = b.volumes;
    if (volumes !== undefined && !isIdList(volumes, 0))
      return this.errorResponse(400, 'volumes must be an array of ids', 'invalid_parameter');
    const diskSize = b.disk_size ?? MIN_DISK_GIB;
    if (!Number.isInteger(diskSize) || (diskSize as number) < MIN_DISK_GIB) {
      return this.errorResponse(
        400,
        `disk_size must be an integer of at least ${MIN_DISK_GIB} GiB`,
        'invalid_parameter',
      );
    }
    if (b.is_protected !== undefined && typeof b.is_protected !== 'boolean')
      return this.errorResponse(400, 'is_protected must be a boolean', 'invalid_parameter');
    const metadata = b.metadata;
    let startupScript: string | undefined;
    if (metadata !== undefined) {
      if (!metadata || typeof metadata !== 'object')
        return this.errorResponse(400, 'metadata must be an object', 'invalid_parameter');
      const script = (metadata as Record<string, unknown>).startup_script;
      if (
        script !== undefined &&
        (typeof script !== 'string' || Buffer.byteLength(script) > MAX_STARTUP_SCRIPT)
      ) {
        return this.errorResponse(
          400,
          'metadata.startup_script must be a string of at most 64 KiB',
          'invalid_parameter',
        );
      }
      startupScript = script as string | undefined;
    }

    const now = new Date().toISOString();
    const instance: SimInstance = {
      id: this.uuid(),
      name: (b.name as string).trim(),
      hostname: b.hostname as string,
      type: type.name,
      region,
      placementOption: typeof b.placement_option === 'string' ? b.placement_option : 'AUTO',
      imageId: image?.id ?? (b.image as string),
      status: 'creating',
      sshKeys: ((sshKeys as string[] | undefined) ?? []).map((id) => ({ id, name: `key-${id.slice(0, 8)}` })),
      securityGroups:
        securityGroups === undefined
          ? [STANDARD_SG]
          : (securityGroups as string[]).map((id) => ({ id, name: `sg-${id.slice(0, 8)}` })),
      volumes: ((volumes as string[] | undefined) ?? []).map((id) => ({
        id,
        name: `volume-${id.slice(0, 8)}`,
      })),
      floatingIp:
        typeof b.floating_ip === 'string'
          ? { id: b.floating_ip, name: `fip-${b.floating_ip.slice(0, 8)}` }
          : null,
      isProtected: b.is_protected === true,
      privateIp: null,
      publicIp: null,
      diskSize: diskSize as number,
      createdAt: now,
      updatedAt: now,
      generation: 0,
      ...(typeof password === 'string' && { password }),
      ...(startupScript !== undefined && { startupScript }),
    };
    this.instances.set(instance.id, instance);
    const outcome = this.nextOperationOutcome();
    const gen = instance.generation;
    if (outcome !== 'stuck') {
      this.later(this.options.operationMs, () => {
        if (instance.generation !== gen) return;
        if (outcome === 'fail') return this.setStatus(instance, 'error');
        instance.privateIp = this.ip('192.168');
        instance.publicIp = this.ip('198.51');
        this.setStatus(instance, 'active');
      });
    }
    return { status: 201, body: { instance: instanceJson(instance) } };
  }

  private perform(instance: SimInstance, action: unknown): SimResponse {
    if (typeof action !== 'string' || !Object.hasOwn(ACTIONS, action)) {
      return this.errorResponse(400, "action must be one of 'start', 'stop' or 'reset'", 'invalid_parameter');
    }
    const flow = ACTIONS[action as Action];
    if (!flow.from.includes(instance.status)) {
      const allowed = allowedFrom(ACTIONS, instance.status);
      return this.errorResponse(
        409,
        `Cannot ${action} instance in status '${instance.status}' (allowed actions: ${allowed.join(', ') || 'none'})`,
        'invalid_state',
      );
    }
    this.setStatus(instance, flow.during!);
    this.finish(instance, () => this.setStatus(instance, flow.to));
    return { status: 204 };
  }

  private deleteInstance(instance: SimInstance): SimResponse {
    if (instance.isProtected) {
      return this.errorResponse(
        409,
        'Instance is protected; set is_protected to false before destroying it',
        'instance_protected',
      );
    }
    if (instance.status === 'deleting')
      return this.errorResponse(409, 'Instance is already being deleted', 'invalid_state');
    this.setStatus(instance, 'deleting');
    this.finish(instance, () => this.instances.delete(instance.id));
    return { status: 204 };
  }

  /** Ends an asynchronous change after operationMs as the fault knobs say. */
  private finish(instance: SimInstance, succeed: () => void): void {
    const outcome = this.nextOperationOutcome();
    if (outcome === 'stuck') return;
    const gen = instance.generation;
    this.later(this.options.operationMs, () => {
      if (instance.generation !== gen) return;
      if (outcome === 'ok') return succeed();
      this.setStatus(instance, 'error');
    });
  }

  private updateInstance(instance: SimInstance, b: Record<string, unknown>): SimResponse {
    if (instance.status === 'deleting')
      return this.errorResponse(409, 'Instance is being deleted', 'invalid_state');
    if (b.name !== undefined && (typeof b.name !== 'string' || !b.name.trim()))
      return this.errorResponse(400, 'name must be a non-empty string', 'invalid_parameter');
    if (b.is_protected !== undefined && typeof b.is_protected !== 'boolean')
      return this.errorResponse(400, 'is_protected must be a boolean', 'invalid_parameter');
    if (b.disk_size !== undefined) {
      if (!Number.isInteger(b.disk_size))
        return this.errorResponse(400, 'disk_size must be an integer', 'invalid_parameter');
      if ((b.disk_size as number) < instance.diskSize) {
        return this.errorResponse(
          400,
          `disk_size can only be increased (currently ${instance.diskSize} GiB)`,
          'invalid_parameter',
        );
      }
    }
    if (b.security_groups !== undefined && !isIdList(b.security_groups, 0))
      return this.errorResponse(400, 'security_groups must be an array of ids', 'invalid_parameter');
    if (b.volumes !== undefined && !isIdList(b.volumes, 0))
      return this.errorResponse(400, 'volumes must be an array of ids', 'invalid_parameter');

    if (typeof b.name === 'string') instance.name = b.name.trim();
    if (typeof b.is_protected === 'boolean') instance.isProtected = b.is_protected;
    if (typeof b.disk_size === 'number') instance.diskSize = b.disk_size;
    if (Array.isArray(b.security_groups))
      instance.securityGroups = (b.security_groups as string[]).map((id) => ({
        id,
        name: `sg-${id.slice(0, 8)}`,
      }));
    if (Array.isArray(b.volumes))
      instance.volumes = (b.volumes as string[]).map((id) => ({ id, name: `volume-${id.slice(0, 8)}` }));
    instance.updatedAt = new Date().toISOString();
    return ok({ instance: instanceJson(instance) });
  }

  private createSnapshot(instance: SimInstance, b: Record<string, unknown>): SimResponse {
    if (typeof b.name !== 'string' || !b.name.trim())
      return this.errorResponse(400, 'name is required', 'invalid_parameter');
    if (instance.status !== 'active' && instance.status !== 'stopped') {
      return this.errorResponse(
        409,
        `Cannot snapshot instance in status '${instance.status}'`,
        'invalid_state',
      );
    }
    const now = new Date().toISOString();
    const snapshot: SimSnapshot = {
      id: this.uuid(),
      name: b.name.trim(),
      size: instance.diskSize,
      resourceId: instance.id,
      region: instance.region,
      status: 'creating',
      createdAt: now,
      updatedAt: now,
    };
    this.snapshots.set(snapshot.id, snapshot);
    const outcome = this.nextOperationOutcome();
    if (outcome !== 'stuck') {
      this.later(this.options.operationMs, () => {
        snapshot.status = outcome === 'ok' ? 'created' : 'error';
        snapshot.updatedAt = new Date().toISOString();
      });
    }
    return { status: 201, body: { snapshot: snapshotJson(snapshot) } };
  }

  private deleteSnapshot(snapshot: SimSnapshot): SimResponse {
    if (snapshot.status === 'creating' || snapshot.status === 'deleting') {
      return this.errorResponse(
        409,
        `Cannot delete snapshot in status '${snapshot.status}'`,
        'invalid_state',
      );
    }
    snapshot.status = 'deleting';
    this.later(this.options.operationMs, () => this.snapshots.delete(snapshot.id));
    return { status: 204 };
  }

  // ---- helpers ---------------------------------------------------------------------------
  private setStatus(instance: SimInstance, status: Status): void {
    instance.status = status;
    instance.generation++;
    instance.updatedAt = new Date().toISOString();
  }

  private ip(prefix: string): string {
    const octet = () => 1 + Math.floor(this.random() * 253);
    return `${prefix}.${octet()}.${octet()}`;
  }

  /** The kit's seeding helper: the region's smallest CPU type on Ubuntu 24.04, as created (no labels here). */
  override seedInstances(request: SeedRequest): string[] {
    const region = request.location ?? this.defaultLocation;
    if (!isRegion(region)) throw new RangeError(`unknown region ${region}`);
    const type = typesIn(region)[0]!;
    const sshKey: Ref = { id: this.uuid(), name: 'ops-team' };
    return Array.from({ length: request.count }, (_, n) => {
      const name = `${request.namePrefix}${n}`;
      const now = new Date().toISOString();
      const instance: SimInstance = {
        id: this.uuid(),
        name,
        hostname: hostnameFrom(name),
        type: type.name,
        region,
        placementOption: 'AUTO',
        imageId: IMAGES[0]!.id,
        status: request.state === 'stopped' ? 'stopped' : 'active',
        sshKeys: [sshKey],
        securityGroups: [STANDARD_SG],
        volumes: [],
        floatingIp: null,
        isProtected: false,
        privateIp: this.ip('192.168'),
        publicIp: this.ip('198.51'),
        diskSize: MIN_DISK_GIB,
        createdAt: now,
        updatedAt: now,
        generation: 0,
      };
      this.instances.set(instance.id, instance);
      return instance.id;
    });
  }

  private seedFleet(region: Region, count: number): void {
    const types = typesIn(region).map((t) => t.name);
    const seedTypes = SEED_TYPES.filter((t) => types.includes(t));
    for (let n = 1; n <= count; n++) {
      const role = this.pick(ROLES);
      const roll = this.random();
      const status: Status =
        roll < 0.62 ? 'active' : roll < 0.92 ? 'stopped' : roll < 0.97 ? 'error' : 'pending_payment';
      const created = new Date(
        Date.UTC(2024, 0, 1) + Math.floor(this.random() * 500) * 86_400_000,
      ).toISOString();
      const name = `${role}-${String(n).padStart(2, '0')}`;
      const image = this.pick(IMAGES);
      const instance: SimInstance = {
        id: this.seededUuid(),
        name,
        hostname: name,
        type: this.pick(seedTypes.length ? seedTypes : types),
        region,
        placementOption: 'AUTO',
        imageId: image.id,
        status,
        sshKeys: [{ id: this.seededUuid(), name: 'ops-team' }],
        securityGroups: [STANDARD_SG],
        volumes: [],
        floatingIp: null,
        isProtected: this.random() < 0.15,
        privateIp: this.ip('192.168'),
        publicIp: status === 'active' ? this.ip('198.51') : null,
        diskSize: this.pick([80, 80, 128, 256]),
        createdAt: created,
        updatedAt: created,
        generation: 0,
      };
      this.instances.set(instance.id, instance);
    }
  }
}

function ok(body: unknown): SimResponse {
  return { status: 200, body };
}

function body(req: SimRequest): Record<string, unknown> {
  return req.json && typeof req.json === 'object' && !Array.isArray(req.json)
    ? (req.json as Record<string, unknown>)
    : {};
}

function isIdList(value: unknown, min: number): value is string[] {
  return (
    Array.isArray(value) && value.length >= min && value.every((v) => typeof v === 'string' && v.length > 0)
  );
}

function defaultCode(status: number): string {
  if (status === 400) return 'bad_request';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'too_many_requests';
  if (status === 503) return 'service_unavailable';
  return status >= 500 ? 'internal_error' : 'error';
}

function instanceJson(i: SimInstance): Record<string, unknown> {
  const image = IMAGES.find((x) => x.id === i.imageId);
  return {
    id: i.id,
    name: i.name,
    hostname: i.hostname,
    dns_name: `${i.hostname}.${i.region.toLowerCase()}.gcinstance.com`,
    type: i.type,
    region: i.region,
    placement_option: i.placementOption,
    image: { id: i.imageId, name: image?.name ?? 'snapshot' },
    floating_ip: i.floatingIp,
    ssh_keys: i.sshKeys,
    security_groups: i.securityGroups,
    volumes: i.volumes,
    is_protected: i.isProtected,
    status: i.status,
    private_ip: i.privateIp,
    public_ip: i.publicIp,
    disk_size: i.diskSize,
    os_type: 'linux',
    created_at: i.createdAt,
    updated_at: i.updatedAt,
  };
}

function snapshotJson(s: SimSnapshot): Record<string, unknown> {
  return {
    id: s.id,
    name: s.name,
    size: s.size,
    resource_id: s.resourceId,
    source_instance_id: s.resourceId,
    region: s.region,
    status: s.status,
    os_type: 'linux',
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

function imageJson(i: (typeof IMAGES)[number]): Record<string, unknown> {
  return {
    id: i.id,
    name: i.name,
    type: i.type,
    family: i.family,
    slug: i.slug,
    versions: i.versions,
    os_type: i.osType,
    regions: i.regions,
    created_at: i.createdAt,
    updated_at: i.createdAt,
  };
}
