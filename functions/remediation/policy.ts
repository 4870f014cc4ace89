import * as z from 'zod';
import {
  type Action,
  type Capabilities,
  INSTANCE_STATES,
  type Instance,
  type InstanceState,
  PROVIDER_IDS,
  type ProviderId,
} from '../providers/port.ts';
import { durationSchema, parseDurationSeconds } from '../shared/duration.ts';
import { isReservedKey, RESERVED_KEY_MESSAGE } from '../shared/keys.ts';

/**
 * Remediation policies as code (issue 7), in the spirit of Cloud Custodian: filters on the LIVE
 * instance, combined with all/any/not; ordered actions; mode `event` (an alert or drift event
 * names the instance) or `periodic` (a sweep lists the fleet); dry-run; a blast-radius cap; a
 * cooldown per instance. Everything here is pure: the workflow's handlers feed it a fresh instance
 * and the provider's declared capabilities.
 */

// ---- small value types -------------------------------------------------------------------------

/** '30s', '30m', '2h', '7d' → seconds. */
export function durationSeconds(text: string): number {
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined) throw new PolicyError(`'${text}' is not a duration such as 30s, 30m, 2h or 7d`);
  return seconds;
}

/** A count, or a share of the instances in scope such as "10%". */
const capSchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^(100|[1-9]?\d)%$/, 'a count or a percentage such as "10%"'),
]);

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);
const labelKey = z
  .string()
  .min(1)
  .max(128)
  .refine((k) => !isReservedKey(k), RESERVED_KEY_MESSAGE);

export class PolicyError extends Error {
  override name = 'PolicyError';
}

// ---- filters ----------------------------------------------------------------------------------

export interface Filter {
  all?: Filter[];
  any?: Filter[];
  not?: Filter;
  provider?: ProviderId | ProviderId[];
  account?: string | string[];
  location?: string | string[];
  name?: string;
  labels?: Record<string, string | string[]>;
  labelPresent?: string | string[];
  labelAbsent?: string | string[];
  state?: InstanceState | InstanceState[];
  type?: string | string[];
  olderThan?: string;
  newerThan?: string;
  publicIp?: boolean;
  protected?: boolean;
}

/** Every key given must hold (an implicit "all"); all/any/not nest. An empty filter matches everything. */
export const filterSchema: z.ZodType<Filter> = z.lazy(() =>
  z
    .strictObject({
      all: z.array(filterSchema).min(1).optional(),
      any: z.array(filterSchema).min(1).optional(),
      not: filterSchema.optional(),
      provider: oneOrMany(z.enum(PROVIDER_IDS)).optional(),
      account: oneOrMany(z.string().min(1)).optional(),
      location: oneOrMany(z.string().min(1)).optional(),
      name: z
        .string()
        .min(1)
        .max(256)
        .optional()
        .describe('a glob (web-*, db-?1) or a /regular expression/ matched against the whole name'),
      labels: z
        .record(labelKey, oneOrMany(z.string().max(256)))
        .optional()
        .describe('each label equals (one of) the values'),
      labelPresent: oneOrMany(labelKey).optional(),
      labelAbsent: oneOrMany(labelKey).optional(),
      state: oneOrMany(z.enum(INSTANCE_STATES)).optional(),
      type: oneOrMany(z.string().min(1)).optional().describe('instance type by name (or id)'),
      olderThan: durationSchema.optional().describe('created longer ago than this'),
      newerThan: durationSchema.optional().describe('created more recently than this'),
      publicIp: z.boolean().optional().describe('true: has a public IPv4/IPv6 address; false: has none'),
      protected: z.boolean().optional().describe('deletion/termination protection enabled'),
    })
    .refine((f) => !f.name?.startsWith('/') || isValidRegex(f.name), {
      message: 'not a valid /regular expression/',
      path: ['name'],
    }),
) as z.ZodType<Filter>;

function isValidRegex(text: string): boolean {
  try {
    regexOf(text);
    return true;
  } catch {
    return false;
  }
}

