import { parseAuthorization, verify } from '../../functions/providers/exoscale/auth.ts';
import type { ProviderId } from '../../functions/providers/port.ts';
import {
  routeTable,
  type SimHandler,
  type SimRequest,
  type SimResponse,
  SimulatorBase,
  type SimulatorDescription,
  type SimulatorOptions,
  stableUuid,
  type Transition,
  type TransitionTable,
} from '../kit/index.ts';
import {
  DEFAULT_ZONE,
  INSTANCE_TYPES,
  type SimInstanceType,
  type SimTemplate,
  TEMPLATES,
  typeName,
  ZONES,
  type Zone,
} from './seed.ts';

/**
 * A faithful Exoscale API v2 (compute instances) on loopback. One server answers every zone,
 * each under its own path prefix (`/ch-gva-2/v2/...` stands for `https://api-ch-gva-2.exoscale.com/v2/...`),
 * so the path a client signs is the path it sent, exactly as against the real hosts.
 *
 * Choices where the sources are silent (UNCONFIRMED, documented in the room's index):
 * - No or malformed Authorization header → 401 `{"message":…}`; unknown key, bad signature, unsigned
 *   query parameter, expired or too-far-ahead `expires` → 403 `{"message":"Invalid request signature"}`
 *   (the body python-exoscale's tests use).
 * - An action in the wrong state (start a running instance, scale a running one…) → 409 `{"message"}`.
 * - Deleting a protected instance → 403 `{"message":"… forbidden - reason: manual instance protection"}`.
 * - Metadata changes (update, add/remove protection) apply at once; their operation reports the
 *   outcome after `operationMs` (and a failed one rolls the change back). State changes apply after
 *   `transitionMs`; their operation succeeds once the state is reached.
 */

type InstanceState =
  | 'expunging'
  | 'starting'
  | 'destroying'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'migrating'
  | 'error'
  | 'destroyed';

interface SimInstance {
  zone: Zone;
  id: string;
  name: string;
  state: InstanceState;
  typeId: string;
  templateId: string;
  labels: Record<string, string>;
  diskSize: number;
  publicIp?: string;
  ipv6?: string;
  publicIpAssignment: 'inet4' | 'dual' | 'none';
  createdAt: string;
  mac: string;
  protected: boolean;
  password?: string;
  snapshots: string[];
  sshKeys: string[];
  userData?: string;
  securityGroups: string[];
}

interface SimOperation {
  id: string;
  state: 'pending' | 'success' | 'failure' | 'timeout';
  reason?: string;
  message?: string;
  reference: { id: string; link: string; command: string };
}

interface SimSnapshot {
  zone: Zone;
  id: string;
  name: string;
  createdAt: string;
  state: 'snapshotting' | 'ready' | 'error' | 'deleting' | 'deleted';
  size: number;
  instanceId: string;
}

/** Credentials the simulator accepts (the shape of real Exoscale keys: `EXO` + 24 hex, 43-char secret). */
export const SIM_CREDENTIALS = {
  apiKey: 'EXO6f1e2d3c4b5a69788796a5b4',
  apiSecret: 'sImUlAt0r-S3cr3t-f0r-fl33tfl0w-l0cal-uSe-0n1',
};

/** Signatures may be made this far ahead of time (clients use ten minutes). */
const MAX_EXPIRES_AHEAD_SECONDS = 3_600;

/** The instance state machine: start/stop/reboot (the state enum has no "rebooting": a reboot stays running). */
const TRANSITIONS: TransitionTable<'start-instance' | 'stop-instance' | 'reboot-instance', InstanceState> = {
  'start-instance': { from: ['stopped'], during: 'starting', to: 'running' },
  'stop-instance': { from: ['running'], during: 'stopping', to: 'stopped' },
  'reboot-instance': { from: ['running'], to: 'running' },
};

/** The states the other instance commands are allowed in (409 otherwise). */
const ALLOWED_IN: Readonly<Record<string, readonly InstanceState[]>> = {
  'scale-instance': ['stopped'],
  'resize-instance-disk': ['stopped'],
  'revert-instance-to-snapshot': ['stopped'],
  'reset-instance': ['running', 'stopped'],
  'reset-instance-password': ['running', 'stopped'],
  'create-snapshot': ['running', 'stopped'],
  'delete-instance': ['starting', 'running', 'stopping', 'stopped', 'migrating', 'error', 'destroyed'],
};

