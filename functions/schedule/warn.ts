import { createHash } from 'node:crypto';
import type { FleetflowConfig, Period, ScheduleConfig, WarnConfig } from '../config/schema.ts';
import { WEEKDAYS } from '../config/schema.ts';
import type { NotificationTarget } from '../notify/config.ts';
import type { Target } from '../runtime/accounts.ts';
import { durationSeconds } from '../shared/duration.ts';
import type { Trigger } from '../store/schemas.ts';
import { edgeDays, edgesBetween, nextEdge } from './calendar.ts';
import type { Candidate, Plan } from './plan.ts';
import { scheduleRunInput } from './run.ts';

/**
 * Warnings before stops. A schedule with `warn: 30m` gets, that long before each of its stop
 * edges, a warn run (EventBridge Scheduler on AWS, the local scheduler in `fleetflow start`):
 * it plans the stop as the run at the edge will (same listing, same decisions, overrides valid
 * at the edge), groups the instances that will stop by their owner label, and sends each group
 * ONE notice with signed snooze links (warn-notice.ts, warn-token.ts). Instances without an
 * owner go to the schedule's own audience: the warn notifications, else the config's.
 */

/** The local name of the warn workflow (and the prefix of the AWS one). */
export const WARN_MACHINE = 'schedule-warn';

/** The warn run's input: like a schedule run's, plus where notices go. */
export interface WarnRunInput {
  schedule: string;
  trigger: Trigger;
  /** The moment the warning is for (tests, the local scheduler's clock); now by default. */
  at?: string;
  config: ReturnType<typeof scheduleRunInput>['config'] & { notifications: NotificationTarget[] };
}

export function warnRunInput(
  config: FleetflowConfig,
  schedule: string,
  options: { trigger?: Trigger; at?: Date } = {},
): WarnRunInput {
  const base = scheduleRunInput(config, schedule, 'stop');
  if (!config.schedules[schedule]!.warn) throw new RangeError(`schedule '${schedule}' has no warn`);
  return {
    schedule,
    trigger: options.trigger ?? { type: 'schedule', actor: schedule, source: 'warning' },
    ...(options.at && { at: options.at.toISOString() }),
    config: { ...base.config, notifications: warnTargets(config, schedule) },
  };
}

/** Where a schedule's notices go: its own warn targets, else the config's that take warnings. */
export function warnTargets(config: Pick<FleetflowConfig, 'notifications' | 'schedules'>, schedule: string) {
  const warn = config.schedules[schedule]?.warn;
  return (
    warn?.notifications ??
    config.notifications.filter((t) => !t.events || t.events.includes('schedule.warning'))
  );
}

export function warnSeconds(warn: WarnConfig): number {
  return durationSeconds(warn.before);
}

/**
 * The warn time of a period's stop edge as a cron pattern in the schedule's timezone: the stop's
 * wall-clock time moved back by `before`, on the day before where it crosses midnight. (Across a
 * DST change the wall-clock shift is not the elapsed one; the warn run finds its stop by time.)
 */
export function warnTime(
  period: Period,
  beforeSeconds: number,
): { minute: number; hour: number; days: number[] } {
  const [h, m] = period.stop.split(':').map(Number) as [number, number];
  const total = h * 60 + m - Math.round(beforeSeconds / 60);
  const shift = Math.floor(total / 1440);
  const within = total - shift * 1440;
  const days = [...new Set(edgeDays(period, 'stop').map((d) => (((d + shift) % 7) + 7) % 7))].sort();
  return { minute: within % 60, hour: Math.floor(within / 60), days };
}

/** croner's five fields (local scheduler). */
export function warnCronPattern(period: Period, beforeSeconds: number): string {
  const t = warnTime(period, beforeSeconds);
  return `${t.minute} ${t.hour} * * ${t.days.join(',')}`;
}

/** EventBridge Scheduler's `cron(min hour ? * DAYS *)`, read in the schedule's timezone. */
export function warnAwsCronExpression(period: Period, beforeSeconds: number): string {
  const t = warnTime(period, beforeSeconds);
  return `cron(${t.minute} ${t.hour} ? * ${t.days.map((d) => WEEKDAYS[d]!.toUpperCase()).join(',')} *)`;
}

/**
 * The stop a warn run at `at` warns about: the first stop edge after it, if it is no further
 * than `before` and a margin (a late trigger still warns; a stray one does not).
 */
export function stopToWarn(schedule: ScheduleConfig, at: Date): Date | undefined {
  if (!schedule.warn) return undefined;
  const before = warnSeconds(schedule.warn) * 1000;
  const edge = edgesBetween(schedule, at, new Date(at.getTime() + before + 10 * 60_000)).find(
    (e) => e.action === 'stop',
  );
  return edge?.at;
}

/** Upcoming warnings (the plan preview): each stop edge in the span, and when its notice goes out. */
export function warningTimes(
  schedule: ScheduleConfig,
  from: Date,
  to: Date,
): Array<{ warnAt: Date; stopAt: Date }> {
  if (!schedule.warn) return [];
  const before = warnSeconds(schedule.warn) * 1000;
  return edgesBetween(schedule, from, new Date(to.getTime() + before))
    .filter((e) => e.action === 'stop')
    .map((e) => ({ warnAt: new Date(e.at.getTime() - before), stopAt: e.at }))
    .filter((w) => w.warnAt >= from && w.warnAt < to);
}

export interface WarnedInstance extends Target {
  instanceId: string;
  name: string;
}

export interface WarnGroup {
  /** `all` (no owner: the schedule's audience) or `o-<hash of the owner>`. */
  key: string;
  owner?: string;
  instances: WarnedInstance[];
}

/** The instances the plan will stop, one group per owner (label value), the rest together. */
export function warnGroups(plan: Plan, candidates: readonly Candidate[], ownerLabel: string): WarnGroup[] {
  const labels = new Map(
    candidates.map((c) => [
      `${c.target.provider}/${c.target.account}/${c.target.location}/${c.instance.id}`,
      c.instance.labels,
    ]),
  );
  const groups = new Map<string, WarnGroup>();
  for (const d of plan.decisions) {
    if (d.decision !== 'stop') continue;
    const owner = labels
      .get(`${d.target.provider}/${d.target.account}/${d.target.location}/${d.instanceId}`)
      ?.[ownerLabel]?.trim();
    const key = owner ? ownerKey(owner) : 'all';
    let group = groups.get(key);
    if (!group) {
      group = { key, ...(owner && { owner }), instances: [] };
      groups.set(key, group);
    }
    group.instances.push({ ...d.target, instanceId: d.instanceId, name: d.name });
  }
  return [...groups.values()].sort((a, b) => (a.owner ?? '').localeCompare(b.owner ?? ''));
}

export function ownerKey(owner: string): string {
  return `o-${createHash('sha256').update(owner).digest('hex').slice(0, 20)}`;
}

/** The next stop after `edge` (for "keep running until tomorrow's stop"). */
export function stopAfter(schedule: ScheduleConfig, edge: Date): Date | undefined {
  return nextEdge(schedule, 'stop', edge)?.at;
}
