/**
 * The provider port: the one interface every cloud adapter implements and every workflow uses.
 *
 * An adapter is bound to one account (credentials + endpoint) and one location (an Exoscale zone,
 * a Gcore project/region, a cloud.ca service/environment…), so workflows and the CLI never carry
 * provider-specific location fields past the adapter's constructor.
 */

export const PROVIDER_IDS = ['exoscale', 'exoscale-v1', 'gcore', 'genesiscloud', 'cloudca'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/**
 * One state enum for every provider. Each adapter maps its own states onto it and anything it
 * does not recognise becomes `unknown` (never a guess); the raw value stays in `providerState`.
 */
export const INSTANCE_STATES = [
  'pending', // being created
  'starting',
  'running',
  'stopping',
  'stopped',
  'rebooting',
  'resizing',
  'deleting',
  'deleted',
  'error',
  'unknown',
] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** A compute instance as fleetflow sees it, whatever the provider. */
export interface Instance {
  id: string;
  name: string;
  provider: ProviderId;
  /** The adapter's location string (see `ComputeProvider.location`). */
  location: string;
  state: InstanceState;
  /** The provider's own state value, for people and for debugging. */
  providerState: string;
  /** Instance type (flavor, service offering, compute offering) by its name where known, else id. */
  type: string;
  typeId?: string;
  labels: Record<string, string>;
  ipv4: string[];
  ipv6: string[];
  /** ISO 8601, when the provider says. */
  createdAt?: string;
  /** Termination/deletion protection, where the provider has it. */
  protected?: boolean;
  /** Provider-only fields, kept apart from the normalised ones (Libcloud's `extra`). */
  extra: Record<string, unknown>;
}

/** The port's actions; capabilities and errors name them. */
export const ACTIONS = [
  'list',
  'get',
  'create',
  'start',
  'stop',
  'reboot',
  'scale',
  'snapshot',
  'delete',
  'protection',
  'labels',
  'metrics',
] as const;
export type Action = (typeof ACTIONS)[number];

export interface ActionCapability {
  supported: boolean;
  /** States the instance must be in for the provider to accept the action. */
  requiresState?: InstanceState[];
  /** A short human note: why unsupported, or a provider quirk worth knowing. */
  note?: string;
}

export type Capabilities = Record<Action, ActionCapability>;

/**
 * A reference to asynchronous work at the provider: an Exoscale operation, a CloudStack async job,
 * a Gcore or cloud.ca task, or (Genesis Cloud) an instance expected to reach a status. Plain JSON,
 * so it can travel through Step Functions state.
 */
export interface OperationRef {
  provider: ProviderId;
  location: string;
  id: string;
  action: Action;
  /** The instance the work is about, when known before it finishes. */
  instanceId?: string;
}

export type Operation =
  | (OperationRef & { status: 'pending' })
  | (OperationRef & { status: 'succeeded'; resourceId?: string })
  | (OperationRef & { status: 'failed'; reason: string });

export interface InstanceFilter {
  /** Every given label must match exactly. */
  labels?: Record<string, string>;
  /** Any of the given states. */
  states?: InstanceState[];
  /** Exact name. */
  name?: string;
}

export interface CreateInstanceSpec {
  name: string;
  /** Instance type by id or by name; resolved through the provider's catalogue. */
  type: string;
  /** Template/image by id or by name; resolved through the provider's catalogue. */
  template: string;
  diskSize?: number;
  labels?: Record<string, string>;
  sshKey?: string;
  userData?: string;
  /**
   * The caller's idempotency key. Adapters carry it on the instance (label, tag or metadata) so
   * that a create whose outcome is unknown can be looked up instead of re-sent blindly.
   */
  idempotencyKey?: string;
  /** Provider-only options (e.g. Gcore interfaces, Genesis Cloud security groups). */
  extra?: Record<string, unknown>;
}

export interface CatalogueEntry {
  id: string;
  name: string;
  extra?: Record<string, unknown>;
}

/**
 * Usage the provider measured over one interval: CPU in percent of the instance's capacity (100 =
 * all of it, however many cores) and network traffic in and out together, in KiB per second.
 * A figure the provider did not report is left out, never guessed.
 */
export interface UsageSample {
  from: string;
  to: string;
  cpuPercent?: number;
  networkKBps?: number;
}

/**
 * What `usage()` returns, in the provider's own model: a history the provider keeps (Gcore's
 * instance metrics), or a point reading whose network figure is a running counter (CloudStack's
 * `cpuused` and `networkkbsread`/`networkkbswrite`), which only turns into rates once it is
 * sampled again later (functions/metrics/ keeps those samples).
 */
export type UsageReading =
  | { kind: 'series'; samples: UsageSample[] }
  | { kind: 'counters'; at: string; cpuPercent?: number; networkKB?: number };

/** The label/tag key adapters use to carry a create's idempotency key. */
export const IDEMPOTENCY_LABEL = 'fleetflow-idempotency-key';

export interface ComputeProvider {
  readonly provider: ProviderId;
  /** The location this adapter is bound to, in the provider's own form (e.g. `ch-gva-2`, `1/76`). */
  readonly location: string;
  readonly capabilities: Capabilities;

  /** Every instance matching the filter, across all pages. */
  list(filter?: InstanceFilter): Promise<Instance[]>;
  get(id: string): Promise<Instance>;
  create(spec: CreateInstanceSpec): Promise<Operation>;
  start(id: string): Promise<Operation>;
  /**
   * `seen`: the state the caller just listed. An adapter that reads the instance before stopping
   * (to refuse a stopped one) may trust it instead and save the call; a stale `seen` then only
   * turns that refusal into a no-op success, which is what a scheduled stop wants anyway.
   */
  stop(id: string, options?: { seen?: InstanceState }): Promise<Operation>;
  reboot(id: string): Promise<Operation>;
  /** Change the instance type; see `capabilities.scale.requiresState`. */
  scale(id: string, type: string): Promise<Operation>;
  /** Snapshot the instance (or its boot volume); the succeeded operation carries the snapshot id. */
  snapshot(id: string, name: string): Promise<Operation>;
  delete(id: string): Promise<Operation>;
  setProtection(id: string, enabled: boolean): Promise<Operation>;
  /**
   * Sets (string) or removes (null) labels/tags/metadata; other labels stay. Providers without
   * labels declare `labels` unsupported, and then instances always have `labels: {}`.
   */
  setLabels(id: string, changes: Record<string, string | null>): Promise<Operation>;
  /**
   * Usage figures since `since` (see `capabilities.metrics`). `seen`: the instance as just listed;
   * an adapter whose listing already carries the figures uses them instead of another call.
   */
  usage(id: string, options: { since: Date; seen?: Instance }): Promise<UsageReading>;
  /** Current status of asynchronous work started by one of the calls above. */
  operation(ref: OperationRef): Promise<Operation>;

  instanceTypes(): Promise<CatalogueEntry[]>;
  templates(): Promise<CatalogueEntry[]>;
  /** Finds a type/template by id or name; a typed not-found error lists what exists. */
  resolveType(nameOrId: string): Promise<CatalogueEntry>;
  resolveTemplate(nameOrId: string): Promise<CatalogueEntry>;
}

/** The state an action leaves an instance in, for waits and verification. */
export const TARGET_STATE: Partial<Record<Action, InstanceState>> = {
  create: 'running',
  start: 'running',
  stop: 'stopped',
  reboot: 'running',
  delete: 'deleted',
};
