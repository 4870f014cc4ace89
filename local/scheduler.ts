import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Cron } from 'croner';
import type { FleetflowConfig } from '../functions/config/schema.ts';
import type { Logger } from '../functions/log.ts';
import { cronPattern } from '../functions/schedule/calendar.ts';
import type { RunAction } from '../functions/schedule/plan.ts';
import { runName, scheduleRunInput, startScheduleRun } from '../functions/schedule/run.ts';
import { warnCronPattern, warnRunInput, warnSeconds } from '../functions/schedule/warn.ts';

/**
 * The local stand-in for EventBridge Scheduler: one cron job per period edge (in the schedule's
 * timezone, as the AWS schedules are), the hourly sweep of `manualStart: enforce` schedules, and
 * for schedules with `warn` one job per stop edge moved back by `before` (the same expression as
 * the AWS warn schedule). Each starts its workflow through the Step Functions API with the
 * scheduled time in its input (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`), and an
 * execution name carrying the edge's minute, so a run is never started twice for one edge.
 *
 * Time comes from a clock: the real one, or (tests) a scaled one, where an hour of schedule may
 * pass in seconds; the runs then plan for the scheduled time, not the wall clock.
 */
export type SchedulerAction = RunAction | 'warn';

export interface SchedulerClock {
  now(): Date;
  /** Real milliseconds to wait for a span of scheduled time. */
  realMs(scheduledMs: number): number;
}

export const REAL_CLOCK: SchedulerClock = { now: () => new Date(), realMs: (ms) => ms };

/** A clock that starts at `start` and runs `speed` times faster than the wall clock. */
export function scaledClock(start: Date, speed: number): SchedulerClock {
  const origin = Date.now();
  return {
    now: () => new Date(start.getTime() + (Date.now() - origin) * speed),
    realMs: (ms) => ms / speed,
  };
}

export interface LocalScheduler {
  /** What is scheduled, with each job's next run. */
  entries(): Array<{
    schedule: string;
    action: SchedulerAction;
    pattern: string;
    timezone: string;
    next?: string;
  }>;
  stop(): void;
}

interface Job {
  schedule: string;
  action: SchedulerAction;
  pattern: string;
  timezone: string;
  cron: Cron;
  next?: Date;
  timer?: NodeJS.Timeout;
}

/** setTimeout's longest wait; a later run is reached in several waits. */
const MAX_WAIT_MS = 2 ** 31 - 1;

export function startLocalScheduler(args: {
  config: FleetflowConfig;
  sfn: SFNClient;
  stateMachineArn: string;
  /** The warn workflow; schedules' `warn` is ignored without it. */
  warnStateMachineArn?: string;
  log: Logger;
  clock?: SchedulerClock;
}): LocalScheduler {
  const clock = args.clock ?? REAL_CLOCK;
  const jobs: Job[] = [];
  let stopped = false;

  const fire = async (job: Job, at: Date) => {
    try {
      if (job.action === 'warn') {
        const name = `warn-${job.schedule}-${at.toISOString().slice(0, 16).replace(/[-:]/g, '')}`.slice(
          0,
          80,
        );
        await args.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: args.warnStateMachineArn!,
            name,
            input: JSON.stringify(warnRunInput(args.config, job.schedule, { at })),
          }),
        );
        args.log.info('warning started', { schedule: job.schedule, at: at.toISOString() });
        return;
      }
      const { jobId } = await startScheduleRun({
        sfn: args.sfn,
        stateMachineArn: args.stateMachineArn,
        input: { ...scheduleRunInput(args.config, job.schedule, job.action), at: at.toISOString() } as never,
        name: runName(job.schedule, job.action, at),
      });
      args.log.info('schedule run started', { schedule: job.schedule, action: job.action, jobId });
    } catch (error) {
      args.log.error('scheduled run could not start', {
        schedule: job.schedule,
        action: job.action,
        error: (error as Error).name,
        message: (error as Error).message,
      });
    }
  };

  const arm = (job: Job) => {
    if (stopped) return;
    const next = job.cron.nextRun(clock.now());
    job.next = next ?? undefined;
    if (!next) return;
    const wait = Math.min(MAX_WAIT_MS, Math.max(0, clock.realMs(next.getTime() - clock.now().getTime())));
    job.timer = setTimeout(() => {
      if (clock.now() < next) return arm(job); // a long wait in several steps
      void fire(job, next);
      arm(job);
    }, wait);
    job.timer.unref?.();
  };

  const add = (schedule: string, action: SchedulerAction, pattern: string, timezone: string) => {
    if (jobs.some((j) => j.schedule === schedule && j.action === action && j.pattern === pattern)) return;
    const job: Job = {
      schedule,
      action,
      pattern,
      timezone,
      cron: new Cron(pattern, { timezone, paused: true }),
    };
    jobs.push(job);
    arm(job);
  };
  for (const [name, s] of Object.entries(args.config.schedules)) {
    for (const period of s.periods)
      for (const action of ['start', 'stop'] as const)
        add(name, action, cronPattern(period, action), s.timezone);
    if (s.manualStart === 'enforce') add(name, 'enforce', '30 * * * *', s.timezone);
    if (s.warn && args.warnStateMachineArn)
      for (const period of s.periods)
        add(name, 'warn', warnCronPattern(period, warnSeconds(s.warn)), s.timezone);
  }
  return {
    entries: () =>
      jobs.map((j) => ({
        schedule: j.schedule,
        action: j.action,
        pattern: j.pattern,
        timezone: j.timezone,
        ...(j.next && { next: j.next.toISOString() }),
      })),
    stop: () => {
      stopped = true;
      for (const j of jobs) clearTimeout(j.timer);
    },
  };
}