function regexOf(pattern: string): RegExp {
  const re = /^\/(.*)\/([imsu]*)$/.exec(pattern);
  if (re) return new RegExp(re[1]!, re[2]);
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

// ---- actions ----------------------------------------------------------------------------------

export const POLICY_ACTIONS = [
  'snapshot',
  'stop',
  'start',
  'reboot',
  'scale',
  'set-labels',
  'remove-labels',
  'protect',
  'notify',
  'delete',
] as const;
export type PolicyActionName = (typeof POLICY_ACTIONS)[number];

/** One action, normalised. */
export type PolicyAction =
  | { action: 'snapshot'; name?: string }
  | { action: 'stop' | 'start' | 'reboot' | 'protect' | 'delete' }
  | { action: 'scale'; to: string }
  | { action: 'set-labels'; labels: Record<string, string> }
  | { action: 'remove-labels'; keys: string[] }
  | { action: 'notify'; message?: string };

/** Written as a bare name (`reboot`) or as a one-key object with its parameters (`scale: {to: …}`). */
export const actionSchema = z
  .union([
    z.enum(['snapshot', 'stop', 'start', 'reboot', 'protect', 'delete', 'notify']),
    z.strictObject({ snapshot: z.strictObject({ name: z.string().min(1).max(128).optional() }) }),
    z.strictObject({
      scale: z.strictObject({ to: z.string().min(1).max(128).describe('the instance type to scale to') }),
    }),
    z.strictObject({
      'set-labels': z
        .record(labelKey, z.string().max(256))
        .refine((r) => Object.keys(r).length > 0, 'at least one label'),
    }),
    z.strictObject({ 'remove-labels': z.array(labelKey).min(1) }),
    z.strictObject({ notify: z.strictObject({ message: z.string().min(1).max(1024).optional() }) }),
    // The normalised form (what parsing produces), so a parsed policy parses again to itself.
    z.strictObject({
      action: z.enum(POLICY_ACTIONS),
      name: z.string().min(1).max(128).optional(),
      to: z.string().min(1).max(128).optional(),
      labels: z.record(labelKey, z.string().max(256)).optional(),
      keys: z.array(labelKey).min(1).optional(),
      message: z.string().min(1).max(1024).optional(),
    }),
  ])
  .superRefine((a, ctx) => {
    if (typeof a !== 'object' || !('action' in a)) return;
    const need = { scale: 'to', 'set-labels': 'labels', 'remove-labels': 'keys' } as const;
    const key = need[a.action as keyof typeof need];
    if (key && a[key] === undefined) ctx.addIssue({ code: 'custom', message: `${a.action} needs ${key}` });
  })
  .transform((a): PolicyAction => {
    if (typeof a === 'object' && 'action' in a) return normalised(a);
    if (typeof a === 'string')
      return a === 'notify'
        ? { action: 'notify' }
        : a === 'snapshot'
          ? { action: 'snapshot' }
          : { action: a };
    if ('snapshot' in a) return { action: 'snapshot', ...(a.snapshot.name && { name: a.snapshot.name }) };
    if ('scale' in a) return { action: 'scale', to: a.scale.to };
    if ('set-labels' in a) return { action: 'set-labels', labels: a['set-labels'] };
    if ('remove-labels' in a) return { action: 'remove-labels', keys: a['remove-labels'] };
    return { action: 'notify', ...(a.notify.message && { message: a.notify.message }) };
  });

function normalised(a: {
  action: PolicyActionName;
  name?: string;
  to?: string;
  labels?: Record<string, string>;
  keys?: string[];
  message?: string;
}): PolicyAction {
  switch (a.action) {
    case 'snapshot':
      return { action: 'snapshot', ...(a.name && { name: a.name }) };
    case 'scale':
      return { action: 'scale', to: a.to! };
    case 'set-labels':
      return { action: 'set-labels', labels: a.labels! };
    case 'remove-labels':
      return { action: 'remove-labels', keys: a.keys! };
    case 'notify':
      return { action: 'notify', ...(a.message && { message: a.message }) };
    default:
      return { action: a.action };
  }
}

// ---- policies ---------------------------------------------------------------------------------

/** The custom `fleetflow` events remediation reacts to (EventBridge detail-type). */
export const EVENT_DETAIL_TYPES = [
  'Instance Unhealthy',
  'Instance Degraded',
  'Drift Detected',
  'Remediation Requested',
] as const;

export const scopeSchema = z
  .strictObject({
    provider: z.enum(PROVIDER_IDS),
    account: z.string().min(1).max(64).default('default'),
    locations: z.array(z.string().min(1)).min(1),
  })
  .describe('where a periodic sweep lists instances');

export const policySchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'lower-case letters, digits and - (at most 48)'),
    description: z.string().max(512).optional(),
    mode: z.enum(['event', 'periodic']),
    events: z
      .array(z.string().min(1).max(128))
      .min(1)
      .optional()
      .describe(
        `event mode: the detail-types it reacts to, e.g. ${EVENT_DETAIL_TYPES.map((d) => `"${d}"`).join(', ')}`,
      ),
    every: durationSchema.default('1h').describe('periodic mode: how often the sweep runs'),
    scope: z
      .array(scopeSchema)
      .min(1)
      .optional()
      .describe('periodic mode: where to look (default: the config accounts)'),
    filters: filterSchema
      .default({})
      .describe('evaluated on the instance as read from the provider, never on the event'),
    actions: z.array(actionSchema).min(1).max(20),
    dryRun: z.boolean().default(false).describe('record the plan, change nothing'),
    maxTargets: capSchema
      .default(5)
      .describe(
        'blast-radius cap. periodic: at most this many (or this share of the instances in scope) per sweep, else none; event: at most this many instances per hour (a count)',
      ),
    cooldown: durationSchema
      .default('30m')
      .describe('after a remediation, the same instance is left alone by this policy for this long'),
    dedupeWindow: durationSchema
      .default('5m')
      .describe('events for one instance within one window start one remediation'),
    allowDeleteWithoutSnapshot: z.boolean().default(false),
  })
  .superRefine((p, ctx) => {
    if (p.mode === 'event' && !p.events)
      ctx.addIssue({
        code: 'custom',
        path: ['events'],
        message: 'an event-mode policy names the events (detail-types) it reacts to',
      });
    if (p.mode === 'event' && typeof p.maxTargets === 'string') {
      ctx.addIssue({
        code: 'custom',
        path: ['maxTargets'],
        message: 'an event-mode policy caps with a count (instances per hour); a percentage needs a sweep',
      });
    }
    const deleteAt = p.actions.findIndex((a) => a.action === 'delete');
    if (
      deleteAt >= 0 &&
      !p.allowDeleteWithoutSnapshot &&
      !p.actions.slice(0, deleteAt).some((a) => a.action === 'snapshot')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['actions', deleteAt],
        message: 'delete needs a snapshot before it (or allowDeleteWithoutSnapshot: true)',
      });
    }
    const seconds = (d: string) => parseDurationSeconds(d) ?? Number.NaN;
    if (seconds(p.cooldown) > 366 * 86_400)
      ctx.addIssue({ code: 'custom', path: ['cooldown'], message: 'at most 366d' });
    if (seconds(p.dedupeWindow) < 1)
      ctx.addIssue({ code: 'custom', path: ['dedupeWindow'], message: 'at least 1s' });
  })
  .describe('a remediation policy');

