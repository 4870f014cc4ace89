import { INSTANCE_STATES, type InstanceState, PROVIDER_IDS, type ProviderId } from '../providers/port.ts';
import type { Target } from '../runtime/accounts.ts';
import type { RunItem, Tier, TierGroup } from './plan.ts';

/**
 * A run's work, cut into pages that the plan stores as job items and the workflow passes around by
 * key: a page holds at most PAGE_MAX_INSTANCES instances and, expanded into the act Map's items,
 * at most PAGE_MAX_BYTES, so a page's load stays far below Step Functions' 262,144-byte payload
 * limit and a page's child execution far below 25,000 history events (about 7 per instance).
 * What the workflow carries grows with tiers, accounts and pages, never with instances.
 */
export const PAGE_MAX_INSTANCES = 500;
export const PAGE_MAX_BYTES = 96 * 1024;

/**
 * A page as stored: its targets once, then each instance as [id, state seen by the plan, target
 * index] and, for a stop, [.., hours saved, money saved] (null where unknown).
 */
export interface WorkPageBody {
  targets: Target[];
  items: Array<
    | [instanceId: string, state: InstanceState, target: number]
    | [instanceId: string, state: InstanceState, target: number, hoursSaved: number, saved: number | null]
  >;
}

/** What the workflow gets for one account's instances of a tier. */
export interface GroupWork {
  provider: ProviderId;
  account: string;
  /** Page keys, in the order they run. */
  pages: string[];
  /** The act Map's MaxConcurrency for every page of the group. */
  concurrency: number;
  instances: number;
}

export interface TierWork {
  tier: number;
  groups: GroupWork[];
}

/** Cuts every group of every tier into pages; returns what the workflow carries and what to store. */
export function cutIntoPages(tiers: readonly Tier[]): {
  tiers: TierWork[];
  pages: Array<[key: string, body: WorkPageBody]>;
} {
  const pages: Array<[string, WorkPageBody]> = [];
  const out = tiers.map((tier, t) => ({
    tier: tier.tier,
    groups: tier.groups.map((group, g) => {
      const keys = pagesOf(group).map((body, n) => {
        const key = `t${t}g${g}p${n}`;
        pages.push([key, body]);
        return key;
      });
      return {
        provider: group.provider,
        account: group.account,
        pages: keys,
        concurrency: group.maxConcurrency,
        instances: group.items.length,
      };
    }),
  }));
  return { tiers: out, pages };
}

function pagesOf(group: TierGroup): WorkPageBody[] {
  const out: WorkPageBody[] = [];
  let page: WorkPageBody | undefined;
  let bytes = 0;
  for (const item of group.items) {
    const size = Buffer.byteLength(JSON.stringify(item), 'utf8') + 1;
    if (!page || page.items.length >= PAGE_MAX_INSTANCES || bytes + size > PAGE_MAX_BYTES) {
      page = { targets: [], items: [] };
      out.push(page);
      bytes = 2;
    }
    let t = page.targets.findIndex(
      (x) => x.account === item.target.account && x.location === item.target.location,
    );
    if (t < 0) t = page.targets.push(item.target) - 1;
    page.items.push(
      item.hoursSaved === undefined
        ? [item.instanceId, item.state, t]
        : [item.instanceId, item.state, t, item.hoursSaved, item.saved ?? null],
    );
    bytes += size;
  }
  return out;
}

/** A stored page back into the act Map's items; anything malformed is refused, not guessed. */
export function expandPage(body: unknown): RunItem[] {
  const page = body as Partial<WorkPageBody> | undefined;
  if (!page || !Array.isArray(page.targets) || !Array.isArray(page.items))
    throw new TypeError('not a work page');
  for (const t of page.targets)
    if (
      !PROVIDER_IDS.includes(t?.provider) ||
      typeof t.account !== 'string' ||
      typeof t.location !== 'string'
    )
      throw new TypeError('work page: bad target');
  return page.items.map(([instanceId, state, t, hoursSaved, saved]) => {
    const target = page.targets![t];
    if (typeof instanceId !== 'string' || !INSTANCE_STATES.includes(state) || !target)
      throw new TypeError('work page: bad item');
    return {
      target,
      instanceId,
      state,
      ...(typeof hoursSaved === 'number' && { hoursSaved }),
      ...(typeof saved === 'number' && { saved }),
    };
  });
}