const ROLES = ['web', 'api', 'db', 'cache', 'worker', 'batch', 'ci-runner', 'monitor'] as const;
const ENVS = ['prod', 'staging', 'dev'] as const;
const TEAMS = ['web', 'data', 'platform'] as const;
const SEED_TYPES = [
  'standard.tiny',
  'standard.small',
  'standard.medium',
  'standard.large',
  'cpu.extra-large',
];
const IP_PREFIXES = ['194.182.160', '194.182.171', '185.19.29', '89.145.161', '159.100.241'];

export class ExoscaleSimulator extends SimulatorBase {
  readonly provider: ProviderId = 'exoscale';
  readonly credentials: Record<string, string> = { ...SIM_CREDENTIALS };
  readonly defaultLocation: string = DEFAULT_ZONE;

  private readonly instances = new Map<string, SimInstance>();
  private readonly operations = new Map<string, SimOperation>();
  private readonly snapshots = new Map<string, SimSnapshot>();

  constructor(options: SimulatorOptions = {}) {
    super(options);
    this.seedFleet(DEFAULT_ZONE, this.options.fleetSize);
    // A few elsewhere, so zone locality shows: other zones' instances never appear in ch-gva-2.
    this.seedFleet('de-fra-1', Math.max(1, Math.ceil(this.options.fleetSize / 4)));
    this.seedFleet('at-vie-1', Math.max(1, Math.ceil(this.options.fleetSize / 6)));
  }

  endpoint(location: string = this.defaultLocation): string {
    return `${this.origin}/${location}/v2`;
  }

  override describe(): SimulatorDescription {
    return {
      ...super.describe(),
      zones: Object.fromEntries(ZONES.map((z) => [z, this.endpoint(z)])),
    };
  }

  /** Test hook: an instance's stored password and protection flag, which the API never lists. */
  peek(id: string): { protected: boolean; password?: string } | undefined {
    const i = this.instances.get(id);
    return i && { protected: i.protected, ...(i.password && { password: i.password }) };
  }

  // ---- kit hooks -----------------------------------------------------------------------
  protected errorResponse(status: number, message: string): SimResponse {
    return { status, body: { message } };
  }

  protected authenticate(req: SimRequest): SimResponse | undefined {
    const header = req.headers.authorization;
    if (!header) return this.errorResponse(401, 'Missing Authorization header');
    const auth = parseAuthorization(header);
    if (!auth) return this.errorResponse(401, 'Malformed Authorization header');
    const outcome = verify({
      auth,
      secretFor: (key) => (key === this.credentials.apiKey ? this.credentials.apiSecret : undefined),
      method: req.method,
      path: req.path,
      body: req.rawBody,
      query: req.queryPairs,
      nowSeconds: Math.floor(Date.now() / 1000),
      maxAheadSeconds: MAX_EXPIRES_AHEAD_SECONDS,
    });
    return outcome === 'ok' ? undefined : this.errorResponse(403, 'Invalid request signature');
  }

