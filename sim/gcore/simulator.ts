import { randomUUID } from 'node:crypto';
import {
  routeTable,
  type SeedRequest,
  type SimHandler,
  type SimRequest,
  type SimResponse,
  SimulatorBase,
  type SimulatorOptions,
  type TransitionTable,
} from '../kit/index.ts';
import {
  ENVS,
  FLAVORS,
  IMAGES,
  NAME_PREFIXES,
  PROJECTS,
  REGIONS,
  SEED_STATUSES,
  type SimFlavor,
  type SimImage,
  TEAMS,
} from './seed.ts';

/**
 * A Gcore Cloud simulator serving the real paths under `/cloud/v1|v2/...`: `APIKey` auth, the
 * `{exception_class, message, traceback, request_id}` error body, `{tasks:[…]}` answers to every
 * mutation with tasks polled at `/cloud/v1/tasks/{id}`, `{count, results}` offset pages, and the
 * lock Gcore puts on an instance while one of its tasks runs (409 to any other mutation).
 *
 * UNCONFIRMED choices (no real sample was found): the exception_class names, the exact messages,
 * 400 for validation failures, `traceback: null`, and that a stop on a SHUTOFF instance is accepted
 * (the v1 docs list Shutoff as allowed for stop) and its task then ends in ERROR.
 */

export interface GcoreSimulatorOptions extends SimulatorOptions {
  /** Answer with the pre-May-2025 field names (`instance_id`, `instance_name`, `instance_created`, `metadata`). */
  legacyFieldNames?: boolean;
}

interface MetaEntry {
  value: string;
  readOnly: boolean;
}

interface SimAddress {
  type: 'fixed' | 'floating';
  addr: string;
  interface_name?: string | null;
}

interface SimInstance {
  id: string;
  name: string;
  description: string;
  project: number;
  region: number;
  createdAt: string;
  status: string;
  vmState: string;
  taskState: string | null;
  /** The task currently holding the instance (Gcore's `task_id`). */
  taskId: string | null;
  creatorTaskId: string | null;
  flavorId: string;
  volumeIds: string[];
  floatingIds: string[];
  addresses: Record<string, SimAddress[]>;
  metadata: Map<string, MetaEntry>;
  keypairName: string | null;
}

interface SimVolume {
  id: string;
  name: string;
  size: number;
  status: string;
  bootable: boolean;
  isRoot: boolean;
  volumeType: string;
  imageId: string | null;
  instanceId: string | null;
  deleteOnTermination: boolean;
  project: number;
  region: number;
  createdAt: string;
}

interface SimSnapshot {
  id: string;
  name: string;
  description: string | null;
  status: string;
  size: number;
  volumeId: string;
  project: number;
  region: number;
  createdAt: string;
  creatorTaskId: string;
}

interface SimTask {
  id: string;
  state: 'NEW' | 'RUNNING' | 'FINISHED' | 'ERROR';
  taskType: string;
  project: number;
  region: number;
  createdOn: string;
  updatedOn: string | null;
  finishedOn: string | null;
  error: string | null;
  createdResources: Record<string, string[]> | null;
  data: unknown;
  requestId: string;
}

interface SimFloatingIp {
  id: string;
  addr: string;
  instanceId: string | null;
}

const API_KEY = '4242$d3c0f7a1b2e9485c96a1f0e2b7c4d8a5e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5';

const INSTANCE = '/cloud/v1/instances/{project}/{region}/{id}';
const INSTANCE_V2 = '/cloud/v2/instances/{project}/{region}/{id}';

interface Scope {
  project: number;
  region: number;
}

/** The vm_state Gcore reports beside each settled status. */
const VM_STATE: Readonly<Record<string, string>> = {
  ACTIVE: 'active',
  SHUTOFF: 'stopped',
  SUSPENDED: 'suspended',
};

/**
 * The instance actions (Nova's state rules, as Gcore's v1 docs state them): the statuses each may
 * start from, the status shown while its task runs (if it changes), the status it ends in, the
 * task_state and task_type Gcore reports. `powercycle` is the seed page's name for `reboot_hard`.
 * A stop on a SHUTOFF instance is accepted (the docs list Shutoff) but its task ends in ERROR.
 */
const ACTION_RULES: TransitionTable<
  'start' | 'stop' | 'reboot' | 'reboot_hard' | 'powercycle' | 'suspend' | 'resume',
  string,
  { taskState: string; taskType: string; acceptedButFails?: readonly string[] }
> = {
  start: { from: ['SHUTOFF'], to: 'ACTIVE', taskState: 'powering-on', taskType: 'start_vm' },
  stop: {
    from: ['ACTIVE', 'RESCUE'],
    to: 'SHUTOFF',
    taskState: 'powering-off',
    taskType: 'stop_vm',
    acceptedButFails: ['SHUTOFF'],
  },
  reboot: {
    from: ['ACTIVE'],
    during: 'REBOOT',
    to: 'ACTIVE',
    taskState: 'rebooting',
    taskType: 'soft_reboot_vm',
  },
  reboot_hard: {
    from: ['ACTIVE', 'SHUTOFF', 'ERROR', 'PAUSED', 'SUSPENDED'],
    during: 'HARD_REBOOT',
    to: 'ACTIVE',
    taskState: 'rebooting_hard',
    taskType: 'hard_reboot_vm',
  },
  powercycle: {
    from: ['ACTIVE', 'SHUTOFF', 'ERROR', 'PAUSED', 'SUSPENDED'],
    during: 'HARD_REBOOT',
    to: 'ACTIVE',
    taskState: 'rebooting_hard',
    taskType: 'hard_reboot_vm',
  },
  suspend: { from: ['ACTIVE', 'SHUTOFF'], to: 'SUSPENDED', taskState: 'suspending', taskType: 'suspend_vm' },
  resume: { from: ['SUSPENDED'], to: 'ACTIVE', taskState: 'resuming', taskType: 'resume_vm' },
};
type SimAction = keyof typeof ACTION_RULES;
/** What the v2 action endpoint accepts, and the deprecated v1 per-action endpoints. */
const V2_ACTIONS: readonly SimAction[] = [
  'start',
  'stop',
  'reboot',
  'reboot_hard',
  'powercycle',
  'suspend',
  'resume',
];
const V1_ACTIONS: readonly SimAction[] = ['start', 'stop', 'reboot', 'powercycle', 'suspend', 'resume'];

