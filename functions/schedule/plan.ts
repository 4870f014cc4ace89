import type { FleetflowConfig, ScheduleConfig } from '../config/schema.ts';
import type { Instance, InstanceFilter, InstanceState, ProviderId } from '../providers/port.ts';
import { PROVIDERS } from '../providers/registry.ts';
import type { Target } from '../runtime/accounts.ts';
import { desiredState, nextEdge, type PowerAction } from './calendar.ts';
import { type Override, overrideFor } from './overrides.ts';

/**
 * Planning a schedule run: which instances it selects, what it decides for each (with the
 * reason), the blast-radius cap, the ordering tiers, and the savings. Pure apart from `list`.
 */

/** `enforce`: the hourly sweep of schedules with `manualStart: enforce` (stops only, in stop windows). */
export type RunAction = PowerAction | 'enforce';

/**
 * Requests per second a provider account may send when its config entry does not say
 * (`requestsPerSecond`). Conservative where the provider documents nothing.
 */
export const PROVIDER_RATE_LIMITS: Readonly<Record<ProviderId, number>> = {
  exoscale: 20, // API v2: ~20 requests/s per key (observed; not documented)
  'exoscale-v1': 20, // CloudStack: one account's async jobs queue up anyway
  gcore: 20, // 20 requests/s per client documented for the public API
  genesiscloud: 20, // small API, 429 well below 20/s in practice
  cloudca: 20, // CloudOps API: limits undocumented
};

/**
 * One act's round trip as the workflow sees it: the provider call plus its idempotency and audit
 * writes and the Lambda invocation, about 0.3 s. An account's acts run `rate × this` at once, so
 * its calls flow at about its rate limit; a 429 is still retried after Retry-After.
 */
export const ACT_ROUND_TRIP_S = 0.3;
/** Step Functions runs at most 40 iterations of an inline Map at once, whatever MaxConcurrency says. */
export const MAX_ACT_CONCURRENCY = 40;

/** How many instances of one account a run acts on at once, from the account's rate limit. */
export function actConcurrency(requestsPerSecond: number): number {
  return Math.min(MAX_ACT_CONCURRENCY, Math.max(1, Math.round(requestsPerSecond * ACT_ROUND_TRIP_S)));
}

export interface Candidate {
  target: Target;
  instance: Instance;
}

export type DecisionKind = 'start' | 'stop' | 'skip';

export interface Decision {
  instanceId: string;
  name: string;
  target: Target;
  type: string;
  state: InstanceState;
  tier: number;
  decision: DecisionKind;
  reason: string;
  /** Hours this stop saves until the next start edge; money when a price is known. */
  hoursSaved?: number;
  saved?: number;
}

export interface RunItem {
  target: Target;
  instanceId: string;
  /** The state the plan's listing saw: the act needs no fresh read, the poll knows where it started. */
  state: InstanceState;
  /** A stop's savings, recorded with the instance's result once the stop is verified. */
  hoursSaved?: number;
  saved?: number;
}

/** One provider account's instances of a tier: acted on together, at the account's rate. */
export interface TierGroup {
  provider: ProviderId;
  account: string;
  maxConcurrency: number;
  items: RunItem[];
}

export interface Tier {
  tier: number;
  groups: TierGroup[];
}

export interface Plan {
  schedule: string;
  action: RunAction;
  at: string;
  decisions: Decision[];
  /** The actions to take, tier by tier in the order they run. */
  tiers: Tier[];
  counts: { selected: number; act: number; skip: number };
  cap?: { limit: number; planned: number; mode: 'abort' | 'truncate'; exceeded: boolean };
  savings: { instanceHours: number; money?: number; currency: string };
}