  private readonly routes = routeTable<SimHandler>({
    'GET /{zone}/v2/zone': this.inZone(() => this.ok({ zones: ZONES.map((z) => this.zoneJson(z)) })),
    'GET /{zone}/v2/instance-type': this.inZone(() =>
      this.ok({ 'instance-types': INSTANCE_TYPES.map(typeJson) }),
    ),
    'GET /{zone}/v2/instance-type/{id}': this.inZone((_req, _zone, p) => {
      const t = INSTANCE_TYPES.find((x) => x.id === p.id);
      return t ? this.ok(typeJson(t)) : this.errorResponse(404, 'Instance type not found');
    }),
    'GET /{zone}/v2/template': this.inZone((req) => this.listTemplates(req)),
    'GET /{zone}/v2/template/{id}': this.inZone((_req, _zone, p) => {
      const t = TEMPLATES.find((x) => x.id === p.id);
      return t ? this.ok(templateJson(t)) : this.errorResponse(404, 'Template not found');
    }),
    'GET /{zone}/v2/operation/{id}': this.inZone((_req, _zone, p) => {
      const op = this.operations.get(p.id!);
      return op ? this.ok(opJson(op)) : this.errorResponse(404, 'Operation not found');
    }),
    'GET /{zone}/v2/snapshot': this.inZone((_req, zone) =>
      this.ok({ snapshots: [...this.snapshots.values()].filter((s) => s.zone === zone).map(snapshotJson) }),
    ),
    'GET /{zone}/v2/snapshot/{id}': this.onSnapshot((s) => this.ok(snapshotJson(s))),
    'DELETE /{zone}/v2/snapshot/{id}': this.onSnapshot((s) => this.deleteSnapshot(s)),
    'GET /{zone}/v2/instance': this.inZone((req, zone) => this.listInstances(req, zone)),
    'POST /{zone}/v2/instance': this.inZone((req, zone) => this.createInstance(req, zone)),
    'GET /{zone}/v2/instance/{id}': this.onInstance((i) => this.ok(this.instanceJson(i))),
    'PUT /{zone}/v2/instance/{id}': this.onInstance((i, body) => this.updateInstance(i, body)),
    'DELETE /{zone}/v2/instance/{id}': this.onInstance((i) => this.deleteInstance(i)),
    'PUT /{zone}/v2/instance/{id}:start': this.onInstance((i) => this.transition(i, 'start-instance')),
    'PUT /{zone}/v2/instance/{id}:stop': this.onInstance((i) => this.transition(i, 'stop-instance')),
    'PUT /{zone}/v2/instance/{id}:reboot': this.onInstance((i) => this.transition(i, 'reboot-instance')),
    'PUT /{zone}/v2/instance/{id}:scale': this.onInstance((i, body) => this.scale(i, body)),
    'PUT /{zone}/v2/instance/{id}:resize-disk': this.onInstance((i, body) => this.resizeDisk(i, body)),
    'PUT /{zone}/v2/instance/{id}:reset': this.onInstance((i, body) => this.reset(i, body)),
    'PUT /{zone}/v2/instance/{id}:reset-password': this.onInstance((i) => this.resetPassword(i)),
    'GET /{zone}/v2/instance/{id}:password': this.onInstance((i) => this.revealPassword(i)),
    'PUT /{zone}/v2/instance/{id}:add-protection': this.onInstance((i) => this.protection(i, true)),
    'PUT /{zone}/v2/instance/{id}:remove-protection': this.onInstance((i) => this.protection(i, false)),
    'POST /{zone}/v2/instance/{id}:create-snapshot': this.onInstance((i) => this.createSnapshot(i)),
    'POST /{zone}/v2/instance/{id}:revert-snapshot': this.onInstance((i, body) =>
      this.revertSnapshot(i, body),
    ),
  });

  protected route(req: SimRequest): SimResponse | Promise<SimResponse> {
    return this.dispatch(this.routes, req);
  }

  /** A handler under /{zone}/v2: 404 for a zone Exoscale does not have. */
  private inZone(
    handler: (req: SimRequest, zone: Zone, params: Readonly<Record<string, string>>) => SimResponse,
  ): SimHandler {
    return (req, params) => {
      const zone = params.zone as Zone;
      return ZONES.includes(zone) ? handler(req, zone, params) : this.notFound(req);
    };
  }

  private onSnapshot(handler: (snapshot: SimSnapshot) => SimResponse): SimHandler {
    return this.inZone((_req, zone, params) => {
      const s = this.snapshots.get(params.id!);
      if (!s || s.zone !== zone || s.state === 'deleted')
        return this.errorResponse(404, 'Snapshot not found');
      return handler(s);
    });
  }

  /** A handler on one instance of the zone, with its JSON body (400 when the body is not JSON). */
  private onInstance(
    handler: (instance: SimInstance, body: Record<string, unknown>) => SimResponse,
  ): SimHandler {
    return this.inZone((req, zone, params) => {
      const id = params.id!;
      // `{id}` alone must not swallow an `{id}:verb` this table does not have.
      if (id.includes(':')) return this.notFound(req);
      if (!UUID.test(id)) return this.errorResponse(400, `Invalid UUID: ${id.slice(0, 40)}`);
      const instance = this.instances.get(id);
      if (!instance || instance.zone !== zone) return this.errorResponse(404, 'Instance not found');
      if (req.rawBody && req.json === undefined) return this.errorResponse(400, 'Invalid JSON body');
      return handler(instance, (req.json ?? {}) as Record<string, unknown>);
    });
  }

