import type { SFNClient } from '@aws-sdk/client-sfn';
import { Cron } from 'croner';
import type { FleetflowConfig } from '../functions/config/schema.ts';
import type { Logger } from '../functions/log.ts';
import { cronPattern } from '../functions/schedule/calendar.ts';
import type { RunAction } from '../functions/schedule/plan.ts';
import { runName, scheduleRunInput, startScheduleRun } from '../functions/schedule/run.ts';

/**
 * The local stand-in for EventBridge Scheduler: one cron job per period edge (in the schedule's
 * timezone, as the AWS schedules are), plus the hourly sweep of `manualStart: enforce`
 * schedules, each starting the power-schedule workflow through the Step Functions API. The
 * execution name carries the edge's minute, so a run is never started twice for one edge.
 */
export interface LocalScheduler {
  /** What is scheduled, with each job's next run. */
  entries(): Array<{ schedule: string; action: RunAction; pattern: string; timezone: string; next?: string }>;
  stop(): void;
}

export function startLocalScheduler(args: {
  config: FleetflowConfig;
  sfn: SFNClient;
  stateMachineArn: string;
  log: Logger;
}): LocalScheduler {
  const jobs: Array<{ schedule: string; action: RunAction; pattern: string; timezone: string; cron: Cron }> =
    [];
  const add = (schedule: string, action: RunAction, pattern: string, timezone: string) => {
    if (jobs.some((j) => j.schedule === schedule && j.action === action && j.pattern === pattern)) return;
    const cron = new Cron(pattern, { timezone, protect: true }, async () => {
      const at = new Date();
      try {
        const { jobId } = await startScheduleRun({
          sfn: args.sfn,
          stateMachineArn: args.stateMachineArn,
          input: scheduleRunInput(args.config, schedule, action),
          name: runName(schedule, action, at),
        });
        args.log.info('schedule run started', { schedule, action, jobId });
      } catch (error) {
        args.log.error('schedule run could not start', {
          schedule,
          action,
          error: (error as Error).name,
          message: (error as Error).message,
        });
      }
    });
    jobs.push({ schedule, action, pattern, timezone, cron });
  };
  for (const [name, s] of Object.entries(args.config.schedules)) {
    for (const period of s.periods)
      for (const action of ['start', 'stop'] as const)
        add(name, action, cronPattern(period, action), s.timezone);
    if (s.manualStart === 'enforce') add(name, 'enforce', '30 * * * *', s.timezone);
  }
  return {
    entries: () =>
      jobs.map((j) => ({
        schedule: j.schedule,
        action: j.action,
        pattern: j.pattern,
        timezone: j.timezone,
        ...(j.cron.nextRun() && { next: j.cron.nextRun()!.toISOString() }),
      })),
    stop: () => {
      for (const j of jobs) j.cron.stop();
    },
  };
}
