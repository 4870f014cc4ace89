import {
  ProviderInputError,
  ProviderNotFoundError,
  ProviderOutcomeUnknownError,
  UnsupportedActionError,
} from './errors.ts';
import {
  type Action,
  type Capabilities,
  type CatalogueEntry,
  type ComputeProvider,
  type CreateInstanceSpec,
  IDEMPOTENCY_LABEL,
  type Instance,
  type InstanceFilter,
  type InstanceState,
  type Operation,
  type OperationRef,
  type ProviderId,
  type UsageReading,
} from './port.ts';

/** A create spec whose type and template have been resolved through the catalogue. */
export interface ResolvedCreateSpec extends CreateInstanceSpec {
  typeId: string;
  templateId: string;
  labels: Record<string, string>;
}

// Ids travel into URL paths: refuse anything that could change the path or the query.
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The cross-cutting work every adapter needs, done once (Powertools' BaseProvider idea):
 * capability checks before any request, id validation, catalogue resolution by id or name,
 * client-side filtering as a safety net after server-side filters, and idempotent creates.
 * Each adapter implements only its raw calls (`_list`, `_get`, `_create`, …).
 */
export abstract class BaseProvider implements ComputeProvider {
  abstract readonly provider: ProviderId;
  abstract readonly capabilities: Capabilities;
  private catalogue?: { types: CatalogueEntry[]; templates: CatalogueEntry[]; at: number };

  constructor(readonly location: string) {}

  // ---- what each adapter implements ------------------------------------------------------
  /** Every instance, all pages; may apply the filter server-side where the provider can. */
  protected abstract _list(filter: InstanceFilter): Promise<Instance[]>;
  protected abstract _get(id: string): Promise<Instance>;
  protected abstract _create(spec: ResolvedCreateSpec): Promise<Operation>;
  protected abstract _operation(ref: OperationRef): Promise<Operation>;
  protected abstract _instanceTypes(): Promise<CatalogueEntry[]>;
  protected abstract _templates(): Promise<CatalogueEntry[]>;
  protected _start(_id: string): Promise<Operation> {
    return this.unsupported('start');
  }
  protected _stop(_id: string, _options: { seen?: InstanceState } = {}): Promise<Operation> {
    return this.unsupported('stop');
  }
  protected _reboot(_id: string): Promise<Operation> {
    return this.unsupported('reboot');
  }
  protected _scale(_id: string, _typeId: string): Promise<Operation> {
    return this.unsupported('scale');
  }
  protected _snapshot(_id: string, _name: string): Promise<Operation> {
    return this.unsupported('snapshot');
  }
  protected _delete(_id: string): Promise<Operation> {
    return this.unsupported('delete');
  }
  protected _setProtection(_id: string, _enabled: boolean): Promise<Operation> {
    return this.unsupported('protection');
  }
  protected _setLabels(_id: string, _changes: Record<string, string | null>): Promise<Operation> {
    return this.unsupported('labels');
  }
  protected _usage(_id: string, _options: { since: Date; seen?: Instance }): Promise<UsageReading> {
    return this.unsupported('metrics');
  }
  /**
   * Finds an instance created with this idempotency key. The default looks for the label; an
   * adapter whose provider cannot filter by label may override (e.g. by name, then by label).
   */
  protected async findByIdempotencyKey(key: string, spec: ResolvedCreateSpec): Promise<Instance | undefined> {
    const found = await this._list({ labels: { [IDEMPOTENCY_LABEL]: key } });
    return found.find(
      (i) => i.labels[IDEMPOTENCY_LABEL] === key && i.state !== 'deleted' && i.name === spec.name,
    );
  }

  // ---- the port --------------------------------------------------------------------------
  async list(filter: InstanceFilter = {}): Promise<Instance[]> {
    this.require('list');
    const all = await this._list(filter);
    return all.filter((i) => matches(i, filter));
  }

  async get(id: string): Promise<Instance> {
    this.require('get');
    return this._get(this.checkId(id));
  }

  async create(spec: CreateInstanceSpec): Promise<Operation> {
    this.require('create');
    if (!spec.name || typeof spec.name !== 'string') throw this.inputError('create', 'a name is required');
    const [type, template] = await Promise.all([
      this.resolveType(spec.type),
      this.resolveTemplate(spec.template),
    ]);
    const labels = { ...spec.labels };
    // Providers without labels find the instance by name instead (see findByIdempotencyKey).
    if (spec.idempotencyKey && this.capabilities.labels.supported)
      labels[IDEMPOTENCY_LABEL] = spec.idempotencyKey;
    const resolved: ResolvedCreateSpec = { ...spec, typeId: type.id, templateId: template.id, labels };

    if (spec.idempotencyKey) {
      // A retry of a create that already happened must return the existing instance, not a twin.
      const existing = await this.findByIdempotencyKey(spec.idempotencyKey, resolved);
      if (existing) return this.succeeded('create', existing.id, existing.id);
    }
    try {
      return await this._create(resolved);
    } catch (error) {
      if (!(error instanceof ProviderOutcomeUnknownError) || !spec.idempotencyKey) throw error;
      // The request may have been applied: look it up instead of sending it again.
      const existing = await this.findByIdempotencyKey(spec.idempotencyKey, resolved);
      if (existing) return this.succeeded('create', existing.id, existing.id);
      // Not there: the provider never applied it, so one more send cannot make a twin.
      return this._create(resolved);
    }
  }

  async start(id: string): Promise<Operation> {
    this.require('start');
    return this._start(this.checkId(id));
  }
  async stop(id: string, options: { seen?: InstanceState } = {}): Promise<Operation> {
    this.require('stop');
    return this._stop(this.checkId(id), options);
  }
  async reboot(id: string): Promise<Operation> {
    this.require('reboot');
    return this._reboot(this.checkId(id));
  }
  async scale(id: string, type: string): Promise<Operation> {
    this.require('scale');
    const resolved = await this.resolveType(type);
    return this._scale(this.checkId(id), resolved.id);
  }
  async snapshot(id: string, name: string): Promise<Operation> {
    this.require('snapshot');
    if (!name) throw this.inputError('snapshot', 'a snapshot name is required');
    return this._snapshot(this.checkId(id), name);
  }
  async delete(id: string): Promise<Operation> {
    this.require('delete');
    return this._delete(this.checkId(id));
  }
  async setProtection(id: string, enabled: boolean): Promise<Operation> {
    this.require('protection');
    return this._setProtection(this.checkId(id), enabled);
  }
  async setLabels(id: string, changes: Record<string, string | null>): Promise<Operation> {
    this.require('labels');
    return this._setLabels(this.checkId(id), changes);
  }
  async usage(id: string, options: { since: Date; seen?: Instance }): Promise<UsageReading> {
    this.require('metrics');
    return this._usage(this.checkId(id), options);
  }
  async operation(ref: OperationRef): Promise<Operation> {
    if (ref.provider !== this.provider) {
      throw this.inputError('operation', `operation belongs to ${ref.provider}, not ${this.provider}`);
    }
    return this._operation(ref);
  }

  async instanceTypes(): Promise<CatalogueEntry[]> {
    return (await this.loadCatalogue()).types;
  }
  async templates(): Promise<CatalogueEntry[]> {
    return (await this.loadCatalogue()).templates;
  }

  // ---- helpers for adapters --------------------------------------------------------------
  /** A pending operation reference. */
  protected pending(action: Action, id: string, instanceId?: string): Operation {
    return {
      provider: this.provider,
      location: this.location,
      id,
      action,
      status: 'pending',
      ...(instanceId && { instanceId }),
    };
  }
  /** Work that finished synchronously. */
  protected succeeded(action: Action, id: string, resourceId?: string, instanceId?: string): Operation {
    return {
      provider: this.provider,
      location: this.location,
      id,
      action,
      status: 'succeeded',
      ...(resourceId !== undefined && { resourceId }),
      ...(instanceId && { instanceId }),
    };
  }
  protected failed(ref: OperationRef, reason: string): Operation {
    return { ...ref, status: 'failed', reason };
  }

  async resolveType(nameOrId: string): Promise<CatalogueEntry> {
    return this.resolve('instance type', (await this.loadCatalogue()).types, nameOrId);
  }
  async resolveTemplate(nameOrId: string): Promise<CatalogueEntry> {
    return this.resolve('template', (await this.loadCatalogue()).templates, nameOrId);
  }

  private resolve(kind: string, entries: CatalogueEntry[], nameOrId: string): CatalogueEntry {
    if (!nameOrId) throw this.inputError('create', `a ${kind} is required`);
    const wanted = nameOrId.toLowerCase();
    const hit =
      entries.find((e) => e.id === nameOrId) ?? entries.find((e) => e.name.toLowerCase() === wanted);
    if (hit) return hit;
    const some = entries
      .slice(0, 8)
      .map((e) => e.name)
      .join(', ');
    throw new ProviderNotFoundError(
      `${this.provider}: unknown ${kind} '${nameOrId}' (known: ${some}${entries.length > 8 ? ', …' : ''})`,
      {
        provider: this.provider,
        action: 'create',
        code: `unknown-${kind.replace(' ', '-')}`,
      },
    );
  }

  private async loadCatalogue() {
    // Catalogues change rarely; five minutes saves a request per create/scale.
    if (!this.catalogue || Date.now() - this.catalogue.at > 300_000) {
      const [types, templates] = await Promise.all([this._instanceTypes(), this._templates()]);
      this.catalogue = { types, templates, at: Date.now() };
    }
    return this.catalogue;
  }

  private require(action: Action): void {
    const cap = this.capabilities[action];
    if (!cap.supported) throw new UnsupportedActionError(this.provider, action, cap.note);
  }

  private unsupported(action: Action): never {
    throw new UnsupportedActionError(this.provider, action, this.capabilities[action].note);
  }

  private checkId(id: string): string {
    if (typeof id !== 'string' || !SAFE_ID.test(id))
      throw this.inputError('get', `invalid instance id '${String(id).slice(0, 40)}'`);
    return id;
  }

  protected inputError(action: string, message: string): ProviderInputError {
    return new ProviderInputError(`${this.provider}: ${message}`, { provider: this.provider, action });
  }
}

/**
 * A provider's status through its state map, `unknown` when the map has no entry (Libcloud's
 * `NODE_STATE_MAP.get(status, NodeState.UNKNOWN)`); own keys only, so `constructor` is unknown too.
 */
export function stateFrom(
  map: Readonly<Record<string, InstanceState>>,
  status: string | null | undefined,
): InstanceState {
  return status != null && Object.hasOwn(map, status) ? map[status]! : 'unknown';
}

/** Whether an instance satisfies a filter (used after server-side filtering, as a safety net). */
export function matches(instance: Instance, filter: InstanceFilter): boolean {
  if (filter.name !== undefined && instance.name !== filter.name) return false;
  if (filter.states?.length && !filter.states.includes(instance.state)) return false;
  for (const [k, v] of Object.entries(filter.labels ?? {})) if (instance.labels[k] !== v) return false;
  return true;
}
