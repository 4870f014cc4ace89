import { API_KEY_HEADER } from '../../functions/providers/cloudca/auth.ts';
import {
  routeTable,
  type SeedRequest,
  type SimHandler,
  type SimRequest,
  type SimResponse,
  SimulatorBase,
  type SimulatorOptions,
} from '../kit/index.ts';
import {
  type CatalogueOffering,
  COMPUTE_OFFERINGS,
  ENVIRONMENTS,
  FLEET_NAMES,
  SSH_KEYS,
  TEMPLATES,
  ZONES,
} from './seed.ts';

/**
 * A cloud.ca compute API simulator: `MC-Api-Key` authentication (403 otherwise, the only
 * refusal status the docs list), `/v1/services/{service_code}/{environment}/…` resources in the
 * `{data, metadata}` / `{errors}` envelope, asynchronous operations answering
 * `{taskId, taskStatus:'PENDING'}` and polled at `/v1/tasks/{id}`, and the docs' state
 * preconditions answered with error 2012. go-cloudca works against it unchanged.
 *
 * UNCONFIRMED choices, kept in one place: transitional states Starting/Stopping/Expunging;
 * `page_number`/`page_size` paging (no paging when neither is sent, as go-cloudca never pages);
 * Destroyed instances stay listed until purged; a recovered instance comes back Stopped; error
 * codes other than 2012 (cloud.ca publishes no list) echo the HTTP status.
 */

export interface CloudcaSimulatorOptions extends SimulatorOptions {
  /** Which key carries an error's code: the docs' numeric `code`, or go-cloudca's string `errorCode`. */
  errorCodeKey?: 'code' | 'errorCode';
  /** Task body shape: both (default), the docs' `{taskId, taskStatus, result}`, or go-cloudca's `data:{id,status,created,result}`. */
  taskShape?: 'both' | 'docs' | 'go';
}

type State = 'Running' | 'Stopped' | 'Starting' | 'Stopping' | 'Destroyed' | 'Expunging' | 'Error';

interface SimInstance {
  id: string;
  location: string;
  name: string;
  hostname: string;
  state: State;
  templateId: string;
  computeOfferingId: string;
  cpuCount: number;
  memoryInMB: number;
  networkId: string;
  ipAddress: string;
  macAddress: string;
  userData: string;
  sshKeyName?: string;
  publicIps: Array<{ id: string; ipAddress: string; purposes: string[]; ports: string[] }>;
  zoneId: string;
  /** Set while an operation holds the instance, so a second one is refused. */
  busy: boolean;
}

interface SimNetwork {
  id: string;
  name: string;
  location: string;
  vpcId: string;
  vpcName: string;
  cidr: string;
}

interface SimTask {
  id: string;
  status: 'PENDING' | 'SUCCESS' | 'FAILED';
  created: string;
  result?: unknown;
  expiresAt: number;
}

/** The docs' code for a wrong-state operation; the other codes echo the HTTP status (UNCONFIRMED). */
const WRONG_STATE = 2012;
/** cloud.ca keeps tasks about 30 minutes ("we don't persist our task"). */
const TASK_TTL_MS = 30 * 60_000;

const ENV = '/v1/services/{service}/{environment}';

/**
 * The instance operations: the states each is allowed in (as the docs state them), the verb of
 * its refusal and failure messages, the state shown while its task runs and the state it ends in
 * (none: unchanged; `Expunged`: the instance is gone). A reboot keeps the state cloud.ca reports
 * (no Rebooting state is documented); a recovered instance comes back Stopped (UNCONFIRMED).
 */
const OPERATIONS = {
  start: { from: ['Stopped'], verb: 'start', during: 'Starting', to: 'Running' },
  stop: { from: ['Running'], verb: 'stop', during: 'Stopping', to: 'Stopped' },
  reboot: { from: ['Running', 'Stopped'], verb: 'reboot' },
  destroy: { from: ['Running', 'Stopped', 'Error'], verb: 'destroy' },
  purge: { from: ['Destroyed'], verb: 'purge', during: 'Expunging', to: 'Expunged' },
  recover: { from: ['Destroyed'], verb: 'recover', to: 'Stopped' },
  // Not stated by the docs: any settled, live state (UNCONFIRMED).
  changeComputeOffering: { from: ['Running', 'Stopped'], verb: 'change the compute offering of' },
  resetPassword: { from: ['Running', 'Stopped'], verb: 'reset the password of' },
  changeNetwork: { from: ['Running', 'Stopped'], verb: 'change the network of' },
  associateSSHKey: { from: ['Running', 'Stopped'], verb: 'associate an SSH key to' },
} satisfies Record<string, { from: State[]; verb: string; during?: State; to?: State | 'Expunged' }>;
type Operation = keyof typeof OPERATIONS;