/** The `policies:` section of the config file. */
export const policiesSchema = z
  .array(policySchema)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((p, i) => {
      if (seen.has(p.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `policy ${p.name} is defined twice` });
      seen.add(p.name);
    });
  })
  .describe('remediation policies (issue 7)');

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

// ---- evaluation --------------------------------------------------------------------------------

/** What a filter sees: the live instance and the account it was read with. */
export type Subject = Instance & { account: string };

/** true / false, or undefined when a field the filter needs is not known (pre-filtering an event). */
export type Truth = boolean | undefined;

export interface FilterResult {
  match: Truth;
  /** One line per condition, each saying what was compared and how it came out. */
  reasons: string[];
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const and = (values: Truth[]): Truth =>
  values.includes(false) ? false : values.includes(undefined) ? undefined : true;
const or = (values: Truth[]): Truth =>
  values.includes(true) ? true : values.includes(undefined) ? undefined : false;
const show = (t: Truth) => (t === undefined ? '?' : t ? '✓' : '✗');

/**
 * Evaluates a filter on a subject. Fields missing from a partial subject make their conditions
 * unknown, so `evaluateFilter(filter, {provider, account, location})` tells whether an event can
 * possibly match before anything is read from the provider.
 */
export function evaluateFilter(filter: Filter, subject: Partial<Subject>, now = Date.now()): FilterResult {
  const reasons: string[] = [];
  const results: Truth[] = [];
  const check = (t: Truth, text: string) => {
    results.push(t);
    reasons.push(`${show(t)} ${text}`);
  };
  const known = <T>(v: T | undefined, f: (v: T) => boolean): Truth => (v === undefined ? undefined : f(v));

  if (filter.provider !== undefined) {
    const want = list(filter.provider);
    check(
      known(subject.provider, (p) => want.includes(p)),
      `provider ${subject.provider ?? '?'} in [${want.join(', ')}]`,
    );
  }
  if (filter.account !== undefined) {
    const want = list(filter.account);
    check(
      known(subject.account, (a) => want.includes(a)),
      `account ${subject.account ?? '?'} in [${want.join(', ')}]`,
    );
  }
  if (filter.location !== undefined) {
    const want = list(filter.location);
    check(
      known(subject.location, (l) => want.includes(l)),
      `location ${subject.location ?? '?'} in [${want.join(', ')}]`,
    );
  }
  if (filter.name !== undefined) {
    const re = regexOf(filter.name);
    check(
      known(subject.name, (n) => re.test(n)),
      `name ${subject.name ?? '?'} matches ${filter.name}`,
    );
  }
  for (const [key, value] of Object.entries(filter.labels ?? {})) {
    const want = list(value);
    const have = subject.labels?.[key];
    check(
      known(subject.labels, () => have !== undefined && want.includes(have)),
      `label ${key}=${have ?? '(absent)'} in [${want.join(', ')}]`,
    );
  }
  for (const key of filter.labelPresent === undefined ? [] : list(filter.labelPresent)) {
    check(
      known(subject.labels, (l) => key in l),
      `label ${key} present`,
    );
  }
  for (const key of filter.labelAbsent === undefined ? [] : list(filter.labelAbsent)) {
    check(
      known(subject.labels, (l) => !(key in l)),
      `label ${key} absent`,
    );
  }
  if (filter.state !== undefined) {
    const want = list(filter.state);
    check(
      known(subject.state, (s) => want.includes(s)),
      `state ${subject.state ?? '?'} in [${want.join(', ')}]`,
    );
  }
  if (filter.type !== undefined) {
    const want = list(filter.type);
    const t = known(
      subject.type,
      (type) => want.includes(type) || (subject.typeId !== undefined && want.includes(subject.typeId)),
    );
    check(t, `type ${subject.type ?? '?'} in [${want.join(', ')}]`);
  }
  for (const [key, older] of [
    ['olderThan', true],
    ['newerThan', false],
  ] as const) {
    const limit = filter[key];
    if (limit === undefined) continue;
    const created = subject.createdAt ? Date.parse(subject.createdAt) : Number.NaN;
    // An instance whose age the provider does not say matches neither olderThan nor newerThan.
    const t: Truth =
      subject.id === undefined
        ? undefined
        : Number.isNaN(created)
          ? false
          : older === now - created > durationSeconds(limit) * 1000;
    check(
      t,
      `age ${Number.isNaN(created) ? '(unknown)' : `${Math.floor((now - created) / 1000)}s`} ${older ? '>' : '<'} ${limit}`,
    );
  }
  if (filter.publicIp !== undefined) {
    const has = subject.ipv4 === undefined ? undefined : hasPublicIp(subject as Instance);
    check(
      has === undefined ? undefined : has === filter.publicIp,
      `public IP ${has === undefined ? '?' : has ? 'yes' : 'no'}, wanted ${filter.publicIp ? 'yes' : 'no'}`,
    );
  }
  if (filter.protected !== undefined) {
    // Providers without protection report undefined: such an instance is not protected.
    const p = subject.id === undefined ? undefined : subject.protected === true;
    check(
      p === undefined ? undefined : p === filter.protected,
      `protected ${p === undefined ? '?' : p ? 'yes' : 'no'}, wanted ${filter.protected ? 'yes' : 'no'}`,
    );
  }
  if (filter.all) {
    const inner = filter.all.map((f) => evaluateFilter(f, subject, now));
    check(and(inner.map((r) => r.match)), `all of: (${inner.flatMap((r) => r.reasons).join('; ')})`);
  }
  if (filter.any) {
    const inner = filter.any.map((f) => evaluateFilter(f, subject, now));
    check(or(inner.map((r) => r.match)), `any of: (${inner.flatMap((r) => r.reasons).join('; ')})`);
  }
  if (filter.not) {
    const inner = evaluateFilter(filter.not, subject, now);
    check(inner.match === undefined ? undefined : !inner.match, `not: (${inner.reasons.join('; ')})`);
  }
  if (results.length === 0) reasons.push('✓ no filters: every instance');
  return { match: and(results), reasons };
}

const PRIVATE_V4 = [
  /^10\./,
  /^192\.168\./,
  /^172\.(1[6-9]|2\d|3[01])\./,
  /^127\./,
  /^169\.254\./,
  /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./,
];

export function hasPublicIp(instance: Pick<Instance, 'ipv4' | 'ipv6'>): boolean {
  const v4 = instance.ipv4.some((ip) => !PRIVATE_V4.some((re) => re.test(ip)));
  const v6 = instance.ipv6.some((ip) => !/^(fc|fd|fe[89ab]|::1$)/i.test(ip));
  return v4 || v6;
}

// ---- plans -------------------------------------------------------------------------------------

/** The port actions instance-action runs. */
export type StepAction =
  | 'start'
  | 'stop'
  | 'reboot'
  | 'scale'
  | 'snapshot'
  | 'delete'
  | 'protection'
  | 'labels';

/** One step of a plan: a provider action, a notification, or a skip with its reason. */
export interface PlanStep {
  /** The job step name, unique in the job: `1-reboot`, `2-scale-stop`… */
  name: string;
  kind: 'provider' | 'notify' | 'skip';
  /** The policy action this step comes from. */
  from: PolicyActionName;
  action?: StepAction;
  params: {
    type?: string;
    name?: string;
    enabled?: boolean;
    labels?: Record<string, string | null>;
    message?: string;
  };
  reason?: string;
}

/** What the instance should look like once the plan ran; verified after the last step. */
export interface Expectation {
  state?: InstanceState;
  type?: string;
  labels?: Record<string, string | null>;
  protected?: boolean;
}

export interface Plan {
  steps: PlanStep[];
  /** Steps that change something at the provider. */
  mutations: number;
  expect: Expectation;
}

const PORT_ACTION: Partial<Record<PolicyActionName, Action>> = {
  snapshot: 'snapshot',
  stop: 'stop',
  start: 'start',
  reboot: 'reboot',
  scale: 'scale',
  'set-labels': 'labels',
  'remove-labels': 'labels',
  protect: 'protection',
  delete: 'delete',
};

/**
 * Turns a policy's actions into steps for one instance, simulating the instance's state through
 * them so that each step is checked against the provider's declared capability and required state.
 * An action the provider cannot do, or one with nothing to do, becomes a skip with its reason —
 * reported, never attempted. A scale on a provider that needs a stopped instance becomes
 * stop → scale → start (the start only when the instance was running).
 */
export function planActions(
  policy: Pick<Policy, 'name' | 'actions' | 'allowDeleteWithoutSnapshot'>,
  instance: Instance,
  capabilities: Capabilities,
): Plan {
  const steps: PlanStep[] = [];
  const expect: Expectation = {};
  let state: InstanceState = instance.state;
  let type = instance.type;
  const labels: Record<string, string> = { ...instance.labels };
  let isProtected = instance.protected === true;
  let snapshotTaken = false;
  let deleted = false;
  const provider = instance.provider;

  const planOne = (a: PolicyAction, i: number) => {
    const base = `${i + 1}-${a.action}`;
    const skip = (reason: string) =>
      steps.push({ name: base, kind: 'skip', from: a.action, params: {}, reason });
    const run = (name: string, action: StepAction, params: PlanStep['params'] = {}) =>
      steps.push({ name, kind: 'provider', from: a.action, action, params });
    if (deleted) return skip('the instance is deleted by an earlier action');
    if (a.action === 'notify') {
      steps.push({
        name: base,
        kind: 'notify',
        from: 'notify',
        params: { message: a.message ?? `policy ${policy.name} acted on ${instance.name}` },
      });
      return;
    }
    const cap = capabilities[PORT_ACTION[a.action]!];
    if (!cap.supported) return skip(`${provider} cannot ${a.action}${cap.note ? `: ${cap.note}` : ''}`);
    const needs = (s: InstanceState) => !cap.requiresState || cap.requiresState.includes(s);
    const stateNote = () =>
      `${a.action} needs the instance ${cap.requiresState!.join(' or ')}; it is ${state}`;

    switch (a.action) {
      case 'reboot':
        if (!needs(state)) return skip(stateNote());
        run(base, 'reboot');
        state = 'running';
        return;
      case 'start':
      case 'stop': {
        const target: InstanceState = a.action === 'start' ? 'running' : 'stopped';
        if (state === target) return skip(`already ${target}`);
        if (!needs(state)) return skip(stateNote());
        run(base, a.action);
        state = target;
        return;
      }
      case 'snapshot':
        if (!needs(state)) return skip(stateNote());
        run(base, 'snapshot', { name: a.name ?? `${policy.name}-${instance.name}`.slice(0, 120) });
        snapshotTaken = true;
        return;
      case 'scale': {
        if (type === a.to || instance.typeId === a.to) return skip(`already ${a.to}`);
        if (needs(state)) run(base, 'scale', { type: a.to });
        else if (
          needs('stopped') &&
          state === 'running' &&
          capabilities.stop.supported &&
          capabilities.start.supported
        ) {
          run(`${base}-stop`, 'stop');
          run(base, 'scale', { type: a.to });
          run(`${base}-start`, 'start');
        } else return skip(stateNote());
        type = a.to;
        return;
      }
      case 'set-labels': {
        const changes = Object.fromEntries(Object.entries(a.labels).filter(([k, v]) => labels[k] !== v));
        if (Object.keys(changes).length === 0) return skip('labels already set');
        run(base, 'labels', { labels: changes });
        Object.assign(labels, changes);
        expect.labels = { ...expect.labels, ...changes };
        return;
      }
      case 'remove-labels': {
        const present = a.keys.filter((k) => k in labels);
        if (present.length === 0) return skip('labels already absent');
        run(base, 'labels', { labels: Object.fromEntries(present.map((k) => [k, null])) });
        for (const k of present) delete labels[k];
        expect.labels = { ...expect.labels, ...Object.fromEntries(present.map((k) => [k, null])) };
        return;
      }
      case 'protect':
        if (isProtected) return skip('already protected');
        run(base, 'protection', { enabled: true });
        isProtected = true;
        expect.protected = true;
        return;
      case 'delete':
        // Never delete without the snapshot the policy promised (e.g. the provider cannot snapshot).
        if (!snapshotTaken && !policy.allowDeleteWithoutSnapshot) {
          return skip('delete is held back: no snapshot was taken before it');
        }
        if (isProtected)
          return skip('the instance is protected; fleetflow does not remove protection to delete');
        if (!needs(state)) return skip(stateNote());
        run(base, 'delete');
        deleted = true;
        state = 'deleted';
        return;
    }
  };
  for (const [i, a] of policy.actions.entries()) planOne(a, i);
  const mutations = steps.filter((s) => s.kind === 'provider').length;
  if (mutations > 0) {
    expect.state = state;
    if (type !== instance.type && !deleted) expect.type = type;
  }
  if (deleted) return { steps, mutations, expect: { state: 'deleted' } };
  return { steps, mutations, expect };
}

/** Checks an instance read after the plan against what the plan expected; the mismatches, if any. */
export function verifyExpectation(expect: Expectation, instance: Instance | undefined): string[] {
  if (!instance)
    return expect.state === 'deleted' || expect.state === undefined
      ? []
      : [`the instance is gone, expected ${expect.state}`];
  const problems: string[] = [];
  if (expect.state && instance.state !== expect.state)
    problems.push(`state is ${instance.state}, expected ${expect.state}`);
  if (expect.type && instance.type !== expect.type && instance.typeId !== expect.type)
    problems.push(`type is ${instance.type}, expected ${expect.type}`);
  for (const [k, v] of Object.entries(expect.labels ?? {})) {
    if ((instance.labels[k] ?? null) !== v)
      problems.push(`label ${k} is ${instance.labels[k] ?? '(absent)'}, expected ${v ?? '(absent)'}`);
  }
  if (expect.protected !== undefined && (instance.protected === true) !== expect.protected)
    problems.push('protection is not enabled');
  return problems;
}

/** The blast-radius cap as a number of instances, given how many are in scope. */
export function capCount(cap: number | string, inScope: number): number {
  if (typeof cap === 'number') return cap;
  return Math.floor((inScope * Number(cap.slice(0, -1))) / 100);
}

/** Parses and validates a list of policies (from the config file or the environment). */
export function parsePolicies(raw: unknown, where = 'policies'): Policy[] {
  const parsed = policiesSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PolicyError(
      `${where}${issue.path.length ? `.${issue.path.map(String).join('.')}` : ''}: ${issue.message}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}
