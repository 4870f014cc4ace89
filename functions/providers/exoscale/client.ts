import type { z } from 'zod';
import type { Logger } from '../../log.ts';
import { registerSecret } from '../../shared/redact.ts';
import { BaseProvider, type ResolvedCreateSpec, stateFrom } from '../base.ts';
import {
  ProviderAuthenticationError,
  type ProviderError,
  ProviderInvalidStateError,
  ProviderPermissionError,
  ProviderValidationError,
} from '../errors.ts';
import { errorDetails, type HttpAnswer, HttpClient, type HttpRequest } from '../http/client.ts';
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
} from '../port.ts';
import { authorizationHeader, DEFAULT_TTL_SECONDS } from './auth.ts';
import {
  errorBodySchema,
  instanceListSchema,
  instanceSchema,
  instanceTypeListSchema,
  operationSchema,
  passwordSchema,
  templateListSchema,
  type WireInstance,
  type WireOperation,
} from './schemas.ts';

/**
 * The Exoscale API v2 adapter: one zone per adapter (`https://api-{zone}.exoscale.com/v2`),
 * EXO2-HMAC-SHA256 on every attempt, every mutation answered by an operation polled through
 * `GET /operation/{id}`.
 */

export interface ExoscaleCredentials {
  apiKey: string;
  apiSecret: string;
}

export interface ExoscaleProviderOptions {
  zone: string;
  credentials: ExoscaleCredentials;
  /** Base URL including `/v2`; defaults to the zone's real endpoint. */
  endpoint?: string;
  retry?: RetryPolicy;
  /** The account's rate limit: calls are paced to it. */
  requestsPerSecond?: number;
  logger?: Logger;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
}

/** Exoscale's zones; each has its own API endpoint `https://api-{zone}.exoscale.com/v2`. */
export const ZONES = [
  'ch-gva-2',
  'ch-dk-2',
  'de-fra-1',
  'de-muc-1',
  'at-vie-1',
  'at-vie-2',
  'bg-sof-1',
  'hr-zag-1',
] as const;
export type Zone = (typeof ZONES)[number];
export const DEFAULT_ZONE: Zone = 'ch-gva-2';

/**
 * The API reports no protection flag on an instance (there is no get-instance-protection call;
 * Terraform's provider says as much), so the adapter records what it set in this label.
 * Protection changed elsewhere therefore reads as unknown (`protected` undefined).
 */
export const PROTECTION_LABEL = 'fleetflow-protected';

/** Exoscale's create-instance requires a disk size; 50 GiB is the exo CLI's default. */
export const DEFAULT_DISK_SIZE_GIB = 50;

export const CAPABILITIES: Capabilities = {
  list: { supported: true },
  get: { supported: true },
  create: { supported: true },
  start: { supported: true, requiresState: ['stopped'] },
  stop: { supported: true, requiresState: ['running'] },
  reboot: { supported: true, requiresState: ['running'] },
  scale: {
    supported: true,
    requiresState: ['stopped'],
    note: 'Exoscale scales only a stopped instance, and only within its family (standard.* to standard.*)',
  },
  snapshot: {
    supported: true,
    note: 'Exoscale names snapshots itself: create-snapshot takes no body, so the given name is not sent',
  },
  delete: { supported: true, note: 'refused while destruction protection is on' },
  protection: {
    supported: true,
    note: `the API does not report protection; fleetflow mirrors what it set in the '${PROTECTION_LABEL}' label`,
  },
  labels: { supported: true },
  metrics: { supported: false, note: "Exoscale's API v2 reports no usage figures for an instance" },
};

/** Exoscale's `instance-state` values onto the port's states. */
export const STATE_MAP: Record<string, InstanceState> = {
  starting: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  destroying: 'deleting',
  expunging: 'deleting',
  destroyed: 'deleted',
  error: 'error',
  // Exoscale migrates instances live (maintenance): the instance keeps running.
  migrating: 'running',
};