/** Gcore's task timestamps: `2019-06-25T08:42:42` (UTC, no zone). */
function taskTime(ms = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 19);
}
/** Gcore's resource timestamps: `2019-07-11T06:58:48+0000`. */
function resourceTime(ms = Date.now()): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+0000`;
}

export class GcoreSimulator extends SimulatorBase {
  readonly provider = 'gcore' as const;
  readonly credentials = { apiKey: API_KEY };
  readonly defaultLocation = '1/76';

  private readonly legacy: boolean;
  private readonly instances = new Map<string, SimInstance>();
  private readonly volumes = new Map<string, SimVolume>();
  private readonly snapshots = new Map<string, SimSnapshot>();
  private readonly tasks = new Map<string, SimTask>();
  private readonly floatingIps = new Map<string, SimFloatingIp>();
  private ipCounter = 10;

  constructor(options: GcoreSimulatorOptions = {}) {
    super(options);
    this.legacy = options.legacyFieldNames ?? false;
    this.seedFleet();
  }

  endpoint(_location?: string): string {
    return this.origin;
  }

  // ---- authentication and errors -----------------------------------------------------------
  protected authenticate(req: SimRequest): SimResponse | undefined {
    const header = req.headers.authorization;
    if (!header)
      return this.errorResponse(401, 'Authentication credentials were not provided.', 'NotAuthenticated');
    const match = /^(\S+)\s+(.+)$/.exec(header.trim());
    if (!match || match[1]!.toLowerCase() !== 'apikey') {
      // Gcore also takes IAM JWTs as `Bearer`; this simulator issues none, so any is invalid.
      return this.errorResponse(401, 'Invalid token header. Use "APIKey <token>".', 'AuthenticationFailed');
    }
    if (match[2] !== API_KEY) return this.errorResponse(401, 'Invalid API key.', 'AuthenticationFailed');
    return undefined;
  }

  protected errorResponse(status: number, message: string, code?: string): SimResponse {
    const requestId = randomUUID();
    return {
      status,
      headers: { 'x-request-id': requestId },
      // The kit passes its own kebab-case codes (`rate-limited`); Gcore's are Python class names.
      body: {
        exception_class: code && /^[A-Z][A-Za-z]+$/.test(code) ? code : defaultClass(status),
        message,
        traceback: null,
        request_id: requestId,
      },
    };
  }

  // ---- routing -----------------------------------------------------------------------------
  // Everything but tasks is scoped to /{project_id}/{region_id} (both integers, checked first).
  private readonly routes = routeTable<SimHandler>({
    'GET /cloud/v1/tasks/{id}': (_req, p) => this.getTask(p.id!),
    'GET /cloud/v1/flavors/{project}/{region}': this.scoped(() => this.page(FLAVORS)),
    'GET /cloud/v1/images/{project}/{region}': this.scoped(() => this.page(IMAGES)),
    'GET /cloud/v1/volumes/{project}/{region}': this.scoped((req, s) => this.listVolumes(req, s)),
    'GET /cloud/v1/volumes/{project}/{region}/{id}': this.scoped((_req, s, p) => this.getVolume(s, p.id!)),
    'GET /cloud/v1/snapshots/{project}/{region}': this.scoped((req, s) => this.listSnapshots(req, s)),
    'POST /cloud/v1/snapshots/{project}/{region}': this.scoped((req, s) => this.createSnapshot(req, s)),
    'GET /cloud/v1/snapshots/{project}/{region}/{id}': this.scoped((_req, s, p) =>
      this.getSnapshot(s, p.id!),
    ),
    'GET /cloud/v1/instances/{project}/{region}': this.scoped((req, s) => this.listInstances(req, s)),
    'POST /cloud/v2/instances/{project}/{region}': this.scoped((req, s) => this.createInstance(req, s)),
    [`GET ${INSTANCE}`]: this.onInstance((_req, inst) => this.ok(this.renderInstance(inst))),
    [`PATCH ${INSTANCE}`]: this.onInstance((req, inst) => this.rename(req, inst)),
    [`DELETE ${INSTANCE}`]: this.onInstance((req, inst) => this.deleteInstance(req, inst)),
    [`POST ${INSTANCE_V2}/action`]: this.onInstance((req, inst) => this.actionV2(req, inst)),
    // The deprecated v1 action endpoints answer with the instance instead of tasks.
    ...Object.fromEntries(V1_ACTIONS.map((action) => [`POST ${INSTANCE}/${action}`, this.actionV1(action)])),
    [`POST ${INSTANCE}/changeflavor`]: this.onInstance((req, inst) => this.changeFlavor(req, inst)),
    [`GET ${INSTANCE}/available_flavors`]: this.onInstance((_req, inst) =>
      this.page(FLAVORS.filter((f) => f.flavor_id !== inst.flavorId)),
    ),
    [`POST ${INSTANCE}/metrics`]: this.onInstance((req, inst) => this.metrics(req, inst.id)),
    [`GET ${INSTANCE}/metadata`]: this.onInstance((_req, inst) => this.page(metadataList(inst))),
    [`POST ${INSTANCE}/metadata`]: this.onInstance((req, inst) => this.setMetadata(req, inst, false)),
    [`PUT ${INSTANCE}/metadata`]: this.onInstance((req, inst) => this.setMetadata(req, inst, true)),
    [`GET ${INSTANCE}/metadata/{key}`]: this.onInstance((_req, inst, p) =>
      this.getMetadataItem(inst, p.key!),
    ),
    [`DELETE ${INSTANCE}/metadata/{key}`]: this.onInstance((_r, inst, p) =>
      this.deleteMetadataItem(inst, p.key!),
    ),
    [`GET ${INSTANCE_V2}/metadata_item`]: this.onInstance((req, inst) => this.metadataItem(req, inst)),
    [`DELETE ${INSTANCE_V2}/metadata_item`]: this.onInstance((req, inst) => this.metadataItem(req, inst)),
  });

  /** Get Instance Metrics is a POST that changes nothing. */
  protected override isMutation(req: SimRequest): boolean {
    return req.method !== 'GET' && !req.path.replace(/\/+$/, '').endsWith('/metrics');
  }

  protected route(req: SimRequest): SimResponse | Promise<SimResponse> {
    return this.dispatch(this.routes, req, req.path.replace(/\/+$/, ''));
  }

  protected override notFound(req: SimRequest): SimResponse {
    return this.errorResponse(404, `The requested URL ${req.path} was not found on this server.`, 'NotFound');
  }

  protected override methodNotAllowed(req: SimRequest): SimResponse {
    return this.errorResponse(405, `Method "${req.method}" not allowed.`, 'MethodNotAllowed');
  }

  private actionV1(action: SimAction): SimHandler {
    return this.onInstance((_req, inst) => {
      const started = this.runAction(inst, action);
      return 'task' in started ? this.ok(this.renderInstance(inst)) : started.error;
    });
  }

  /** A handler under /{project}/{region}: both integers, both known, before anything else. */
  private scoped(
    handler: (req: SimRequest, scope: Scope, params: Readonly<Record<string, string>>) => SimResponse,
  ): SimHandler {
    return (req, params) => {
      if (!/^\d+$/.test(params.project!) || !/^\d+$/.test(params.region!)) return this.notFound(req);
      const scope = { project: Number(params.project), region: Number(params.region) };
      return this.checkScope(scope.project, scope.region) ?? handler(req, scope, params);
    };
  }

  /** A handler on one instance of the scope; 404 InstanceNotFound when it is not there. */
  private onInstance(
    handler: (req: SimRequest, inst: SimInstance, params: Readonly<Record<string, string>>) => SimResponse,
  ): SimHandler {
    return this.scoped((req, scope, params) => {
      const inst = this.findInstance(scope.project, scope.region, params.id!);
      if (!inst) return this.errorResponse(404, `Instance ${params.id} not found`, 'InstanceNotFound');
      return handler(req, inst, params);
    });
  }

  // ---- tasks and locks ---------------------------------------------------------------------
  private getTask(id: string): SimResponse {
    const task = this.tasks.get(id);
    if (!task) return this.errorResponse(404, `Task ${id} not found`, 'TaskNotFound');
    return this.ok({
      id: task.id,
      state: task.state,
      task_type: task.taskType,
      user_id: 7,
      client_id: 1,
      user_client_id: 1,
      project_id: task.project,
      region_id: task.region,
      created_on: task.createdOn,
      updated_on: task.updatedOn,
      finished_on: task.finishedOn,
      error: task.error,
      data: task.data,
      detailed_state: null,
      request_id: task.requestId,
      job_id: null,
      acknowledged_at: null,
      acknowledged_by: null,
      lifecycle_policy_id: null,
      schedule_id: null,
      created_resources: task.createdResources,
    });
  }

  /** A 409 while another task holds the instance, as Gcore answers. */
  private lockedResponse(inst: SimInstance): SimResponse | undefined {
    if (!inst.taskId) return undefined;
    const holder = this.tasks.get(inst.taskId);
    if (!holder || holder.state === 'FINISHED' || holder.state === 'ERROR') return undefined;
    return this.errorResponse(
      409,
      `Instance ${inst.id} is locked by a running task ${holder.id} (${holder.taskType}). Try again later.`,
      'ResourceLockedByTask',
    );
  }

  /**
   * Starts a task: NEW, RUNNING after a quarter of its time, then FINISHED (running `finish`) or
   * ERROR (running `revert`) as the fault knobs decide; a stuck task stays RUNNING and keeps its lock.
   */
  private runTask(
    spec: {
      type: string;
      project: number;
      region: number;
      data?: unknown;
      instance?: SimInstance;
      forceError?: string;
    },
    finish: () => Record<string, string[]> | null,
    revert: () => void,
  ): SimTask {
    const now = Date.now();
    const task: SimTask = {
      id: this.uuid(),
      state: 'NEW',
      taskType: spec.type,
      project: spec.project,
      region: spec.region,
      createdOn: taskTime(now),
      updatedOn: null,
      finishedOn: null,
      error: null,
      createdResources: null,
      data: spec.data ?? null,
      requestId: randomUUID(),
    };
    this.tasks.set(task.id, task);
    const inst = spec.instance;
    if (inst) inst.taskId = task.id;
    const duration = Math.max(this.options.operationMs, this.options.transitionMs);
    const outcome = this.nextOperationOutcome();
    this.later(Math.floor(duration / 4), () => {
      if (task.state === 'NEW') {
        task.state = 'RUNNING';
        task.updatedOn = taskTime();
      }
    });
    if (outcome === 'stuck') return task;
    this.later(duration, () => {
      if (outcome === 'ok' && !spec.forceError) {
        task.createdResources = finish();
        task.state = 'FINISHED';
      } else {
        revert();
        task.state = 'ERROR';
        task.error = spec.forceError ?? `${spec.type} failed: simulated error on the compute host`;
      }
      task.updatedOn = task.finishedOn = taskTime();
      if (inst && inst.taskId === task.id) {
        inst.taskState = null;
      }
    });
    return task;
  }

  private tasksResponse(...tasks: SimTask[]): SimResponse {
    return this.ok({ tasks: tasks.map((t) => t.id) });
  }

  // ---- instances ---------------------------------------------------------------------------
  private listInstances(req: SimRequest, { project, region }: Scope): SimResponse {
    const q = req.query;
    let items = [...this.instances.values()].filter((i) => i.project === project && i.region === region);
    const limit = this.intParam(q.limit);
    const offset = this.intParam(q.offset);
    if (limit === null || offset === null)
      return this.errorResponse(400, 'limit and offset must be non-negative integers', 'ValidationError');
    if (q.name !== undefined) {
      // MySQL REGEXP semantics: a pattern, case-insensitive; a plain substring matches too.
      let re: RegExp | undefined;
      try {
        re = new RegExp(q.name, 'i');
      } catch {
        re = undefined;
      }
      items = items.filter((i) =>
        re ? re.test(i.name) : i.name.toLowerCase().includes(q.name!.toLowerCase()),
      );
    }
    if (q.status !== undefined) items = items.filter((i) => i.status === q.status);
    if (q.uuid !== undefined) items = items.filter((i) => i.id.includes(q.uuid!));
    if (q.flavor_id !== undefined) items = items.filter((i) => i.flavorId === q.flavor_id);
    if (q.flavor_prefix !== undefined) items = items.filter((i) => i.flavorId.startsWith(q.flavor_prefix!));
    for (const param of ['metadata_kv', 'tag_key_value'] as const) {
      if (q[param] === undefined) continue;
      let wanted: unknown;
      try {
        wanted = JSON.parse(q[param]!);
      } catch {
        wanted = undefined;
      }
      if (!wanted || typeof wanted !== 'object' || Array.isArray(wanted)) {
        return this.errorResponse(400, `${param} must be a valid JSON object`, 'ValidationError');
      }
      const pairs = Object.entries(wanted as Record<string, unknown>);
      items = items.filter((i) => pairs.every(([k, v]) => i.metadata.get(k)?.value === String(v)));
    }
    if (q.metadata_v !== undefined) {
      let values: unknown;
      try {
        values = JSON.parse(q.metadata_v);
      } catch {
        values = undefined;
      }
      if (!Array.isArray(values))
        return this.errorResponse(400, 'metadata_v must be a valid JSON list', 'ValidationError');
      items = items.filter((i) =>
        values.some((v) => [...i.metadata.values()].some((e) => e.value === String(v))),
      );
    }
    const order = q.order_by ?? 'created.asc';
    const [field, dir] = order.split('.');
    items.sort((x, y) => {
      const cmp =
        field === 'name'
          ? x.name.localeCompare(y.name)
          : x.createdAt.localeCompare(y.createdAt) || x.id.localeCompare(y.id);
      return dir === 'desc' ? -cmp : cmp;
    });
    const size = Math.min(limit ?? 1000, this.options.maxPageSize);
    const start = offset ?? 0;
    return this.ok({
      count: items.length,
      results: items.slice(start, start + size).map((i) => this.renderInstance(i)),
    });
  }

  /**
   * Get Instance Metrics: `{time_interval, time_unit: "hour" | "day"}` → `{count, results}`, one
   * point per metrics step back from now (none before the instance existed), from the load knob.
   * UNCONFIRMED: Gcore's sampling step and its `time` format (rendered here as ISO 8601 UTC).
   */
  private metrics(req: SimRequest, id: string): SimResponse {
    const body = req.json;
    if (!isObject(body))
      return this.errorResponse(400, 'Request body must be a JSON object', 'ValidationError');
    const interval = body.time_interval;
    const unit = body.time_unit;
    if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 1)
      return this.errorResponse(400, 'time_interval: Input should be a positive integer', 'ValidationError');
    if (unit !== 'hour' && unit !== 'day')
      return this.errorResponse(400, "time_unit: Input should be 'day' or 'hour'", 'ValidationError');
    const now = Date.now();
    const from = now - interval * (unit === 'hour' ? 3_600_000 : 86_400_000);
    const points = this.load.series(id, from, now, this.options.metricsStepMs);
    return this.ok({
      count: points.length,
      results: points.map(({ t, load }) => ({
        time: new Date(t).toISOString(),
        cpu_util: load.cpuPercent,
        memory_util: 38.5,
        network_Bps_ingress: Math.round(load.networkKBps * 1024 * 0.6),
        network_Bps_egress: Math.round(load.networkKBps * 1024 * 0.4),
        network_pps_ingress: Math.round(load.networkKBps * 0.9),
        network_pps_egress: Math.round(load.networkKBps * 0.6),
        disks: [
          { disk_name: 'vda', disk_Bps_read: 0, disk_Bps_write: 512, disk_iops_read: 0, disk_iops_write: 1 },
        ],
      })),
    });
  }

  private createInstance(req: SimRequest, { project, region }: Scope): SimResponse {
    const body = req.json;
    if (!isObject(body))
      return this.errorResponse(400, 'Request body must be a JSON object', 'ValidationError');
    const flavor = FLAVORS.find((f) => f.flavor_id === body.flavor);
    if (typeof body.flavor !== 'string')
      return this.errorResponse(400, 'flavor: Field required', 'ValidationError');
    if (!flavor || flavor.disabled)
      return this.errorResponse(404, `Flavor ${body.flavor} not found`, 'FlavorNotFound');
    const name = body.name ?? (Array.isArray(body.names) ? body.names[0] : undefined);
    if (typeof name !== 'string' || !name || name.length > 255) {
      return this.errorResponse(
        400,
        'name: String should have at least 1 and at most 255 characters',
        'ValidationError',
      );
    }
    if (!Array.isArray(body.interfaces) || body.interfaces.length === 0) {
      return this.errorResponse(400, 'interfaces: List should have at least 1 item', 'ValidationError');
    }
    for (const itf of body.interfaces) {
      if (
        !isObject(itf) ||
        !['external', 'subnet', 'any_subnet', 'reserved_fixed_ip'].includes(String(itf.type))
      ) {
        return this.errorResponse(
          400,
          `interfaces: unknown interface type ${JSON.stringify(isObject(itf) ? itf.type : itf)}`,
          'ValidationError',
        );
      }
      if (itf.type !== 'external') {
        // This account has no private networks or reserved IPs in the simulator.
        const ref = itf.network_id ?? itf.port_id ?? '';
        return this.errorResponse(404, `Network ${String(ref)} not found`, 'NetworkNotFound');
      }
    }
    if (!Array.isArray(body.volumes) || body.volumes.length === 0) {
      return this.errorResponse(400, 'volumes: List should have at least 1 item', 'ValidationError');
    }
    const boots = body.volumes.filter((v) => isObject(v) && v.boot_index === 0);
    if (
      boots.length !== 1 &&
      !(body.volumes.length === 1 && isObject(body.volumes[0]) && body.volumes[0].source === 'image')
    ) {
      return this.errorResponse(400, 'volumes: exactly one volume must have boot_index 0', 'ValidationError');
    }
    const volumeSpecs: Array<{
      size: number;
      image: SimImage | null;
      boot: boolean;
      name?: string;
      type: string;
      dot: boolean;
    }> = [];
    for (const v of body.volumes) {
      if (!isObject(v))
        return this.errorResponse(400, 'volumes: each volume must be an object', 'ValidationError');
      const type = typeof v.type_name === 'string' ? v.type_name : 'standard';
      if (!['standard', 'ssd_hiiops', 'ssd_local', 'ssd_lowlatency', 'cold', 'ultra'].includes(type)) {
        return this.errorResponse(400, `volumes: unknown type_name ${type}`, 'ValidationError');
      }
      const boot = v.boot_index === 0 || body.volumes.length === 1;
      const dot = v.delete_on_termination === true;
      const volName = typeof v.name === 'string' ? v.name : undefined;
      if (v.source === 'image') {
        const image = IMAGES.find((i) => i.id === v.image_id);
        if (!image) return this.errorResponse(404, `Image ${String(v.image_id)} not found`, 'ImageNotFound');
        const size = typeof v.size === 'number' ? v.size : image.min_disk;
        if (!Number.isInteger(size) || size < image.min_disk) {
          return this.errorResponse(
            400,
            `Volume size ${size} GiB is smaller than the image's min_disk ${image.min_disk} GiB`,
            'ValidationError',
          );
        }
        volumeSpecs.push({ size, image, boot, type, dot, ...(volName && { name: volName }) });
      } else if (v.source === 'new-volume') {
        if (typeof v.size !== 'number' || !Number.isInteger(v.size) || v.size < 1) {
          return this.errorResponse(400, 'volumes: size must be a positive integer', 'ValidationError');
        }
        volumeSpecs.push({ size: v.size, image: null, boot, type, dot, ...(volName && { name: volName }) });
      } else if (v.source === 'snapshot' || v.source === 'existing-volume' || v.source === 'apptemplate') {
        const ref = v.snapshot_id ?? v.volume_id ?? v.apptemplate_id;
        return this.errorResponse(404, `${String(v.source)} ${String(ref)} not found`, 'ResourceNotFound');
      } else {
        return this.errorResponse(
          400,
          `volumes: unknown source ${JSON.stringify(v.source)}`,
          'ValidationError',
        );
      }
    }
    if (body.user_data !== undefined && (typeof body.user_data !== 'string' || !isBase64(body.user_data))) {
      return this.errorResponse(400, 'user_data must be base64-encoded', 'ValidationError');
    }
    const tags: Record<string, string> = {};
    if (body.tags !== undefined) {
      if (!isObject(body.tags))
        return this.errorResponse(400, 'tags must be an object of strings', 'ValidationError');
      for (const [k, v] of Object.entries(body.tags)) {
        if (typeof v !== 'string' || k.length > 255 || v.length > 255) {
          return this.errorResponse(400, `tags: invalid value for key ${k}`, 'ValidationError');
        }
        tags[k] = v;
      }
    }

    const id = this.uuid();
    const bootImage = volumeSpecs.find((v) => v.boot)?.image ?? null;
    const inst: SimInstance = {
      id,
      name,
      description: '',
      project,
      region,
      createdAt: resourceTime(),
      status: 'BUILD',
      vmState: 'building',
      taskState: 'spawning',
      taskId: null,
      creatorTaskId: null,
      flavorId: flavor.flavor_id,
      volumeIds: [],
      floatingIds: [],
      addresses: {},
      metadata: this.systemMetadata(bootImage),
      keypairName: typeof body.ssh_key_name === 'string' ? body.ssh_key_name : null,
    };
    for (const [k, v] of Object.entries(tags)) inst.metadata.set(k, { value: v, readOnly: false });
    for (const itf of body.interfaces as Array<Record<string, unknown>>) {
      const family = String(itf.ip_family ?? 'ipv4');
      inst.addresses.external ??= [];
      const list = inst.addresses.external;
      const ifName = typeof itf.interface_name === 'string' ? itf.interface_name : null;
      if (family !== 'ipv6') list.push({ type: 'fixed', addr: this.nextIpv4(), interface_name: ifName });
      if (family !== 'ipv4') list.push({ type: 'fixed', addr: this.nextIpv6(), interface_name: ifName });
      if (isObject(itf.floating_ip) && itf.floating_ip.source === 'new') {
        const fip: SimFloatingIp = { id: this.uuid(), addr: this.nextIpv4(), instanceId: id };
        this.floatingIps.set(fip.id, fip);
        inst.floatingIds.push(fip.id);
        list.push({ type: 'floating', addr: fip.addr });
      }
    }
    for (const [n, spec] of volumeSpecs.entries()) {
      const vol: SimVolume = {
        id: this.uuid(),
        name: spec.name ?? `${name}-${spec.boot ? 'boot' : 'data'}-${n}`,
        size: spec.size,
        status: 'creating',
        bootable: spec.image !== null,
        isRoot: spec.boot,
        volumeType: spec.type,
        imageId: spec.image?.id ?? null,
        instanceId: id,
        deleteOnTermination: spec.dot,
        project,
        region,
        createdAt: resourceTime(),
      };
      this.volumes.set(vol.id, vol);
      inst.volumeIds.push(vol.id);
    }
    this.instances.set(id, inst);
    this.load.begin(id);
    const task = this.runTask(
      { type: 'create_vm', project, region, instance: inst, data: { flavor: flavor.flavor_id, name } },
      () => {
        inst.status = 'ACTIVE';
        inst.vmState = 'active';
        for (const v of inst.volumeIds) this.volumes.get(v)!.status = 'in-use';
        return { instances: [id], volumes: [...inst.volumeIds], floatingips: [...inst.floatingIds] };
      },
      () => {
        inst.status = 'ERROR';
        inst.vmState = 'error';
        inst.taskState = null;
        for (const v of inst.volumeIds) this.volumes.get(v)!.status = 'in-use';
      },
    );
    inst.creatorTaskId = task.id;
    return this.tasksResponse(task);
  }

  private rename(req: SimRequest, inst: SimInstance): SimResponse {
    const body = req.json;
    if (!isObject(body) || typeof body.name !== 'string' || !body.name) {
      return this.errorResponse(400, 'name: Field required', 'ValidationError');
    }
    inst.name = body.name;
    return this.ok(this.renderInstance(inst));
  }

  private actionV2(req: SimRequest, inst: SimInstance): SimResponse {
    const body = req.json;
    const action = isObject(body) ? body.action : undefined;
    if (typeof action !== 'string' || !(V2_ACTIONS as readonly string[]).includes(action)) {
      return this.errorResponse(
        400,
        `action: Input should be 'start', 'stop', 'reboot', 'reboot_hard', 'suspend' or 'resume'`,
        'ValidationError',
      );
    }
    const started = this.runAction(inst, action as SimAction);
    return 'task' in started ? this.tasksResponse(started.task) : started.error;
  }

  /** The state rules of the action (ACTION_RULES), then its task. */
  private runAction(inst: SimInstance, action: SimAction): { task: SimTask } | { error: SimResponse } {
    const locked = this.lockedResponse(inst);
    if (locked) return { error: locked };
    const rule = ACTION_RULES[action];
    const failing = rule.acceptedButFails?.includes(inst.status) ?? false;
    if (!rule.from.includes(inst.status) && !failing) {
      return {
        error: this.errorResponse(
          409,
          `Cannot '${action}' instance ${inst.id} while it is in vm_state ${inst.vmState}`,
          'InstanceInvalidState',
        ),
      };
    }
    const before = { status: inst.status, vmState: inst.vmState };
    if (rule.during && !failing) inst.status = rule.during;
    inst.taskState = rule.taskState;
    const task = this.runTask(
      {
        type: rule.taskType,
        project: inst.project,
        region: inst.region,
        instance: inst,
        data: { action },
        // Accepted, but the compute service refuses it: the task errors.
        ...(failing && {
          forceError: `Instance ${inst.id} is already ${before.vmState} (vm_state ${before.vmState})`,
        }),
      },
      () => this.become(inst, rule.to, VM_STATE[rule.to]!),
      () => this.become(inst, before.status, before.vmState),
    );
    return { task };
  }

  private become(inst: SimInstance, status: string, vmState: string): null {
    inst.status = status;
    inst.vmState = vmState;
    return null;
  }

  private changeFlavor(req: SimRequest, inst: SimInstance): SimResponse {
    const body = req.json;
    const flavorId = isObject(body) ? body.flavor_id : undefined;
    if (typeof flavorId !== 'string')
      return this.errorResponse(400, 'flavor_id: Field required', 'ValidationError');
    const flavor = FLAVORS.find((f) => f.flavor_id === flavorId);
    if (!flavor || flavor.disabled)
      return this.errorResponse(404, `Flavor ${flavorId} not found`, 'FlavorNotFound');
    const locked = this.lockedResponse(inst);
    if (locked) return locked;
    if (flavor.flavor_id === inst.flavorId) {
      return this.errorResponse(400, `Instance ${inst.id} already has flavor ${flavorId}`, 'ValidationError');
    }
    if (inst.status !== 'ACTIVE' && inst.status !== 'SHUTOFF') {
      return this.errorResponse(
        409,
        `Cannot 'resize' instance ${inst.id} while it is in vm_state ${inst.vmState}`,
        'InstanceInvalidState',
      );
    }
    const before = { status: inst.status, vmState: inst.vmState };
    inst.status = 'RESIZE';
    inst.taskState = 'resize_prep';
    const task = this.runTask(
      {
        type: 'resize_vm',
        project: inst.project,
        region: inst.region,
        instance: inst,
        data: { flavor_id: flavorId },
      },
      () => {
        inst.flavorId = flavor.flavor_id;
        return this.become(inst, before.status, before.vmState);
      },
      () => this.become(inst, before.status, before.vmState),
    );
    return this.tasksResponse(task);
  }

  private deleteInstance(req: SimRequest, inst: SimInstance): SimResponse {
    const locked = this.lockedResponse(inst);
    if (locked) return locked;
    const list = (v?: string) =>
      v
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : [];
    const volumes = list(req.query.volumes);
    for (const v of volumes) {
      if (!inst.volumeIds.includes(v)) {
        return this.errorResponse(
          400,
          `Volume ${v} is not attached to instance ${inst.id}`,
          'ValidationError',
        );
      }
    }
    const floatings = list(req.query.floatings);
    for (const f of floatings) {
      if (!inst.floatingIds.includes(f)) {
        return this.errorResponse(
          400,
          `Floating IP ${f} is not attached to instance ${inst.id}`,
          'ValidationError',
        );
      }
    }
    const deleteFloatings = req.query.delete_floatings === 'true';
    inst.taskState = 'deleting';
    const task = this.runTask(
      {
        type: 'delete_vm',
        project: inst.project,
        region: inst.region,
        instance: inst,
        data: { ...req.query },
      },
      () => {
        this.instances.delete(inst.id);
        for (const id of inst.volumeIds) {
          const vol = this.volumes.get(id)!;
          if (vol.deleteOnTermination || volumes.includes(id)) this.volumes.delete(id);
          else Object.assign(vol, { instanceId: null, status: 'available' });
        }
        for (const id of inst.floatingIds) {
          if (deleteFloatings || floatings.includes(id)) this.floatingIps.delete(id);
          else this.floatingIps.get(id)!.instanceId = null;
        }
        return null;
      },
      () => undefined,
    );
    return this.tasksResponse(task);
  }

  // ---- metadata ----------------------------------------------------------------------------
  /** v2's metadata_item?key=…: GET or DELETE one key. */
  private metadataItem(req: SimRequest, inst: SimInstance): SimResponse {
    const key = req.query.key;
    if (!key) return this.errorResponse(400, 'Query parameter key is required', 'ValidationError');
    return req.method === 'GET' ? this.getMetadataItem(inst, key) : this.deleteMetadataItem(inst, key);
  }

  private setMetadata(req: SimRequest, inst: SimInstance, replace: boolean): SimResponse {
    const body = req.json;
    if (!isObject(body))
      return this.errorResponse(400, 'Request body must be an object of key-value pairs', 'ValidationError');
    for (const [k, v] of Object.entries(body)) {
      if (typeof v !== 'string' || !k || k.length > 255 || v.length > 255) {
        return this.errorResponse(
          400,
          `Metadata ${k}: key and value must be strings of 1 to 255 characters`,
          'ValidationError',
        );
      }
      if (inst.metadata.get(k)?.readOnly)
        return this.errorResponse(400, `Metadata key ${k} is read-only`, 'ValidationError');
    }
    if (replace) for (const [k, e] of [...inst.metadata]) if (!e.readOnly) inst.metadata.delete(k);
    for (const [k, v] of Object.entries(body)) inst.metadata.set(k, { value: v as string, readOnly: false });
    return { status: 204 };
  }

  private getMetadataItem(inst: SimInstance, key: string): SimResponse {
    const entry = inst.metadata.get(key);
    if (!entry) return this.errorResponse(404, `Metadata key ${key} not found`, 'MetadataNotFound');
    return this.ok({ key, value: entry.value, read_only: entry.readOnly });
  }

  private deleteMetadataItem(inst: SimInstance, key: string): SimResponse {
    const entry = inst.metadata.get(key);
    if (!entry) return this.errorResponse(404, `Metadata key ${key} not found`, 'MetadataNotFound');
    if (entry.readOnly) return this.errorResponse(400, `Metadata key ${key} is read-only`, 'ValidationError');
    inst.metadata.delete(key);
    return { status: 204 };
  }

  // ---- volumes and snapshots ---------------------------------------------------------------
  private listVolumes(req: SimRequest, { project, region }: Scope): SimResponse {
    let items = [...this.volumes.values()].filter((v) => v.project === project && v.region === region);
    if (req.query.instance_id !== undefined)
      items = items.filter((v) => v.instanceId === req.query.instance_id);
    if (req.query.bootable !== undefined)
      items = items.filter((v) => String(v.bootable) === req.query.bootable);
    return this.paged(
      req,
      items.map((v) => this.renderVolume(v)),
    );
  }

  private getVolume({ project, region }: Scope, id: string): SimResponse {
    const vol = this.volumes.get(id);
    if (!vol || vol.project !== project || vol.region !== region)
      return this.errorResponse(404, `Volume ${id} not found`, 'VolumeNotFound');
    return this.ok(this.renderVolume(vol));
  }

  private createSnapshot(req: SimRequest, { project, region }: Scope): SimResponse {
    const body = req.json;
    if (!isObject(body))
      return this.errorResponse(400, 'Request body must be a JSON object', 'ValidationError');
    if (typeof body.volume_id !== 'string')
      return this.errorResponse(400, 'volume_id: Field required', 'ValidationError');
    if (typeof body.name !== 'string' || !body.name || body.name.length > 63) {
      return this.errorResponse(
        400,
        'name: String should have at least 1 and at most 63 characters',
        'ValidationError',
      );
    }
    const vol = this.volumes.get(body.volume_id);
    if (!vol || vol.project !== project || vol.region !== region) {
      return this.errorResponse(404, `Volume ${body.volume_id} not found`, 'VolumeNotFound');
    }
    const snap: SimSnapshot = {
      id: this.uuid(),
      name: body.name,
      description: typeof body.description === 'string' ? body.description : null,
      status: 'creating',
      size: vol.size,
      volumeId: vol.id,
      project,
      region,
      createdAt: resourceTime(),
      creatorTaskId: '',
    };
    this.snapshots.set(snap.id, snap);
    const task = this.runTask(
      { type: 'create_snapshot', project, region, data: { volume_id: vol.id, name: snap.name } },
      () => {
        snap.status = 'available';
        return { snapshots: [snap.id] };
      },
      () => {
        snap.status = 'error';
      },
    );
    snap.creatorTaskId = task.id;
    return this.tasksResponse(task);
  }

  private listSnapshots(req: SimRequest, { project, region }: Scope): SimResponse {
    let items = [...this.snapshots.values()].filter((s) => s.project === project && s.region === region);
    if (req.query.volume_id !== undefined) items = items.filter((s) => s.volumeId === req.query.volume_id);
    return this.paged(
      req,
      items.map((s) => this.renderSnapshot(s)),
    );
  }

  private getSnapshot({ project, region }: Scope, id: string): SimResponse {
    const snap = this.snapshots.get(id);
    if (!snap || snap.project !== project || snap.region !== region) {
      return this.errorResponse(404, `Snapshot ${id} not found`, 'SnapshotNotFound');
    }
    return this.ok(this.renderSnapshot(snap));
  }

  // ---- rendering ---------------------------------------------------------------------------
  private renderInstance(inst: SimInstance): Record<string, unknown> {
    const flavor = FLAVORS.find((f) => f.flavor_id === inst.flavorId) as SimFlavor;
    const common = {
      instance_description: inst.description,
      status: inst.status,
      vm_state: inst.vmState,
      task_state: inst.taskState,
      task_id: inst.taskId && this.isRunning(inst.taskId) ? inst.taskId : null,
      creator_task_id: inst.creatorTaskId,
      flavor: {
        flavor_id: flavor.flavor_id,
        flavor_name: flavor.flavor_name,
        vcpus: flavor.vcpus,
        ram: flavor.ram,
        architecture: flavor.architecture,
        os_type: flavor.os_type,
        hardware_description: flavor.hardware_description,
      },
      volumes: inst.volumeIds.map((id) => ({
        id,
        delete_on_termination: this.volumes.get(id)?.deleteOnTermination ?? false,
      })),
      addresses: inst.addresses,
      security_groups: [{ name: 'default' }],
      keypair_name: inst.keypairName,
      blackhole_ports: [],
      fixed_ip_assignments: null,
      instance_isolation: null,
      ddos_profile: null,
      project_id: inst.project,
      region_id: inst.region,
      region: REGIONS[inst.region],
    };
    if (this.legacy) {
      return {
        instance_id: inst.id,
        instance_name: inst.name,
        instance_created: inst.createdAt,
        ...common,
        metadata: Object.fromEntries([...inst.metadata].map(([k, e]) => [k, e.value])),
        metadata_detailed: metadataList(inst),
      };
    }
    return { id: inst.id, name: inst.name, created_at: inst.createdAt, ...common, tags: metadataList(inst) };
  }

  private renderVolume(vol: SimVolume): Record<string, unknown> {
    const inst = vol.instanceId ? this.instances.get(vol.instanceId) : undefined;
    const image = vol.imageId ? IMAGES.find((i) => i.id === vol.imageId) : undefined;
    return {
      id: vol.id,
      name: vol.name,
      size: vol.size,
      status: vol.status,
      bootable: vol.bootable,
      is_root_volume: vol.isRoot,
      volume_type: vol.volumeType,
      attachments: inst
        ? [
            {
              server_id: inst.id,
              attachment_id: vol.id,
              volume_id: vol.id,
              device: vol.isRoot ? '/dev/vda' : '/dev/vdb',
              instance_name: inst.name,
              attached_at: vol.createdAt,
              flavor_id: inst.flavorId,
            },
          ]
        : [],
      created_at: vol.createdAt,
      updated_at: vol.createdAt,
      project_id: vol.project,
      region_id: vol.region,
      region: REGIONS[vol.region],
      metadata: {},
      metadata_detailed: [],
      tags: [],
      snapshot_ids: [...this.snapshots.values()].filter((s) => s.volumeId === vol.id).map((s) => s.id),
      volume_image_metadata: image
        ? { image_id: image.id, image_name: image.name, os_distro: image.os_distro }
        : null,
      creator_task_id: null,
      task_id: null,
    };
  }

  private renderSnapshot(snap: SimSnapshot): Record<string, unknown> {
    return {
      id: snap.id,
      name: snap.name,
      description: snap.description,
      status: snap.status,
      size: snap.size,
      volume_id: snap.volumeId,
      created_at: snap.createdAt,
      updated_at: snap.createdAt,
      project_id: snap.project,
      region_id: snap.region,
      region: REGIONS[snap.region],
      metadata: {},
      creator_task_id: snap.creatorTaskId,
      task_id: this.isRunning(snap.creatorTaskId) ? snap.creatorTaskId : null,
    };
  }

  // ---- helpers -----------------------------------------------------------------------------
  private isRunning(taskId: string): boolean {
    const state = this.tasks.get(taskId)?.state;
    return state === 'NEW' || state === 'RUNNING';
  }

  private findInstance(project: number, region: number, id: string): SimInstance | undefined {
    const inst = this.instances.get(id);
    return inst && inst.project === project && inst.region === region ? inst : undefined;
  }

  private checkScope(project: number, region: number): SimResponse | undefined {
    if (!PROJECTS.includes(project))
      return this.errorResponse(404, `Project ${project} not found`, 'ProjectNotFound');
    if (!REGIONS[region]) return this.errorResponse(404, `Region ${region} not found`, 'RegionNotFound');
    return undefined;
  }

  private ok(body: unknown): SimResponse {
    return { status: 200, body };
  }

  private page(items: unknown[]): SimResponse {
    return this.ok({ count: items.length, results: items });
  }

  private paged(req: SimRequest, items: unknown[]): SimResponse {
    const limit = this.intParam(req.query.limit);
    const offset = this.intParam(req.query.offset);
    if (limit === null || offset === null)
      return this.errorResponse(400, 'limit and offset must be non-negative integers', 'ValidationError');
    const start = offset ?? 0;
    return this.ok({
      count: items.length,
      results: items.slice(start, start + Math.min(limit ?? 1000, this.options.maxPageSize)),
    });
  }

  /** undefined when absent, null when invalid. */
  private intParam(value: string | undefined): number | undefined | null {
    if (value === undefined) return undefined;
    return /^\d+$/.test(value) ? Number(value) : null;
  }

  private nextIpv4(): string {
    const n = this.ipCounter++;
    return `92.38.${150 + Math.floor(n / 250)}.${(n % 250) + 2}`;
  }

  private nextIpv6(): string {
    return `2a03:90c0:9:ff::${(this.ipCounter++).toString(16)}`;
  }

  private systemMetadata(image: SimImage | null): Map<string, MetaEntry> {
    const meta = new Map<string, MetaEntry>();
    if (image) {
      meta.set('image_id', { value: image.id, readOnly: true });
      meta.set('image_name', { value: image.name, readOnly: true });
      meta.set('os_distro', { value: image.os_distro, readOnly: true });
      meta.set('os_version', { value: image.os_version, readOnly: true });
    }
    return meta;
  }

  /** The kit's seeding helper: g1-standard-1-2 instances on a 10 GiB ubuntu-24.04 boot volume, as created. */
  override seedInstances(request: SeedRequest): string[] {
    const location = request.location ?? this.defaultLocation;
    const [project, region] = (/^(\d+)\/(\d+)$/.exec(location)?.slice(1) ?? []).map(Number);
    if (project === undefined || region === undefined || this.checkScope(project, region))
      throw new RangeError(`unknown location ${location}`);
    const flavor = FLAVORS.find((f) => f.flavor_id === 'g1-standard-1-2')!;
    const image = IMAGES.find((i) => i.name === 'ubuntu-24.04-x64')!;
    const status = request.state === 'stopped' ? 'SHUTOFF' : 'ACTIVE';
    return Array.from({ length: request.count }, (_, n) => {
      const id = this.uuid();
      const name = `${request.namePrefix}${n}`;
      const boot: SimVolume = {
        id: this.uuid(),
        name: `${name}-boot-0`,
        size: Math.max(10, image.min_disk),
        status: 'in-use',
        bootable: true,
        isRoot: true,
        volumeType: 'standard',
        imageId: image.id,
        instanceId: id,
        deleteOnTermination: false,
        project,
        region,
        createdAt: resourceTime(),
      };
      const metadata = this.systemMetadata(image);
      for (const [k, v] of Object.entries(request.labels ?? {}))
        metadata.set(k, { value: v, readOnly: false });
      this.volumes.set(boot.id, boot);
      this.instances.set(id, {
        id,
        name,
        description: '',
        project,
        region,
        createdAt: resourceTime(),
        status,
        vmState: VM_STATE[status]!,
        taskState: null,
        taskId: null,
        creatorTaskId: null,
        flavorId: flavor.flavor_id,
        volumeIds: [boot.id],
        floatingIds: [],
        addresses: { external: [{ type: 'fixed', addr: this.nextIpv4(), interface_name: null }] },
        metadata,
        keypairName: null,
      });
      this.load.begin(id);
      return id;
    });
  }

  private seedFleet(): void {
    const [project, region] = this.defaultLocation.split('/').map(Number) as [number, number];
    const base = Date.parse('2025-03-01T08:00:00Z');
    for (let i = 0; i < this.options.fleetSize; i++) {
      const [status, vmState] = i === 0 ? ['ACTIVE', 'active'] : this.pick(SEED_STATUSES);
      const flavor = this.pick(FLAVORS);
      const image = this.pick(IMAGES);
      const id = this.seededUuid();
      const name = `${this.pick(NAME_PREFIXES)}-${String(i + 1).padStart(2, '0')}`;
      const meta = this.systemMetadata(image);
      // Most of a real fleet is labelled; a few instances are not (and the first always is).
      if (i === 0 || this.random() < 0.8) {
        meta.set('env', { value: this.pick(ENVS), readOnly: false });
        meta.set('team', { value: this.pick(TEAMS), readOnly: false });
      }
      const bootVolume: SimVolume = {
        id: this.seededUuid(),
        name: `${name}-boot`,
        size: Math.max(image.min_disk, this.pick([10, 20, 40, 80])),
        status: 'in-use',
        bootable: true,
        isRoot: true,
        volumeType: this.pick(['standard', 'ssd_hiiops']),
        imageId: image.id,
        instanceId: id,
        deleteOnTermination: false,
        project,
        region,
        createdAt: resourceTime(base + i * 3_600_000),
      };
      this.volumes.set(bootVolume.id, bootVolume);
      const inst: SimInstance = {
        id,
        name,
        description: '',
        project,
        region,
        createdAt: resourceTime(base + i * 3_600_000),
        status,
        vmState,
        taskState: null,
        taskId: null,
        creatorTaskId: this.seededUuid(),
        flavorId: flavor.flavor_id,
        volumeIds: [bootVolume.id],
        floatingIds: [],
        addresses: { external: [{ type: 'fixed', addr: this.nextIpv4(), interface_name: null }] },
        metadata: meta,
        keypairName: this.random() < 0.7 ? 'ops-ed25519' : null,
      };
      if (this.random() < 0.3)
        inst.addresses.external!.push({ type: 'fixed', addr: this.nextIpv6(), interface_name: null });
      this.instances.set(id, inst);
    }
  }
}

function metadataList(inst: SimInstance): Array<{ key: string; value: string; read_only: boolean }> {
  return [...inst.metadata].map(([key, e]) => ({ key, value: e.value, read_only: e.readOnly }));
}

function defaultClass(status: number): string {
  if (status === 429) return 'TooManyRequests';
  if (status === 401) return 'NotAuthenticated';
  if (status === 404) return 'NotFound';
  if (status >= 500) return 'ServiceUnavailable';
  return 'BadRequest';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isBase64(value: string): boolean {
  return value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
}