export class CloudcaSimulator extends SimulatorBase {
  readonly provider = 'cloudca' as const;
  readonly defaultLocation = 'compute-qc/production';
  readonly credentials: Record<string, string>;
  private readonly instances = new Map<string, SimInstance>();
  private readonly networks: SimNetwork[] = [];
  private readonly tasks = new Map<string, SimTask>();
  private readonly errorCodeKey: 'code' | 'errorCode';
  private readonly taskShape: 'both' | 'docs' | 'go';
  private ipCounter = 10;

  constructor(options: CloudcaSimulatorOptions = {}) {
    super(options);
    this.errorCodeKey = options.errorCodeKey ?? 'code';
    this.taskShape = options.taskShape ?? 'both';
    const hex = Array.from({ length: 32 }, () => Math.floor(this.random() * 16).toString(16)).join('');
    this.credentials = { apiKey: `cca-sim-${hex}` };
    this.seed();
  }

  endpoint(_location?: string): string {
    return `${this.origin}/v1`;
  }

  // ---- kit hooks -------------------------------------------------------------------------
  protected authenticate(req: SimRequest): SimResponse | undefined {
    const key = req.headers[API_KEY_HEADER.toLowerCase()];
    if (!key) return this.error(403, 'Missing MC-Api-Key header', 403);
    if (key !== this.credentials.apiKey) return this.error(403, 'Invalid API key', 403);
    return undefined;
  }

  protected errorResponse(status: number, message: string, _code?: string): SimResponse {
    return this.error(status, message, status);
  }

  // The docs' task path is /v1/tasks/{id}; an older revision says /v1/services/tasks/{id}.
  private readonly routes = routeTable<SimHandler>({
    'GET /v1/tasks/{id}': (_req, p) => this.getTask(p.id!),
    'GET /v1/services/tasks/{id}': (_req, p) => this.getTask(p.id!),
    [`GET ${ENV}/instances`]: this.inEnv((req, location) =>
      this.list(
        req,
        this.instancesIn(location).map((i) => this.render(i, false)),
      ),
    ),
    [`POST ${ENV}/instances`]: this.inEnv((req, location) => this.create(req, location)),
    [`GET ${ENV}/instances/{id}`]: this.onInstance((_req, i) => ({
      status: 200,
      body: { data: this.render(i, true) },
    })),
    // The docs title update "POST" while their curl and go-cloudca use PUT: accept both.
    [`PUT ${ENV}/instances/{id}`]: this.onInstance((req, i) => this.update(req, i)),
    [`POST ${ENV}/instances/{id}`]: this.onInstance((req, i) =>
      req.query.operation === undefined ? this.update(req, i) : this.operate(req, i, req.query.operation),
    ),
    [`DELETE ${ENV}/instances/{id}`]: this.onInstance((req, i) => this.destroy(req, i)),
    [`GET ${ENV}/computeofferings`]: this.inEnv((req) => this.list(req, COMPUTE_OFFERINGS)),
    [`GET ${ENV}/computeofferings/{id}`]: this.inEnv((_req, _l, p) =>
      this.one(
        COMPUTE_OFFERINGS.find((o) => o.id === p.id),
        'compute offering',
      ),
    ),
    [`GET ${ENV}/templates`]: this.inEnv((req, location) => this.list(req, this.templatesFor(location))),
    [`GET ${ENV}/templates/{id}`]: this.inEnv((_req, location, p) =>
      this.one(
        this.templatesFor(location).find((t) => t.id === p.id),
        'template',
      ),
    ),
    [`GET ${ENV}/networks`]: this.inEnv((req, location) => this.list(req, this.networksIn(location))),
    [`GET ${ENV}/networks/{id}`]: this.inEnv((_req, location, p) =>
      this.one(
        this.networksIn(location).find((n) => n.id === p.id),
        'network',
      ),
    ),
    [`GET ${ENV}/sshkeys`]: this.inEnv((req) =>
      this.list(
        req,
        SSH_KEYS.map((name) => ({ name, fingerprint: fingerprint(name) })),
      ),
    ),
  });

