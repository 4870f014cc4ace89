import type { FleetflowConfig } from '../config/schema.ts';
import type { Instance, InstanceFilter } from '../providers/port.ts';
import type { Target } from '../runtime/accounts.ts';
import { own } from '../shared/keys.ts';
import { edgesBetween, nextEdge, runningMsBetween } from './calendar.ts';
import { type Override, overrideFor } from './overrides.ts';
import { selectCandidates } from './plan.ts';
import { warningTimes, warnSeconds } from './warn.ts';

/**
 * `fleetflow schedule plan --days N`: per instance, what each schedule will do when over the next
 * N days (holidays and overrides applied), the instance-hours it saves against running all the
 * time, and money where the config prices the instance's type.
 */
export interface PreviewEvent {
  at: string;
  action: 'start' | 'stop';
  /** Absent when it will happen; else why not (holiday, override, opt-out…). */
  skipped?: string;
  /** A stop of a schedule with `warn`: when the owners get their notice. */
  warnAt?: string;
}

export interface PreviewInstance {
  schedule: string;
  provider: string;
  account: string;
  location: string;
  instanceId: string;
  name: string;
  type: string;
  state: string;
  /** Set when the schedule never acts on this instance. */
  excluded?: string;
  events: PreviewEvent[];
  hoursSaved: number;
  saved?: number;
}

/** A notice that will go out before a stop: when, for which stop, about how many instances. */
export interface PreviewWarning {
  schedule: string;
  warnAt: string;
  stopAt: string;
  instances: number;
}

export interface Preview {
  from: string;
  to: string;
  days: number;
  currency: string;
  instances: PreviewInstance[];
  /** Upcoming warnings (schedules with `warn`), soonest first. */
  warnings: PreviewWarning[];
  totals: { instances: number; hoursSaved: number; saved?: number };
}

const H = 3_600_000;

export async function previewPlan(args: {
  config: FleetflowConfig;
  days: number;
  now: Date;
  overrides: readonly Override[];
  list: (target: Target, filter: InstanceFilter) => Promise<Instance[]>;
  schedules?: string[];
}): Promise<Preview> {
  const { config, now, overrides } = args;
  const to = new Date(now.getTime() + args.days * 86_400_000);
  const out: PreviewInstance[] = [];
  for (const name of args.schedules ?? Object.keys(config.schedules)) {
    const schedule = own(config.schedules, name);
    if (!schedule) throw new RangeError(`no schedule '${name}'`);
    const edges = edgesBetween(schedule, now, to);
    for (const { target, instance } of await selectCandidates(config, name, args.list)) {
      const base = {
        schedule: name,
        ...target,
        instanceId: instance.id,
        name: instance.name,
        type: instance.type,
        state: instance.state,
      };
      const excluded = exclusion(config, name, instance);
      if (excluded) {
        out.push({ ...base, excluded, events: [], hoursSaved: 0 });
        continue;
      }
      const events: PreviewEvent[] = edges.map((e) => {
        const o = e.suppressedBy
          ? undefined
          : overrideFor(overrides, {
              schedule: name,
              provider: target.provider,
              instanceId: instance.id,
              action: e.action,
              at: e.at,
            });
        const skipped = e.suppressedBy
          ? `holiday ${e.suppressedBy}`
          : o
            ? `override ${o.id} (${o.kind})`
            : undefined;
        const warnAt =
          schedule.warn && e.action === 'stop' && !skipped
            ? new Date(e.at.getTime() - warnSeconds(schedule.warn) * 1000).toISOString()
            : undefined;
        return {
          at: e.at.toISOString(),
          action: e.action,
          ...(skipped && { skipped }),
          ...(warnAt && { warnAt }),
        };
      });
      const hoursSaved = round(stoppedHours(schedule, now, to, events));
      const price = config.prices[target.provider]?.[instance.type];
      out.push({
        ...base,
        events,
        hoursSaved,
        ...(price !== undefined && { saved: round(hoursSaved * price) }),
      });
    }
  }
  const priced = out.filter((i) => i.saved !== undefined);
  const warnings: PreviewWarning[] = [];
  for (const name of args.schedules ?? Object.keys(config.schedules)) {
    for (const w of warningTimes(config.schedules[name]!, now, to)) {
      const stopAt = w.stopAt.toISOString();
      const instances = out.filter(
        (i) =>
          i.schedule === name && i.events.some((e) => e.at === stopAt && e.action === 'stop' && !e.skipped),
      ).length;
      warnings.push({ schedule: name, warnAt: w.warnAt.toISOString(), stopAt, instances });
    }
  }
  warnings.sort((a, b) => a.warnAt.localeCompare(b.warnAt));
  return {
    from: now.toISOString(),
    to: to.toISOString(),
    days: args.days,
    currency: config.currency,
    instances: out,
    warnings,
    totals: {
      instances: out.filter((i) => !i.excluded).length,
      hoursSaved: round(out.reduce((s, i) => s + i.hoursSaved, 0)),
      ...(priced.length > 0 && { saved: round(priced.reduce((s, i) => s + (i.saved ?? 0), 0)) }),
    },
  };
}