export function mapState(raw: string | undefined): InstanceState {
  return stateFrom(STATE_MAP, raw);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ExoscaleProvider extends BaseProvider {
  readonly provider = 'exoscale' as const;
  readonly capabilities: Capabilities = CAPABILITIES;
  private readonly http: HttpClient;

  constructor(options: ExoscaleProviderOptions) {
    super(options.zone);
    const { apiKey, apiSecret } = options.credentials;
    this.http = new HttpClient({
      provider: 'exoscale',
      baseUrl: options.endpoint ?? `https://api-${options.zone}.exoscale.com/v2`,
      secrets: [apiKey, apiSecret],
      authenticate: (prepared) => ({
        ...prepared,
        headers: {
          ...prepared.headers,
          authorization: authorizationHeader(apiKey, apiSecret, {
            method: prepared.method,
            path: prepared.path,
            ...(prepared.body !== undefined && { body: prepared.body }),
            query: prepared.query,
            expires: Math.floor(Date.now() / 1000) + DEFAULT_TTL_SECONDS,
          }),
        },
      }),
      mapError: mapExoscaleError,
      ...(options.retry && { retry: options.retry }),
      ...(options.requestsPerSecond && { requestsPerSecond: options.requestsPerSecond }),
      ...(options.logger && { logger: options.logger }),
      ...(options.timeouts && { timeouts: options.timeouts }),
    });
  }

  // ---- raw calls -------------------------------------------------------------------------
  protected async _list(filter: InstanceFilter): Promise<Instance[]> {
    // Server-side label filter (`k=v k2=v2`); pairs that cannot travel in that form are left to
    // the client-side filter in BaseProvider.list.
    const pairs = Object.entries(filter.labels ?? {}).filter(
      ([k, v]) => k && !/[\s=]/.test(k) && !/\s/.test(v),
    );
    const query = pairs.length ? { labels: pairs.map(([k, v]) => `${k}=${v}`).join(' ') } : undefined;
    const body = parse(
      instanceListSchema,
      await this.http.json({ method: 'GET', path: '/instance', ...(query && { query }), action: 'list' }),
      'list',
    );
    const names = await this.names();
    return (body.instances ?? []).map((i) => this.toInstance(i, names));
  }

  protected async _get(id: string): Promise<Instance> {
    const wire = parse(
      instanceSchema,
      await this.http.json({ method: 'GET', path: `/instance/${id}`, action: 'get' }),
      'get',
    );
    return this.toInstance(wire, await this.names());
  }

  protected async _create(spec: ResolvedCreateSpec): Promise<Operation> {
    const body: Record<string, unknown> = {
      // Provider-only options first (security-groups, public-ip-assignment, auto-start…), so the
      // port's own fields win.
      ...spec.extra,
      name: spec.name,
      'instance-type': { id: spec.typeId },
      template: { id: spec.templateId },
      'disk-size': spec.diskSize ?? DEFAULT_DISK_SIZE_GIB,
    };
    if (Object.keys(spec.labels).length > 0) body.labels = spec.labels;
    if (spec.sshKey) body['ssh-keys'] = [{ name: spec.sshKey }];
    // The API takes user data base64-encoded.
    if (spec.userData) body['user-data'] = Buffer.from(spec.userData, 'utf8').toString('base64');
    return this.mutate('create', { method: 'POST', path: '/instance', json: body });
  }

  protected override _start(id: string): Promise<Operation> {
    return this.mutate('start', { method: 'PUT', path: `/instance/${id}:start`, json: {} }, id);
  }
  protected override _stop(id: string): Promise<Operation> {
    return this.mutate('stop', { method: 'PUT', path: `/instance/${id}:stop` }, id);
  }
  protected override _reboot(id: string): Promise<Operation> {
    return this.mutate('reboot', { method: 'PUT', path: `/instance/${id}:reboot` }, id);
  }
  protected override _scale(id: string, typeId: string): Promise<Operation> {
    return this.mutate(
      'scale',
      { method: 'PUT', path: `/instance/${id}:scale`, json: { 'instance-type': { id: typeId } } },
      id,
    );
  }
  protected override _snapshot(id: string, _name: string): Promise<Operation> {
    // No body: the API names the snapshot (see capabilities.snapshot.note).
    return this.mutate('snapshot', { method: 'POST', path: `/instance/${id}:create-snapshot` }, id);
  }
  protected override _delete(id: string): Promise<Operation> {
    return this.mutate('delete', { method: 'DELETE', path: `/instance/${id}` }, id);
  }

  protected override async _setProtection(id: string, enabled: boolean): Promise<Operation> {
    const verb = enabled ? 'add-protection' : 'remove-protection';
    const op = await this.mutate('protection', { method: 'PUT', path: `/instance/${id}:${verb}` }, id);
    // Record it where a later read can see it (the API itself never reports protection).
    await this._setLabels(id, { [PROTECTION_LABEL]: String(enabled) });
    return op;
  }

  protected override async _setLabels(
    id: string,
    changes: Record<string, string | null>,
  ): Promise<Operation> {
    // update-instance replaces the whole label map: read, merge, write.
    const current = parse(
      instanceSchema,
      await this.http.json({ method: 'GET', path: `/instance/${id}`, action: 'labels' }),
      'labels',
    );
    const labels: Record<string, string> = { ...(current.labels ?? {}) };
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete labels[k];
      else labels[k] = v;
    }
    return this.mutate('labels', { method: 'PUT', path: `/instance/${id}`, json: { labels } }, id);
  }

  protected async _operation(ref: OperationRef): Promise<Operation> {
    const wire = parse(
      operationSchema,
      await this.http.json({
        method: 'GET',
        path: `/operation/${encodeURIComponent(ref.id)}`,
        action: ref.action,
      }),
      'operation',
    );
    return toOperation(ref, wire);
  }

  protected async _instanceTypes(): Promise<CatalogueEntry[]> {
    const body = parse(
      instanceTypeListSchema,
      await this.http.json({ method: 'GET', path: '/instance-type', action: 'instance-types' }),
      'instance-types',
    );
    return (body['instance-types'] ?? []).map((t) => ({
      id: t.id,
      name: `${t.family}.${t.size}`,
      extra: {
        family: t.family,
        size: t.size,
        cpus: t.cpus,
        gpus: t.gpus,
        memory: t.memory,
        authorized: t.authorized,
      },
    }));
  }

  protected async _templates(): Promise<CatalogueEntry[]> {
    // Ask for both visibilities: which one the API lists by default is not documented.
    const lists = await Promise.all(
      (['public', 'private'] as const).map(async (visibility) =>
        parse(
          templateListSchema,
          await this.http.json({
            method: 'GET',
            path: '/template',
            query: { visibility },
            action: 'templates',
          }),
          'templates',
        ),
      ),
    );
    const byId = new Map<string, CatalogueEntry>();
    for (const list of lists) {
      for (const t of list.templates ?? []) {
        byId.set(t.id, {
          id: t.id,
          name: t.name,
          extra: {
            family: t.family,
            visibility: t.visibility,
            defaultUser: t['default-user'],
            passwordEnabled: t['password-enabled'],
            bootMode: t['boot-mode'],
          },
        });
      }
    }
    return [...byId.values()];
  }

  // ---- Exoscale-only operations ----------------------------------------------------------
  /** Re-installs the instance from its template (or another one), optionally on a bigger disk. Wipes the disk. */
  async exReset(id: string, options: { template?: string; diskSize?: number } = {}): Promise<Operation> {
    const body: Record<string, unknown> = {};
    if (options.template) body.template = { id: (await this.resolveTemplate(options.template)).id };
    if (options.diskSize !== undefined) body['disk-size'] = options.diskSize;
    // Reported as a reboot: the port has no reset action, and a reset ends where a reboot does.
    return this.mutate(
      'reboot',
      { method: 'PUT', path: `/instance/${this.uuid(id, 'reset')}:reset`, json: body },
      id,
    );
  }

  /** Grows the disk (it cannot shrink); the instance must be stopped. Reported as a `scale` operation. */
  async exResizeDisk(id: string, diskSize: number): Promise<Operation> {
    if (!Number.isInteger(diskSize) || diskSize < 10 || diskSize > 51200) {
      throw this.inputError(
        'scale',
        `disk size must be a whole number of GiB between 10 and 51200, not ${diskSize}`,
      );
    }
    return this.mutate(
      'scale',
      {
        method: 'PUT',
        path: `/instance/${this.uuid(id, 'resize-disk')}:resize-disk`,
        json: { 'disk-size': diskSize },
      },
      id,
    );
  }

  /** Restores the disk from one of the instance's snapshots; the instance must be stopped. Reported as a `snapshot` operation. */
  async exRevertToSnapshot(id: string, snapshotId: string): Promise<Operation> {
    const snapshot = this.uuid(snapshotId, 'revert-snapshot');
    return this.mutate(
      'snapshot',
      {
        method: 'POST',
        path: `/instance/${this.uuid(id, 'revert-snapshot')}:revert-snapshot`,
        json: { id: snapshot },
      },
      id,
    );
  }

  /** The password set at creation or by the latest password reset (kept at most 24 h by Exoscale). */
  async exRevealPassword(id: string): Promise<string> {
    const body = parse(
      passwordSchema,
      await this.http.json({
        method: 'GET',
        path: `/instance/${this.uuid(id, 'reveal-password')}:password`,
        action: 'reveal-password',
      }),
      'reveal-password',
    );
    // Never let it reach a log line or an error message.
    registerSecret(body.password);
    return body.password;
  }

  // ---- helpers ---------------------------------------------------------------------------
  private async mutate(
    action: Action,
    request: Omit<HttpRequest, 'action'>,
    instanceId?: string,
  ): Promise<Operation> {
    const wire = parse(operationSchema, await this.http.json({ ...request, action }), action);
    const ref: OperationRef = { provider: this.provider, location: this.location, id: wire.id, action };
    const target = instanceId ?? (action === 'create' ? wire.reference?.id : undefined);
    if (target) ref.instanceId = target;
    return toOperation(ref, wire);
  }

  private uuid(id: string, action: string): string {
    if (typeof id !== 'string' || !UUID.test(id))
      throw this.inputError(action, `invalid id '${String(id).slice(0, 40)}'`);
    return id;
  }

  /** Type and template names by id, from the (cached) catalogue. */
  private async names(): Promise<{ types: Map<string, string>; templates: Map<string, string> }> {
    // One after the other: the first loads the whole catalogue, the second reads the cache.
    const types = await this.instanceTypes();
    const templates = await this.templates();
    return {
      types: new Map(types.map((t) => [t.id, t.name])),
      templates: new Map(templates.map((t) => [t.id, t.name])),
    };
  }

  private toInstance(
    w: WireInstance,
    names: { types: Map<string, string>; templates: Map<string, string> },
  ): Instance {
    const labels = { ...(w.labels ?? {}) };
    const it = w['instance-type'];
    const typeName =
      it?.family && it.size ? `${it.family}.${it.size}` : it ? (names.types.get(it.id) ?? it.id) : 'unknown';
    const mirror = labels[PROTECTION_LABEL];
    const providerState = w.state ?? 'unknown';
    const instance: Instance = {
      id: w.id,
      name: w.name ?? '',
      provider: 'exoscale',
      location: this.location,
      state: mapState(w.state),
      providerState,
      type: typeName,
      labels,
      ipv4: w['public-ip'] ? [w['public-ip']] : [],
      ipv6: w['ipv6-address'] ? [w['ipv6-address']] : [],
      extra: compact({
        templateId: w.template?.id,
        templateName: w.template ? names.templates.get(w.template.id) : undefined,
        diskSize: w['disk-size'],
        macAddress: w['mac-address'],
        publicIpAssignment: w['public-ip-assignment'],
        securityGroupIds: w['security-groups']?.map((g) => g.id),
        privateNetworkIds: w['private-networks']?.map((n) => n.id),
        elasticIpIds: w['elastic-ips']?.map((e) => e.id),
        antiAffinityGroupIds: w['anti-affinity-groups']?.map((g) => g.id),
        snapshotIds: w.snapshots?.map((s) => s.id),
        sshKeys: w['ssh-keys']?.map((k) => k.name) ?? (w['ssh-key'] ? [w['ssh-key'].name] : undefined),
        manager: w.manager ?? undefined,
        deployTargetId: w['deploy-target']?.id,
        securebootEnabled: w['secureboot-enabled'],
        tpmEnabled: w['tpm-enabled'],
      }),
    };
    if (it) instance.typeId = it.id;
    if (w['created-at']) instance.createdAt = w['created-at'];
    if (mirror === 'true' || mirror === 'false') instance.protected = mirror === 'true';
    return instance;
  }
}