  protected route(req: SimRequest): SimResponse | Promise<SimResponse> {
    return this.dispatch(this.routes, req);
  }

  protected override notFound(): SimResponse {
    return this.error(404, 'Cannot locate the specified endpoint', 404);
  }

  protected override methodNotAllowed(): SimResponse {
    return this.error(405, 'Method not allowed', 405);
  }

  /** A handler under /v1/services/{service}/{environment}: 404 for an environment not seeded. */
  private inEnv(
    handler: (req: SimRequest, location: string, params: Readonly<Record<string, string>>) => SimResponse,
  ): SimHandler {
    return (req, params) => {
      const location = `${params.service}/${params.environment}`;
      if (!(ENVIRONMENTS as readonly string[]).includes(location)) {
        return this.error(
          404,
          `Environment ${params.environment} not found for service ${params.service}`,
          404,
        );
      }
      return handler(req, location, params);
    };
  }

  private onInstance(handler: (req: SimRequest, instance: SimInstance) => SimResponse): SimHandler {
    return this.inEnv((req, location, params) => {
      const instance = this.instances.get(params.id!);
      if (!instance || instance.location !== location)
        return this.error(404, `Instance ${params.id} not found`, 404);
      return handler(req, instance);
    });
  }

  private networksIn(location: string): Record<string, unknown>[] {
    return this.networks.filter((n) => n.location === location).map((n) => this.renderNetwork(n));
  }

  // ---- instances -------------------------------------------------------------------------
  private create(req: SimRequest, location: string): SimResponse {
    const body = this.body(req);
    if (!body) return this.error(400, 'The request body must be a JSON object', 400);
    const missing = ['name', 'templateId', 'computeOfferingId', 'networkId'].filter(
      (k) => typeof body[k] !== 'string' || !body[k],
    );
    if (missing.length)
      return this.error(400, `Missing required field(s): ${missing.join(', ')}`, 400, { fields: missing });
    const template = this.templatesFor(location).find((t) => t.id === body.templateId);
    if (!template)
      return this.error(400, `Template ${String(body.templateId)} not found`, 400, { field: 'templateId' });
    const offering = COMPUTE_OFFERINGS.find((o) => o.id === body.computeOfferingId);
    if (!offering)
      return this.error(400, `Compute offering ${String(body.computeOfferingId)} not found`, 400, {
        field: 'computeOfferingId',
      });
    const network = this.networks.find((n) => n.id === body.networkId && n.location === location);
    if (!network)
      return this.error(400, `Network ${String(body.networkId)} not found`, 400, { field: 'networkId' });
    const size = this.sizeFor(offering, body);
    if (typeof size === 'string') return this.error(400, size, 400, { field: 'cpuCount' });
    if (body.sshKeyName !== undefined && !SSH_KEYS.includes(String(body.sshKeyName))) {
      return this.error(400, `SSH key ${String(body.sshKeyName)} not found`, 400, { field: 'sshKeyName' });
    }
    const name = String(body.name);
    const instance: SimInstance = {
      id: this.uuid(),
      location,
      name,
      hostname: hostnameFor(name),
      state: 'Starting',
      templateId: template.id,
      computeOfferingId: offering.id,
      cpuCount: size.cpuCount,
      memoryInMB: size.memoryInMB,
      networkId: network.id,
      ipAddress: this.nextIp(network),
      macAddress: this.mac(),
      userData: typeof body.userData === 'string' ? body.userData : '',
      ...(typeof body.sshKeyName === 'string' && { sshKeyName: body.sshKeyName }),
      publicIps: [],
      zoneId: this.zonesFor(location)[0]!.id,
      busy: true,
    };
    if (Array.isArray(body.portsToForward) && body.portsToForward.length) {
      instance.publicIps.push({
        id: this.uuid(),
        ipAddress: this.publicIp(),
        purposes: ['PORT_FORWARDING'],
        ports: body.portsToForward.map(String),
      });
    }
    this.instances.set(instance.id, instance);
    return this.task(
      () => {
        instance.state = 'Running';
        return this.render(instance, true);
      },
      () => {
        instance.state = 'Error';
      },
      instance,
      `Unable to deploy instance ${name}: insufficient capacity in ${this.zoneName(instance)}`,
    );
  }