  // ---- reads -----------------------------------------------------------------------------
  private listInstances(req: SimRequest, zone: Zone): SimResponse {
    let found = [...this.instances.values()].filter((i) => i.zone === zone);
    const { labels, 'ip-address': ip, 'manager-id': managerId, 'manager-type': managerType } = req.query;
    if (labels !== undefined) {
      const wanted = parseLabelFilter(labels);
      if (!wanted) return this.errorResponse(400, 'Invalid labels filter');
      found = found.filter((i) => Object.entries(wanted).every(([k, v]) => i.labels[k] === v));
    }
    if (ip !== undefined) found = found.filter((i) => i.publicIp === ip || i.ipv6 === ip);
    // No instance pools here: nothing is managed.
    if (managerId !== undefined || managerType !== undefined) found = [];
    return this.ok({ instances: found.map((i) => this.instanceJson(i)) });
  }

  private listTemplates(req: SimRequest): SimResponse {
    const { visibility, family } = req.query;
    if (visibility !== undefined && visibility !== 'public' && visibility !== 'private') {
      return this.errorResponse(400, `Invalid visibility: ${visibility}`);
    }
    const found = TEMPLATES.filter(
      (t) => (!visibility || t.visibility === visibility) && (!family || t.family === family),
    );
    return this.ok({ templates: found.map(templateJson) });
  }

  // ---- mutations -------------------------------------------------------------------------
  private createInstance(req: SimRequest, zone: Zone): SimResponse {
    if (req.rawBody && req.json === undefined) return this.errorResponse(400, 'Invalid JSON body');
    const body = (req.json ?? {}) as Record<string, unknown>;
    const typeRef = body['instance-type'] as { id?: unknown } | undefined;
    const templateRef = body.template as { id?: unknown } | undefined;
    const diskSize = body['disk-size'];
    if (typeof typeRef?.id !== 'string')
      return this.errorResponse(400, 'Missing required parameter: instance-type');
    if (typeof templateRef?.id !== 'string')
      return this.errorResponse(400, 'Missing required parameter: template');
    if (typeof diskSize !== 'number') return this.errorResponse(400, 'Missing required parameter: disk-size');
    if (!Number.isInteger(diskSize) || diskSize < 10 || diskSize > 51200) {
      return this.errorResponse(400, 'Invalid parameter disk-size: must be between 10 and 51200');
    }
    const type = INSTANCE_TYPES.find((t) => t.id === typeRef.id);
    if (!type) return this.errorResponse(404, 'Instance type not found');
    if (!type.authorized)
      return this.errorResponse(
        403,
        `Instance type ${typeName(type)} is not authorized for this organization`,
      );
    const template = TEMPLATES.find((t) => t.id === templateRef.id && t.zones.includes(zone));
    if (!template) return this.errorResponse(404, 'Template not found');
    const name = body.name ?? `vm-${this.uuid().slice(0, 8)}`;
    if (typeof name !== 'string' || name.length > 255)
      return this.errorResponse(400, 'Invalid parameter name');
    const labels = body.labels ?? {};
    if (!isStringRecord(labels))
      return this.errorResponse(400, 'Invalid parameter labels: values must be strings');
    const userData = body['user-data'];
    if (userData !== undefined && (typeof userData !== 'string' || userData.length > 32768)) {
      return this.errorResponse(400, 'Invalid parameter user-data');
    }
    const assignment = body['public-ip-assignment'] ?? (body['ipv6-enabled'] === true ? 'dual' : 'inet4');
    if (assignment !== 'inet4' && assignment !== 'dual' && assignment !== 'none') {
      return this.errorResponse(400, 'Invalid parameter public-ip-assignment');
    }
    const autoStart = body['auto-start'] !== false;
    const instance = this.newInstance(zone, {
      name,
      typeId: type.id,
      templateId: template.id,
      labels,
      diskSize,
      publicIpAssignment: assignment,
      state: 'starting',
      sshKeys: [
        ...(isNamed(body['ssh-key']) ? [body['ssh-key'].name] : []),
        ...(Array.isArray(body['ssh-keys']) ? body['ssh-keys'].filter(isNamed).map((k) => k.name) : []),
      ],
      ...(typeof userData === 'string' && { userData }),
      ...(template['password-enabled'] && { password: this.password() }),
    });
    this.instances.set(instance.id, instance);
    return this.runOperation(instanceRef(instance), {
      apply: () => {
        if (this.instances.get(instance.id) === instance) instance.state = autoStart ? 'running' : 'stopped';
      },
      // A failed create leaves nothing behind.
      rollback: () => this.instances.delete(instance.id),
    });
  }