/** Every (target, filter) a schedule lists: its explicit targets plus instances labelled with its name. */
export function listings(
  config: FleetflowConfig,
  name: string,
): Array<{ target: Target; filter: InstanceFilter; namePrefix?: string }> {
  const schedule = config.schedules[name]!;
  const out: Array<{ target: Target; filter: InstanceFilter; namePrefix?: string }> = [];
  for (const t of schedule.targets) {
    for (const account of config.accounts.filter(
      (a) => a.provider === t.provider && (t.account === undefined || a.account === t.account),
    )) {
      for (const location of t.locations ?? account.locations) {
        if (!account.locations.includes(location)) continue;
        out.push({
          target: { provider: t.provider, account: account.account, location },
          filter: t.labels ? { labels: t.labels } : {},
          ...(t.namePrefix && { namePrefix: t.namePrefix }),
        });
      }
    }
  }
  // Instances may name their schedule themselves, wherever the provider has labels.
  for (const account of config.accounts) {
    if (!PROVIDERS[account.provider].capabilities.labels.supported) continue;
    for (const location of account.locations) {
      out.push({
        target: { provider: account.provider, account: account.account, location },
        filter: { labels: { [config.scheduleLabel]: name } },
      });
    }
  }
  return out;
}

/** Lists every candidate of a schedule, each instance once, listings running in parallel. */
export async function selectCandidates(
  config: FleetflowConfig,
  name: string,
  list: (target: Target, filter: InstanceFilter) => Promise<Instance[]>,
): Promise<Candidate[]> {
  const found = await Promise.all(
    listings(config, name).map(async (l) => {
      const instances = await list(l.target, l.filter);
      return instances
        .filter((i) => !l.namePrefix || i.name.startsWith(l.namePrefix))
        .map((instance) => ({ target: l.target, instance }));
    }),
  );
  const seen = new Map<string, Candidate>();
  for (const c of found.flat())
    seen.set(`${c.target.provider}/${c.target.account}/${c.target.location}/${c.instance.id}`, c);
  return [...seen.values()].sort(
    (a, b) => a.instance.name.localeCompare(b.instance.name) || a.instance.id.localeCompare(b.instance.id),
  );
}

function capLimit(cap: number | string, selected: number): number {
  return typeof cap === 'number' ? cap : Math.floor((selected * Number(cap.slice(0, -1))) / 100);
}