  private update(req: SimRequest, instance: SimInstance): SimResponse {
    const body = this.body(req);
    if (!body) return this.error(400, 'The request body must be a JSON object', 400);
    if (instance.state === 'Destroyed' || instance.state === 'Expunging') {
      return this.wrongState(instance, 'update', ['Running', 'Stopped']);
    }
    if (typeof body.name === 'string' && body.name) instance.name = body.name;
    if (typeof body.hostname === 'string' && body.hostname) instance.hostname = body.hostname;
    return { status: 200, body: { data: this.render(instance, true) } };
  }

  private destroy(req: SimRequest, instance: SimInstance): SimResponse {
    const refused = this.check(instance, 'destroy');
    if (refused) return refused;
    const body = this.body(req) ?? {};
    const purge = body.purgeImmediately === true;
    const releasing = Array.isArray(body.publicIpIdsToRelease) ? body.publicIpIdsToRelease.map(String) : [];
    const foreign = releasing.filter((ip) => !instance.publicIps.some((p) => p.id === ip));
    if (foreign.length)
      return this.error(400, `Public IP(s) ${foreign.join(', ')} are not attached to this instance`, 400);
    const before = instance.state;
    instance.state = purge ? 'Expunging' : before === 'Running' ? 'Stopping' : before;
    return this.task(
      () => {
        instance.publicIps = instance.publicIps.filter((p) => !releasing.includes(p.id));
        if (purge) this.instances.delete(instance.id);
        else instance.state = 'Destroyed';
        return purge ? { id: instance.id } : this.render(instance, true);
      },
      () => {
        instance.state = before;
      },
      instance,
      `Failed to destroy instance ${instance.name}`,
    );
  }

  /**
   * `POST …/instances/{id}?operation=…`: the precondition and transition from OPERATIONS, plus
   * the work of an operation that takes parameters.
   */
  private operate(req: SimRequest, instance: SimInstance, operation: string): SimResponse {
    if (!Object.hasOwn(OPERATIONS, operation) || operation === 'destroy')
      return this.error(400, `Unknown operation '${operation}'`, 400, { operation });
    const name = operation as Operation;
    const rule: { verb: string; during?: State; to?: State | 'Expunged' } = OPERATIONS[name];
    const refused = this.check(instance, name);
    if (refused) return refused;
    const work = this.operationWork(name, instance, this.body(req) ?? {});
    if ('status' in work) return work;
    const before = instance.state;
    if (rule.during) instance.state = rule.during;
    return this.task(
      () => {
        if (rule.to === 'Expunged') {
          this.instances.delete(instance.id);
          return { id: instance.id };
        }
        const result = work.apply?.();
        if (rule.to) instance.state = rule.to;
        return result ?? this.render(instance, true);
      },
      () => {
        instance.state = before;
      },
      instance,
      `Failed to ${rule.verb} instance ${instance.name}`,
    );
  }

  /** What an operation with parameters does once its task succeeds, or its 400 when they are wrong. */
  private operationWork(
    operation: Operation,
    instance: SimInstance,
    body: Record<string, unknown>,
  ): { apply?: () => unknown } | SimResponse {
    switch (operation) {
      case 'changeComputeOffering': {
        const offering = COMPUTE_OFFERINGS.find((o) => o.id === body.computeOfferingId);
        if (!offering)
          return this.error(400, `Compute offering ${String(body.computeOfferingId)} not found`, 400, {
            field: 'computeOfferingId',
          });
        const size = this.sizeFor(offering, body);
        if (typeof size === 'string') return this.error(400, size, 400, { field: 'cpuCount' });
        return {
          apply: () => {
            Object.assign(instance, { computeOfferingId: offering.id, ...size });
          },
        };
      }
      case 'resetPassword':
        return { apply: () => ({ ...this.render(instance, true), password: this.password() }) };
      case 'changeNetwork': {
        const network = this.networks.find(
          (n) => n.id === body.networkId && n.location === instance.location,
        );
        if (!network)
          return this.error(400, `Network ${String(body.networkId)} not found`, 400, { field: 'networkId' });
        return {
          apply: () => {
            instance.networkId = network.id;
            instance.ipAddress = this.nextIp(network);
            instance.publicIps = [];
          },
        };
      }
      case 'associateSSHKey': {
        if (typeof body.sshKeyName !== 'string' || !body.sshKeyName)
          return this.error(400, 'Missing required field(s): sshKeyName', 400, { fields: ['sshKeyName'] });
        if (!SSH_KEYS.includes(body.sshKeyName))
          return this.error(400, `SSH key ${body.sshKeyName} not found`, 400, { field: 'sshKeyName' });
        const key = body.sshKeyName;
        return {
          apply: () => {
            instance.sshKeyName = key;
          },
        };
      }
      default:
        return {};
    }
  }