  private updateInstance(instance: SimInstance, body: Record<string, unknown>): SimResponse {
    const before = {
      name: instance.name,
      labels: instance.labels,
      userData: instance.userData,
      pia: instance.publicIpAssignment,
    };
    if (body.name !== undefined) {
      if (typeof body.name !== 'string' || !body.name || body.name.length > 255)
        return this.errorResponse(400, 'Invalid parameter name');
    }
    if (body.labels !== undefined && body.labels !== null && !isStringRecord(body.labels)) {
      return this.errorResponse(400, 'Invalid parameter labels: values must be strings');
    }
    const pia = body['public-ip-assignment'];
    if (pia !== undefined && pia !== 'inet4' && pia !== 'dual' && pia !== 'none') {
      return this.errorResponse(400, 'Invalid parameter public-ip-assignment');
    }
    if (typeof body.name === 'string') instance.name = body.name;
    // Replace semantics: the labels sent become the instance's labels.
    if (isStringRecord(body.labels)) instance.labels = { ...body.labels };
    if (typeof body['user-data'] === 'string') instance.userData = body['user-data'];
    if (pia === 'inet4' || pia === 'dual' || pia === 'none') {
      instance.publicIpAssignment = pia;
      if (pia === 'dual' && !instance.ipv6) instance.ipv6 = this.ipv6();
    }
    return this.runOperation(instanceRef(instance), {
      immediate: true,
      rollback: () => {
        instance.name = before.name;
        instance.labels = before.labels;
        instance.userData = before.userData;
        instance.publicIpAssignment = before.pia;
      },
    });
  }

  private deleteInstance(instance: SimInstance): SimResponse {
    const refused = this.refuse('delete-instance', instance);
    if (refused) return refused;
    if (instance.protected) {
      return this.errorResponse(
        403,
        `Operation delete-instance on resource ${instance.id} is forbidden - reason: manual instance protection`,
      );
    }
    const previous = instance.state;
    instance.state = 'destroying';
    return this.runOperation(instanceRef(instance), {
      apply: () => {
        this.instances.delete(instance.id);
        for (const s of this.snapshots.values()) if (s.instanceId === instance.id) s.state = 'deleted';
      },
      rollback: () => {
        instance.state = previous;
      },
    });
  }

  /** start/stop/reboot as TRANSITIONS says: the state while the operation runs, then the end state. */
  private transition(instance: SimInstance, command: keyof typeof TRANSITIONS): SimResponse {
    const refused = this.refuse(command, instance);
    if (refused) return refused;
    const { during = instance.state, to } = TRANSITIONS[command];
    const previous = instance.state;
    instance.state = during;
    return this.runOperation(instanceRef(instance), {
      apply: () => {
        if (this.instances.get(instance.id) === instance && instance.state === during) instance.state = to;
      },
      rollback: () => {
        if (instance.state === during) instance.state = previous;
      },
    });
  }

  private scale(instance: SimInstance, body: Record<string, unknown>): SimResponse {
    const ref = body['instance-type'] as { id?: unknown } | undefined;
    if (typeof ref?.id !== 'string')
      return this.errorResponse(400, 'Missing required parameter: instance-type');
    const target = INSTANCE_TYPES.find((t) => t.id === ref.id);
    if (!target) return this.errorResponse(404, 'Instance type not found');
    const refused = this.refuse('scale-instance', instance);
    if (refused) return refused;
    const current = INSTANCE_TYPES.find((t) => t.id === instance.typeId);
    if (current && current.family !== target.family) {
      return this.errorResponse(
        400,
        `Instance type ${typeName(target)} is not in the ${current.family} family: scaling must stay within the same family`,
      );
    }
    if (!target.authorized)
      return this.errorResponse(
        403,
        `Instance type ${typeName(target)} is not authorized for this organization`,
      );
    return this.runOperation(instanceRef(instance), {
      apply: () => {
        instance.typeId = target.id;
      },
    });
  }

  private resizeDisk(instance: SimInstance, body: Record<string, unknown>): SimResponse {
    const size = body['disk-size'];
    if (typeof size !== 'number' || !Number.isInteger(size))
      return this.errorResponse(400, 'Missing required parameter: disk-size');
    const refused = this.refuse('resize-instance-disk', instance);
    if (refused) return refused;
    if (size <= instance.diskSize)
      return this.errorResponse(
        400,
        `Invalid parameter disk-size: the disk can only grow (currently ${instance.diskSize} GiB)`,
      );
    if (size > 51200)
      return this.errorResponse(400, 'Invalid parameter disk-size: must be between 10 and 51200');
    return this.runOperation(instanceRef(instance), {
      apply: () => {
        instance.diskSize = size;
      },
    });
  }

