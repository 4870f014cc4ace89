import { Cron } from 'croner';
import type { Holiday, Period, ScheduleConfig } from '../config/schema.ts';
import { WEEKDAYS } from '../config/schema.ts';

/**
 * Pure schedule arithmetic: when the edges (start/stop times) of a schedule fall, in its IANA
 * timezone, with holidays applied. croner does the timezone and DST work, so "08:00 Europe/Zurich"
 * is 07:00Z in winter and 06:00Z in summer, and a time skipped by a DST jump runs once, late.
 */

export type PowerAction = 'start' | 'stop';

export interface Edge {
  at: Date;
  action: PowerAction;
  /** The day it falls on, in the schedule's timezone (YYYY-MM-DD). */
  localDate: string;
  /** A start edge on a holiday does not happen; the holiday's name (or date) says why. */
  suppressedBy?: string;
}

type Calendar = Pick<ScheduleConfig, 'timezone' | 'periods' | 'holidays'>;

function hm(t: string): [number, number] {
  const [h, m] = t.split(':').map(Number) as [number, number];
  return [h, m];
}

/** The weekdays an edge falls on: a stop earlier than its start belongs to the next day. */
export function edgeDays(period: Period, action: PowerAction): number[] {
  const days = period.days.map((d) => WEEKDAYS.indexOf(d));
  const overnight = period.stop < period.start;
  return [...new Set(action === 'stop' && overnight ? days.map((d) => (d + 1) % 7) : days)].sort();
}

/** A five-field cron pattern for one edge of a period (croner syntax, 0 = Sunday). */
export function cronPattern(period: Period, action: PowerAction): string {
  const [h, m] = hm(action === 'start' ? period.start : period.stop);
  return `${m} ${h} * * ${edgeDays(period, action).join(',')}`;
}

/** The same edge for EventBridge Scheduler: `cron(min hour ? * DAYS *)`, interpreted in the schedule's timezone. */
export function awsCronExpression(period: Period, action: PowerAction): string {
  const [h, m] = hm(action === 'start' ? period.start : period.stop);
  const names = edgeDays(period, action).map((d) => WEEKDAYS[d]!.toUpperCase());
  return `cron(${m} ${h} ? * ${names.join(',')} *)`;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();
export function localDate(at: Date, timezone: string): string {
  let f = dateFormats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dateFormats.set(timezone, f);
  }
  return f.format(at);
}

/** The holiday a local date falls in, by name (or its date), if any. */
export function holidayOn(holidays: readonly Holiday[], day: string): string | undefined {
  for (const h of holidays) {
    if (typeof h === 'string') {
      if (h === day) return h;
    } else if (h.from <= day && day <= h.to) return h.name ?? `${h.from}..${h.to}`;
  }
  return undefined;
}

/** Every edge in [from, to), oldest first; start edges on holidays are kept but marked suppressed. */
export function edgesBetween(schedule: Calendar, from: Date, to: Date): Edge[] {
  const out: Edge[] = [];
  const seen = new Set<string>();
  for (const period of schedule.periods) {
    for (const action of ['start', 'stop'] as const) {
      const cron = new Cron(cronPattern(period, action), { timezone: schedule.timezone, paused: true });
      // nextRun is strictly after its argument: step back 1 ms so an edge exactly at `from` counts.
      let at = cron.nextRun(new Date(from.getTime() - 1));
      while (at && at < to) {
        const key = `${action}@${at.getTime()}`;
        if (!seen.has(key)) {
          seen.add(key);
          const day = localDate(at, schedule.timezone);
          const holiday = action === 'start' ? holidayOn(schedule.holidays, day) : undefined;
          out.push({ at, action, localDate: day, ...(holiday && { suppressedBy: holiday }) });
        }
        at = cron.nextRun(at);
      }
    }
  }
  // A stop and a start at the same instant: the stop first, so the start wins (still on).
  return out.sort((a, b) => a.at.getTime() - b.at.getTime() || (a.action === 'stop' ? -1 : 1));
}

const LOOKBACK_MS = 8 * 86_400_000;

/** Whether the schedule wants instances running at `at` (the last effective edge decides). */
export function desiredState(schedule: Calendar, at: Date): 'running' | 'stopped' {
  if (holidayOn(schedule.holidays, localDate(at, schedule.timezone))) return 'stopped';
  const edges = edgesBetween(
    schedule,
    new Date(at.getTime() - LOOKBACK_MS),
    new Date(at.getTime() + 1),
  ).filter((e) => !e.suppressedBy);
  const last = edges.at(-1);
  return last?.action === 'start' ? 'running' : 'stopped';
}

/** The next effective edge of an action strictly after `after` (within a year), if any. */
export function nextEdge(schedule: Calendar, action: PowerAction, after: Date): Edge | undefined {
  let from = new Date(after.getTime() + 1);
  for (let i = 0; i < 53; i++) {
    const to = new Date(from.getTime() + 7 * 86_400_000);
    const found = edgesBetween(schedule, from, to).find((e) => e.action === action && !e.suppressedBy);
    if (found) return found;
    from = to;
  }
  return undefined;
}

/** Milliseconds in [from, to) during which the schedule wants instances running. */
export function runningMsBetween(schedule: Calendar, from: Date, to: Date): number {
  let state = desiredState(schedule, from);
  let cursor = from.getTime();
  let total = 0;
  for (const edge of edgesBetween(schedule, new Date(from.getTime() + 1), to)) {
    if (edge.suppressedBy) continue;
    if (state === 'running') total += edge.at.getTime() - cursor;
    cursor = edge.at.getTime();
    state = edge.action === 'start' ? 'running' : 'stopped';
  }
  if (state === 'running') total += to.getTime() - cursor;
  return total;
}