  // ---- tasks -----------------------------------------------------------------------------
  /**
   * Starts a task: PENDING now; after the transition and operation delays it succeeds (apply
   * runs and becomes the result) or fails (revert runs), or never finishes, per the fault knobs.
   */
  private task(
    apply: () => unknown,
    revert: () => void,
    instance: SimInstance,
    failure: string,
  ): SimResponse {
    const task: SimTask = {
      id: this.uuid(),
      status: 'PENDING',
      created: new Date().toISOString(),
      expiresAt: Number.POSITIVE_INFINITY,
    };
    this.tasks.set(task.id, task);
    instance.busy = true;
    const outcome = this.nextOperationOutcome();
    const finish = (status: 'SUCCESS' | 'FAILED', result: unknown) => {
      task.status = status;
      task.result = result;
      task.expiresAt = Date.now() + TASK_TTL_MS;
      instance.busy = false;
    };
    const delay = Math.max(this.options.transitionMs, this.options.operationMs);
    if (outcome === 'ok') this.later(delay, () => finish('SUCCESS', apply()));
    if (outcome === 'fail') {
      this.later(delay, () => {
        revert();
        finish('FAILED', { errors: [{ [this.errorCodeKey]: this.codeValue(500), message: failure }] });
      });
    }
    return { status: 200, body: { taskId: task.id, taskStatus: 'PENDING' } };
  }

  private getTask(id: string): SimResponse {
    const task = this.tasks.get(id);
    if (!task || task.expiresAt < Date.now()) return this.error(404, `Task ${id} not found`, 404);
    const docs = {
      taskId: task.id,
      taskStatus: task.status,
      ...(task.result !== undefined && { result: task.result }),
    };
    const go = {
      data: {
        id: task.id,
        status: task.status,
        created: task.created,
        ...(task.result !== undefined && { result: task.result }),
      },
    };
    const body = this.taskShape === 'docs' ? docs : this.taskShape === 'go' ? go : { ...docs, ...go };
    return { status: 200, body };
  }

  // ---- shapes ----------------------------------------------------------------------------
  private render(i: SimInstance, detailed: boolean): Record<string, unknown> {
    const template = TEMPLATES.find((t) => t.id === i.templateId);
    const offering = COMPUTE_OFFERINGS.find((o) => o.id === i.computeOfferingId);
    const network = this.networks.find((n) => n.id === i.networkId);
    const base: Record<string, unknown> = {
      id: i.id,
      name: i.name,
      state: i.state,
      zoneId: i.zoneId,
      zoneName: this.zoneName(i),
      templateId: i.templateId,
      templateName: template?.name,
      computeOfferingId: i.computeOfferingId,
      computeOfferingName: offering?.name,
      networkId: i.networkId,
      networkName: network?.name,
      vpcId: network?.vpcId,
      vpcName: network?.vpcName,
      ipAddress: i.ipAddress,
      isPasswordEnabled: true,
      macAddress: i.macAddress,
      cpuCount: i.cpuCount,
      memoryInMB: i.memoryInMB,
      hostname: i.hostname,
      username: 'cca-user',
      affinityGroupIds: [],
    };
    if (!detailed) return base;
    return {
      ...base,
      userData: i.userData,
      publicIps: i.publicIps,
      nics: [{ id: nicId(i.id), isDefault: true, networkId: i.networkId }],
    };
  }

  private renderNetwork(n: SimNetwork): Record<string, unknown> {
    return {
      id: n.id,
      name: n.name,
      description: `${n.name} tier`,
      vpcId: n.vpcId,
      vpcName: n.vpcName,
      cidr: n.cidr,
    };
  }