  private reset(instance: SimInstance, body: Record<string, unknown>): SimResponse {
    const refused = this.refuse('reset-instance', instance);
    if (refused) return refused;
    const templateRef = body.template as { id?: unknown } | undefined;
    let template = TEMPLATES.find((t) => t.id === instance.templateId);
    if (templateRef !== undefined) {
      template = TEMPLATES.find((t) => t.id === templateRef?.id && t.zones.includes(instance.zone));
      if (!template) return this.errorResponse(404, 'Template not found');
    }
    const size = body['disk-size'];
    if (
      size !== undefined &&
      (typeof size !== 'number' || !Number.isInteger(size) || size < instance.diskSize || size > 51200)
    ) {
      return this.errorResponse(400, `Invalid parameter disk-size: must be at least ${instance.diskSize}`);
    }
    const wasRunning = instance.state === 'running';
    if (wasRunning) instance.state = 'starting';
    return this.runOperation(instanceRef(instance), {
      apply: () => {
        if (template) instance.templateId = template.id;
        if (typeof size === 'number') instance.diskSize = size;
        if (template?.['password-enabled']) instance.password = this.password();
        if (wasRunning && instance.state === 'starting') instance.state = 'running';
      },
      rollback: () => {
        if (wasRunning && instance.state === 'starting') instance.state = 'running';
      },
    });
  }

  private resetPassword(instance: SimInstance): SimResponse {
    const template = TEMPLATES.find((t) => t.id === instance.templateId);
    if (!template?.['password-enabled'])
      return this.errorResponse(400, 'The instance template does not support passwords');
    const refused = this.refuse('reset-instance-password', instance);
    if (refused) return refused;
    return this.runOperation(instanceRef(instance), {
      apply: () => {
        instance.password = this.password();
      },
    });
  }

  private revealPassword(instance: SimInstance): SimResponse {
    const template = TEMPLATES.find((t) => t.id === instance.templateId);
    if (!template?.['password-enabled'])
      return this.errorResponse(400, 'The instance template does not support passwords');
    if (!instance.password) return this.errorResponse(404, 'Password not found');
    return this.ok({ password: instance.password });
  }

  private protection(instance: SimInstance, enabled: boolean): SimResponse {
    const before = instance.protected;
    instance.protected = enabled;
    return this.runOperation(instanceRef(instance), {
      immediate: true,
      rollback: () => {
        instance.protected = before;
      },
    });
  }

  private createSnapshot(instance: SimInstance): SimResponse {
    const refused = this.refuse('create-snapshot', instance);
    if (refused) return refused;
    const snapshot: SimSnapshot = {
      zone: instance.zone,
      id: this.uuid(),
      // The API takes no body here: Exoscale names the snapshot itself.
      name: `${instance.name}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`,
      createdAt: new Date().toISOString(),
      state: 'snapshotting',
      size: instance.diskSize,
      instanceId: instance.id,
    };
    this.snapshots.set(snapshot.id, snapshot);
    instance.snapshots.push(snapshot.id);
    return this.runOperation(
      { id: snapshot.id, link: `/v2/snapshot/${snapshot.id}`, command: 'get-snapshot' },
      {
        apply: () => {
          snapshot.state = 'ready';
        },
        rollback: () => {
          snapshot.state = 'error';
        },
      },
    );
  }

  private revertSnapshot(instance: SimInstance, body: Record<string, unknown>): SimResponse {
    if (typeof body.id !== 'string') return this.errorResponse(400, 'Missing required parameter: id');
    const snapshot = this.snapshots.get(body.id);
    if (!snapshot || snapshot.instanceId !== instance.id || snapshot.state === 'deleted')
      return this.errorResponse(404, 'Snapshot not found');
    if (snapshot.state !== 'ready')
      return this.errorResponse(409, `Snapshot ${snapshot.id} is not ready (state ${snapshot.state})`);
    const refused = this.refuse('revert-instance-to-snapshot', instance);
    if (refused) return refused;
    return this.runOperation(instanceRef(instance), {});
  }