/**
 * Hours stopped in [from, to): the schedule's stopped time, minus the time a skipped stop keeps
 * the instance running (until the next start edge) — overrides that skip a stop.
 */
function stoppedHours(
  schedule: FleetflowConfig['schedules'][string],
  from: Date,
  to: Date,
  events: PreviewEvent[],
): number {
  let stopped = to.getTime() - from.getTime() - runningMsBetween(schedule, from, to);
  for (const e of events) {
    if (e.action !== 'stop' || !e.skipped || e.skipped.startsWith('holiday')) continue;
    const at = new Date(e.at);
    const until = Math.min(nextEdge(schedule, 'start', at)?.at.getTime() ?? to.getTime(), to.getTime());
    stopped -= until - at.getTime();
  }
  return Math.max(0, stopped) / H;
}

function exclusion(config: FleetflowConfig, name: string, i: Instance): string | undefined {
  const optOut = i.labels[config.optOutLabel];
  if (optOut !== undefined && optOut !== 'false') return `opted out (label ${config.optOutLabel})`;
  const named = i.labels[config.scheduleLabel];
  if (named !== undefined && named !== name) return `follows schedule ${named}`;
  if (config.schedules[name]!.skipProtected && i.protected) return 'protected';
  return undefined;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The preview as a terminal table: one line per instance and event. */
export function formatPreview(p: Preview): string {
  const lines = [`plan ${p.from.slice(0, 16)}Z → ${p.to.slice(0, 16)}Z (${p.days} days)`];
  for (const i of p.instances) {
    const money = i.saved !== undefined ? `, ${i.saved.toFixed(2)} ${p.currency}` : '';
    lines.push(
      `${i.schedule}  ${i.provider}/${i.location}  ${i.name} (${i.instanceId}, ${i.type}, ${i.state})${i.excluded ? `  — excluded: ${i.excluded}` : `  saves ${i.hoursSaved} h${money}`}`,
    );
    for (const e of i.events)
      lines.push(
        `    ${e.at.slice(0, 16).replace('T', ' ')}Z  ${e.action.padEnd(5)}${e.skipped ? `  skipped: ${e.skipped}` : ''}${e.warnAt ? `  (owners warned ${e.warnAt.slice(11, 16)}Z)` : ''}`,
      );
  }
  if (p.warnings.length > 0) {
    lines.push('warnings:');
    for (const w of p.warnings)
      lines.push(
        `    ${w.warnAt.slice(0, 16).replace('T', ' ')}Z  ${w.schedule}: notice before the ${w.stopAt.slice(11, 16)}Z stop (${w.instances} instance${w.instances === 1 ? '' : 's'})`,
      );
  }
  const money = p.totals.saved !== undefined ? `, ${p.totals.saved.toFixed(2)} ${p.currency}` : '';
  lines.push(`total: ${p.totals.instances} instances, ${p.totals.hoursSaved} instance-hours saved${money}`);
  return lines.join('\n');
}