  /** A list answer; paged only when the client asks (page_number/page_size, capped at maxPageSize). */
  private list(req: SimRequest, items: unknown[]): SimResponse {
    const { page_number: pageParam, page_size: sizeParam } = req.query;
    if (pageParam === undefined && sizeParam === undefined) {
      return { status: 200, body: { data: items, metadata: { recordCount: items.length } } };
    }
    const page = pageParam === undefined ? 1 : Number(pageParam);
    const asked = sizeParam === undefined ? this.options.maxPageSize : Number(sizeParam);
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(asked) || asked < 1) {
      return this.error(400, 'page_number and page_size must be positive integers', 400);
    }
    const size = Math.min(asked, this.options.maxPageSize);
    const data = items.slice((page - 1) * size, page * size);
    return {
      status: 200,
      body: { data, metadata: { pageSize: size, pageCurrent: page, recordCount: items.length } },
    };
  }

  private one(item: unknown, kind: string): SimResponse {
    return item ? { status: 200, body: { data: item } } : this.error(404, `The ${kind} was not found`, 404);
  }

  private error(
    status: number,
    message: string,
    code: number,
    context?: Record<string, unknown>,
  ): SimResponse {
    const item = { [this.errorCodeKey]: this.codeValue(code), message, ...(context && { context }) };
    return { status, body: { errors: [item] } };
  }

  /** Numbers in the docs' `code`; go-cloudca's `errorCode` is a string. */
  private codeValue(code: number): number | string {
    return this.errorCodeKey === 'errorCode' ? String(code) : code;
  }

  private check(instance: SimInstance, operation: Operation): SimResponse | undefined {
    const rule: { from: readonly State[]; verb: string } = OPERATIONS[operation];
    if (rule.from.includes(instance.state) && !instance.busy) return undefined;
    return this.wrongState(instance, rule.verb, [...rule.from]);
  }

  private wrongState(instance: SimInstance, verb: string, expected: State[]): SimResponse {
    const wanted = expected.map((s) => s.toLowerCase()).join(' or ');
    return this.error(400, `Cannot ${verb} an instance that isn't in the ${wanted} state`, WRONG_STATE, {
      id: instance.id,
      currentState: instance.state,
      expectedStates: expected,
      type: 'instances',
    });
  }

  private body(req: SimRequest): Record<string, unknown> | undefined {
    if (!req.rawBody) return {};
    const json = req.json;
    return json && typeof json === 'object' && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : undefined;
  }

  /** cpuCount/memoryInMB for an offering: fixed ones from the offering, custom ones from the body. */
  private sizeFor(
    offering: CatalogueOffering,
    body: Record<string, unknown>,
  ): { cpuCount: number; memoryInMB: number } | string {
    if (!offering.custom) return { cpuCount: offering.cpuCount!, memoryInMB: offering.memoryInMB! };
    const cpuCount = Number(body.cpuCount);
    const memoryInMB = Number(body.memoryInMB);
    if (!offering.availableCpuCountValues!.includes(cpuCount)) {
      return `cpuCount must be one of ${offering.availableCpuCountValues!.join(', ')} for a custom compute offering`;
    }
    if (!offering.availableMemoryInMBValues!.includes(memoryInMB)) {
      return `memoryInMB must be one of ${offering.availableMemoryInMBValues!.join(', ')} for a custom compute offering`;
    }
    if (memoryInMB / cpuCount > offering.maxMemoryInMBToCpuRatio!) {
      return `memoryInMB per CPU may not exceed ${offering.maxMemoryInMBToCpuRatio}`;
    }
    return { cpuCount, memoryInMB };
  }

  private instancesIn(location: string): SimInstance[] {
    return [...this.instances.values()].filter((i) => i.location === location);
  }

  private templatesFor(location: string) {
    const zones = this.zonesFor(location).map((z) => z.id);
    return TEMPLATES.map((t) => ({ ...t, availableInZones: zones }));
  }

  private zonesFor(location: string) {
    return ZONES[location.split('/')[0]!] ?? [];
  }

  private zoneName(i: SimInstance): string | undefined {
    return this.zonesFor(i.location).find((z) => z.id === i.zoneId)?.name;
  }

  private nextIp(network: SimNetwork): string {
    this.ipCounter = this.ipCounter >= 250 ? 10 : this.ipCounter + 1;
    return network.cidr.replace(/0\/24$/, String(this.ipCounter));
  }

  private mac(): string {
    const byte = () =>
      Math.floor(this.random() * 256)
        .toString(16)
        .padStart(2, '0');
    return `02:00:${byte()}:${byte()}:${byte()}:${byte()}`;
  }

  private publicIp(): string {
    return `199.215.226.${10 + Math.floor(this.random() * 240)}`;
  }

  private password(): string {
    const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    return Array.from({ length: 12 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
  }

  /** A fixed-size offering's sizes and a fresh address on the network: what every new instance gets. */
  private placed(offering: (typeof COMPUTE_OFFERINGS)[number], network: SimNetwork) {
    return {
      computeOfferingId: offering.id,
      cpuCount: offering.cpuCount!,
      memoryInMB: offering.memoryInMB!,
      networkId: network.id,
      ipAddress: this.nextIp(network),
      macAddress: this.mac(),
      userData: '',
    };
  }

  /** The kit's seeding helper: 1vCPU.1GB Ubuntu 24.04 instances on the Web tier, as created (no labels here). */
  override seedInstances(request: SeedRequest): string[] {
    const location = request.location ?? this.defaultLocation;
    if (!(ENVIRONMENTS as readonly string[]).includes(location))
      throw new RangeError(`unknown environment ${location}`);
    const offering = COMPUTE_OFFERINGS.find((o) => o.name === '1vCPU.1GB')!;
    const network = this.networks.find((n) => n.location === location)!;
    return Array.from({ length: request.count }, (_, n) => {
      const name = `${request.namePrefix}${n}`;
      const instance: SimInstance = {
        id: this.uuid(),
        location,
        name,
        hostname: hostnameFor(name),
        state: request.state === 'stopped' ? 'Stopped' : 'Running',
        templateId: TEMPLATES[0]!.id,
        ...this.placed(offering, network),
        publicIps: [],
        zoneId: this.zonesFor(location)[0]!.id,
        busy: false,
      };
      this.instances.set(instance.id, instance);
      return instance.id;
    });
  }

  // ---- the seeded environment ------------------------------------------------------------
  private seed(): void {
    for (const location of ENVIRONMENTS) {
      const env = location.split('/')[1]!;
      const vpcId = this.seededUuid();
      const vpcName = `${env}-VPC`;
      const third = 160 + this.networks.length;
      for (const tier of ['Web', 'DB']) {
        this.networks.push({
          id: this.seededUuid(),
          name: `${tier}-${env}`,
          location,
          vpcId,
          vpcName,
          cidr: `10.${third}.${tier === 'Web' ? 1 : 2}.0/24`,
        });
      }
    }
    const location = this.defaultLocation;
    const networks = this.networks.filter((n) => n.location === location);
    const fixed = COMPUTE_OFFERINGS.filter((o) => !o.custom);
    const zones = this.zonesFor(location);
    // Mostly Running, as a real environment is, with every settled state represented.
    const states: State[] = [
      'Running',
      'Running',
      'Running',
      'Running',
      'Stopped',
      'Stopped',
      'Destroyed',
      'Error',
    ];
    for (let n = 0; n < this.options.fleetSize; n++) {
      const offering = this.pick(fixed);
      const stem = FLEET_NAMES[n % FLEET_NAMES.length]!;
      const name = `${stem}-${String(Math.floor(n / FLEET_NAMES.length) + 1).padStart(2, '0')}`;
      const network = stem === 'db' || stem === 'cache' ? networks[1]! : networks[0]!;
      const instance: SimInstance = {
        id: this.seededUuid(),
        location,
        name,
        hostname: name,
        state: n === 0 ? 'Running' : this.pick(states),
        templateId: this.pick(TEMPLATES).id,
        ...this.placed(offering, network),
        sshKeyName: this.pick(SSH_KEYS),
        publicIps: [],
        zoneId: this.pick(zones).id,
        busy: false,
      };
      if (stem === 'web' || stem === 'bastion') {
        instance.publicIps.push({
          id: this.seededUuid(),
          ipAddress: this.publicIp(),
          purposes: ['PORT_FORWARDING'],
          ports: stem === 'web' ? ['80', '443'] : ['22'],
        });
      }
      this.instances.set(instance.id, instance);
    }
  }
}

/** The hostname cloud.ca derives from an instance name. */
function hostnameFor(name: string): string {
  return name.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63);
}

function nicId(instanceId: string): string {
  return `${instanceId.slice(0, 24)}${instanceId.slice(24).split('').reverse().join('')}`;
}

function fingerprint(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return Array.from({ length: 16 }, (_, i) => ((h >>> (i % 8)) & 0xff).toString(16).padStart(2, '0')).join(
    ':',
  );
}