  private deleteSnapshot(snapshot: SimSnapshot): SimResponse {
    if (snapshot.state === 'snapshotting' || snapshot.state === 'deleting') {
      return this.errorResponse(409, `Operation delete-snapshot not allowed in state ${snapshot.state}`);
    }
    const previous = snapshot.state;
    snapshot.state = 'deleting';
    return this.runOperation(
      { id: snapshot.id, link: `/v2/snapshot/${snapshot.id}`, command: 'get-snapshot' },
      {
        apply: () => {
          snapshot.state = 'deleted';
          const owner = this.instances.get(snapshot.instanceId);
          if (owner) owner.snapshots = owner.snapshots.filter((s) => s !== snapshot.id);
        },
        rollback: () => {
          snapshot.state = previous;
        },
      },
    );
  }

  // ---- operations ------------------------------------------------------------------------
  /**
   * Starts an asynchronous operation. `apply` runs after transitionMs and the operation succeeds
   * once both delays have passed; `immediate` work was applied by the caller already. A failing
   * operation runs `rollback` and reports `failure` with a reason; a stuck one stays pending.
   */
  private runOperation(
    reference: SimOperation['reference'],
    work: { apply?: () => void; rollback?: () => void; immediate?: boolean },
  ): SimResponse {
    const op: SimOperation = { id: this.uuid(), state: 'pending', reference };
    this.operations.set(op.id, op);
    const outcome = this.nextOperationOutcome();
    if (outcome === 'stuck') return this.ok(opJson(op));
    const { operationMs, transitionMs } = this.options;
    if (outcome === 'fail') {
      this.later(operationMs, () => {
        work.rollback?.();
        op.state = 'failure';
        op.reason = 'fault';
        op.message = `${reference.command.replace(/^get-/, '')} ${reference.id}: the operation failed`;
      });
      return this.ok(opJson(op));
    }
    if (work.apply) this.later(work.immediate ? 0 : transitionMs, work.apply);
    this.later(work.immediate ? operationMs : Math.max(operationMs, transitionMs), () => {
      op.state = 'success';
    });
    return this.ok(opJson(op));
  }

  /** 409 when the instance is not in a state the command is allowed in (ALLOWED_IN, TRANSITIONS). */
  private refuse(command: string, instance: SimInstance): SimResponse | undefined {
    const allowed =
      (TRANSITIONS as Record<string, Transition<InstanceState>>)[command]?.from ?? ALLOWED_IN[command];
    if (!allowed || allowed.includes(instance.state)) return undefined;
    return this.errorResponse(
      409,
      `Operation ${command} on resource ${instance.id} is not allowed in state ${instance.state}`,
    );
  }

  // ---- fleet and shapes ------------------------------------------------------------------
  private seedFleet(zone: Zone, count: number): void {
    const counters = new Map<string, number>();
    for (let n = 0; n < count; n++) {
      const role = this.pick(ROLES);
      const index = (counters.get(role) ?? 0) + 1;
      counters.set(role, index);
      const typeName_ = this.pick(SEED_TYPES);
      const type = INSTANCE_TYPES.find((t) => typeName(t) === typeName_)!;
      const template = this.pick(TEMPLATES.filter((t) => t.visibility === 'public'));
      const r = this.random();
      // Mostly running, a good share stopped, the odd one in error; the first is always running.
      const state: InstanceState = n === 0 || r < 0.62 ? 'running' : r < 0.94 ? 'stopped' : 'error';
      const labels: Record<string, string> = {};
      if (this.random() < 0.8) {
        labels.env = this.pick(ENVS);
        labels.team = this.pick(TEAMS);
        labels.role = role;
      }
      const created = new Date(Date.UTC(2025, 0, 1) + Math.floor(this.random() * 180 * 86_400_000));
      const instance = this.newInstance(
        zone,
        {
          name: `${role}-${String(index).padStart(2, '0')}${zone === DEFAULT_ZONE ? '' : `-${zone}`}`,
          typeId: type.id,
          templateId: template.id,
          labels,
          diskSize: this.pick([10, 20, 50, 100, 200]),
          publicIpAssignment: this.random() < 0.3 ? 'dual' : 'inet4',
          state,
          sshKeys: ['ops-2025'],
          ...(template['password-enabled'] && { password: this.password() }),
          protected: labels.env === 'prod' && this.random() < 0.3,
        },
        true,
      );
      instance.createdAt = created.toISOString();
      this.instances.set(instance.id, instance);
    }
  }