function toOperation(ref: OperationRef, wire: WireOperation): Operation {
  const base: OperationRef = {
    provider: ref.provider,
    location: ref.location,
    id: ref.id,
    action: ref.action,
  };
  if (ref.instanceId) base.instanceId = ref.instanceId;
  switch (wire.state) {
    case 'success':
      return { ...base, status: 'succeeded', ...(wire.reference?.id && { resourceId: wire.reference.id }) };
    case 'failure':
    case 'timeout': {
      const why = [wire.reason ?? wire.state, wire.message].filter(Boolean).join(': ');
      return { ...base, status: 'failed', reason: why || wire.state };
    }
    default:
      // `pending`, and any state this adapter does not know yet: keep polling.
      return { ...base, status: 'pending' };
  }
}

/** Reads Exoscale's error bodies: `{"message"}`, `{"error"}`, RFC 9457 problem details, or text. */
export function readErrorBody(answer: HttpAnswer): { message: string; code?: string } {
  const parsed = errorBodySchema.safeParse(answer.body);
  if (parsed.success) {
    const b = parsed.data;
    const extra = (b.errors ?? []).map((e) =>
      typeof e === 'string' ? e : [e.location, e.detail].filter(Boolean).join(': '),
    );
    const message = b.message ?? b.error ?? b.detail ?? b.title;
    if (message) return { message: [message, ...extra].join('; '), ...(b.type && { code: b.type }) };
  }
  const text = answer.text.trim().slice(0, 300);
  return { message: text || `HTTP ${answer.status}` };
}

/** A non-2xx answer → a typed error (status first, then the few messages that say more). */
export function mapExoscaleError(answer: HttpAnswer, request: HttpRequest): ProviderError {
  const { message, code } = readErrorBody(answer);
  const text = `exoscale: ${request.method} ${request.path}: ${message} (HTTP ${answer.status})`;
  const details = errorDetails('exoscale', answer, request, code);
  const { status } = answer;
  if (status === 403) {
    if (/signature|credential|expired|authorization header|api key/i.test(message))
      return new ProviderAuthenticationError(text, details);
    if (/protection|protected/i.test(message)) return new ProviderInvalidStateError(text, details);
    return new ProviderPermissionError(text, details);
  }
  if (
    status === 400 &&
    /not allowed in state|must be stopped|is not stopped|is not running|invalid state/i.test(message)
  ) {
    return new ProviderInvalidStateError(text, details);
  }
  if (status === 400 || status === 422) return new ProviderValidationError(text, details);
  return errorForStatus(status, text, details);
}

function parse<S extends z.ZodType>(schema: S, value: unknown, action: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ProviderValidationError(
    `exoscale: unexpected answer to ${action}: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'invalid shape'}`,
    { provider: 'exoscale', action, code: 'unexpected-response' },
  );
}

function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