export function decide(args: {
  config: FleetflowConfig;
  schedule: string;
  action: RunAction;
  candidates: Candidate[];
  overrides: readonly Override[];
  at: Date;
}): Plan {
  const { config, candidates, overrides, at } = args;
  const schedule: ScheduleConfig = config.schedules[args.schedule]!;
  const power: PowerAction = args.action === 'start' ? 'start' : 'stop';
  const target = power === 'start' ? 'running' : 'stopped';
  const nextStart = power === 'stop' ? nextEdge(schedule, 'start', at) : undefined;

  const decisions: Decision[] = candidates.map(({ target: t, instance: i }) => {
    const tierValue = Number.parseInt(i.labels[schedule.tierLabel] ?? '', 10);
    const base = {
      instanceId: i.id,
      name: i.name,
      target: t,
      type: i.type,
      state: i.state,
      tier: Number.isFinite(tierValue) ? tierValue : schedule.defaultTier,
    };
    const skip = (reason: string): Decision => ({ ...base, decision: 'skip', reason });
    const optOut = i.labels[config.optOutLabel];
    if (optOut !== undefined && optOut !== 'false') return skip(`opted out (label ${config.optOutLabel})`);
    const named = i.labels[config.scheduleLabel];
    if (named !== undefined && named !== args.schedule)
      return skip(`follows schedule ${named} (label ${config.scheduleLabel})`);
    if (schedule.skipProtected && i.protected) return skip('protected');
    const o = overrideFor(overrides, {
      schedule: args.schedule,
      provider: t.provider,
      instanceId: i.id,
      action: power,
      at,
    });
    if (o) return skip(`override ${o.id} (${o.kind}) until ${o.until}${o.reason ? `: ${o.reason}` : ''}`);
    if (args.action === 'enforce' && desiredState(schedule, at) === 'running')
      return skip('inside an on-period');
    if (i.state === target) return skip(`already ${target}`);
    const needs = PROVIDERS[t.provider].capabilities[power].requiresState;
    if (needs && !needs.includes(i.state)) return skip(`state ${i.state}: ${power} needs ${needs.join('/')}`);
    const decision: Decision = {
      ...base,
      decision: power,
      reason:
        args.action === 'enforce' ? 'running during a stop window (manualStart: enforce)' : `${power} edge`,
    };
    if (power === 'stop') {
      const until = nextStart ? nextStart.at.getTime() : at.getTime() + 7 * 86_400_000;
      decision.hoursSaved = round((until - at.getTime()) / 3_600_000);
      const price = config.prices[t.provider]?.[i.type];
      if (price !== undefined) decision.saved = round(decision.hoursSaved * price);
    }
    return decision;
  });

  let acting = decisions.filter((d) => d.decision !== 'skip');
  let cap: Plan['cap'];
  if (schedule.maxActions !== undefined) {
    const limit = capLimit(schedule.maxActions, candidates.length);
    cap = { limit, planned: acting.length, mode: schedule.overCap, exceeded: acting.length > limit };
    if (cap.exceeded) {
      const keep = new Set(schedule.overCap === 'truncate' ? ordered(acting, power).slice(0, limit) : []);
      for (const d of acting) {
        if (keep.has(d)) continue;
        d.decision = 'skip';
        d.reason = `blast-radius cap: ${acting.length} planned, at most ${limit}${schedule.overCap === 'abort' ? '; run aborted' : ''}`;
        delete d.hoursSaved;
        delete d.saved;
      }
      acting = acting.filter((d) => keep.has(d));
    }
  }

  const tiers: Tier[] = [];
  for (const d of ordered(acting, power)) {
    let tier = tiers.at(-1);
    if (!tier || tier.tier !== d.tier) {
      tier = { tier: d.tier, groups: [] };
      tiers.push(tier);
    }
    let group = tier.groups.find((g) => g.provider === d.target.provider && g.account === d.target.account);
    if (!group) {
      group = {
        provider: d.target.provider,
        account: d.target.account,
        maxConcurrency: actConcurrency(rateLimit(config, d.target)),
        items: [],
      };
      tier.groups.push(group);
    }
    group.items.push({
      target: d.target,
      instanceId: d.instanceId,
      state: d.state,
      ...(d.hoursSaved !== undefined && { hoursSaved: d.hoursSaved }),
      ...(d.saved !== undefined && { saved: d.saved }),
    });
  }

  const money = acting.some((d) => d.saved !== undefined)
    ? round(acting.reduce((s, d) => s + (d.saved ?? 0), 0))
    : undefined;
  return {
    schedule: args.schedule,
    action: args.action,
    at: at.toISOString(),
    decisions,
    tiers,
    counts: { selected: candidates.length, act: acting.length, skip: decisions.length - acting.length },
    ...(cap && { cap }),
    savings: {
      instanceHours: round(acting.reduce((s, d) => s + (d.hoursSaved ?? 0), 0)),
      ...(money !== undefined && { money }),
      currency: config.currency,
    },
  };
}

/** The account's configured rate limit, else its provider's default. */
export function rateLimit(config: FleetflowConfig, target: Target): number {
  const account = config.accounts.find((a) => a.provider === target.provider && a.account === target.account);
  return account?.requestsPerSecond ?? PROVIDER_RATE_LIMITS[target.provider];
}

/** Start: tier 1 first; stop: the reverse. Stable by name within a tier. */
function ordered(decisions: Decision[], action: PowerAction): Decision[] {
  const dir = action === 'start' ? 1 : -1;
  return [...decisions].sort(
    (a, b) =>
      dir * (a.tier - b.tier) || a.name.localeCompare(b.name) || a.instanceId.localeCompare(b.instanceId),
  );
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