  private newInstance(
    zone: Zone,
    init: Pick<
      SimInstance,
      'name' | 'typeId' | 'templateId' | 'labels' | 'diskSize' | 'publicIpAssignment' | 'state' | 'sshKeys'
    > &
      Partial<Pick<SimInstance, 'userData' | 'password' | 'protected'>>,
    seeded = false,
  ): SimInstance {
    const id = seeded ? this.seededUuid() : this.uuid();
    return {
      zone,
      id,
      createdAt: new Date().toISOString(),
      mac: `06:${Array.from({ length: 5 }, () =>
        Math.floor(this.random() * 256)
          .toString(16)
          .padStart(2, '0'),
      ).join(':')}`,
      snapshots: [],
      securityGroups: ['default'],
      protected: false,
      ...init,
      labels: { ...init.labels },
      ...(init.publicIpAssignment !== 'none' && {
        publicIp: `${this.pick(IP_PREFIXES)}.${1 + Math.floor(this.random() * 253)}`,
      }),
      ...(init.publicIpAssignment === 'dual' && { ipv6: this.ipv6() }),
    };
  }

  private ipv6(): string {
    const hex = () => Math.floor(this.random() * 0xffff).toString(16);
    return `2a04:c43:e00:${hex()}:4${hex().slice(1)}:${hex()}ff:fe${hex().slice(2)}:${hex()}`;
  }

  private password(): string {
    const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    return Array.from({ length: 16 }, () => alphabet[Math.floor(this.random() * alphabet.length)]).join('');
  }

  private instanceJson(i: SimInstance): Record<string, unknown> {
    return {
      id: i.id,
      name: i.name,
      state: i.state,
      'instance-type': { id: i.typeId },
      template: { id: i.templateId },
      ...(Object.keys(i.labels).length > 0 && { labels: { ...i.labels } }),
      ...(i.publicIp && { 'public-ip': i.publicIp }),
      ...(i.ipv6 && { 'ipv6-address': i.ipv6 }),
      'public-ip-assignment': i.publicIpAssignment,
      'created-at': i.createdAt,
      'disk-size': i.diskSize,
      'mac-address': i.mac,
      'security-groups': i.securityGroups.map((name) => ({ id: stableSecurityGroupId(name) })),
      snapshots: i.snapshots.filter((s) => this.snapshots.get(s)?.state !== 'deleted').map((id) => ({ id })),
      ...(i.sshKeys[0] && {
        'ssh-key': { name: i.sshKeys[0] },
        'ssh-keys': i.sshKeys.map((name) => ({ name })),
      }),
      ...(i.userData && { 'user-data': i.userData }),
      'secureboot-enabled': false,
      'tpm-enabled': false,
      'application-consistent-snapshot-enabled': false,
    };
  }

  private zoneJson(zone: Zone): Record<string, unknown> {
    return { name: zone, 'api-endpoint': this.endpoint(zone), 'sos-endpoint': `https://sos-${zone}.exo.io` };
  }

  private ok(body: unknown): SimResponse {
    return { status: 200, body };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function instanceRef(i: SimInstance): SimOperation['reference'] {
  return { id: i.id, link: `/v2/instance/${i.id}`, command: 'get-instance' };
}

function opJson(op: SimOperation): Record<string, unknown> {
  return {
    id: op.id,
    state: op.state,
    ...(op.reason && { reason: op.reason }),
    ...(op.message && { message: op.message }),
    reference: { ...op.reference },
  };
}

function typeJson(t: SimInstanceType): Record<string, unknown> {
  return { ...t, zones: [...t.zones] };
}

function templateJson(t: SimTemplate): Record<string, unknown> {
  return { ...t, zones: [...t.zones] };
}

function snapshotJson(s: SimSnapshot): Record<string, unknown> {
  return {
    id: s.id,
    name: s.name,
    'created-at': s.createdAt,
    state: s.state,
    size: s.size,
    instance: { id: s.instanceId },
    'application-consistent': false,
  };
}

function stableSecurityGroupId(name: string): string {
  // Security groups are out of scope; a fixed id per name keeps the shape.
  return stableUuid('fleetflow-exoscale-sim', 'security-group', name);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    !!value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

function isNamed(value: unknown): value is { name: string } {
  return !!value && typeof value === 'object' && typeof (value as { name?: unknown }).name === 'string';
}

/**
 * The `labels` filter of list-instances: `k=v` pairs separated by spaces (as Exoscale's Karpenter
 * provider sends it), or a JSON object (an earlier form of the same helper). Every pair must match.
 */
export function parseLabelFilter(raw: string): Record<string, string> | undefined {
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return isStringRecord(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  const out: Record<string, string> = {};
  for (const pair of text.split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
