import { randomBytes } from 'node:crypto';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { FleetflowConfig } from '../config/schema.ts';
import { own } from '../shared/keys.ts';
import type { Trigger } from '../store/schemas.ts';
import type { RunAction } from './plan.ts';

/** The local name of the power-schedule state machine (and the prefix of the AWS one). */
export const POWER_SCHEDULE_MACHINE = 'power-schedule';
/** Its page workflow: one child execution per page of instances. */
export const POWER_SCHEDULE_PAGE_MACHINE = 'power-schedule-page';

/**
 * What a run needs, carried in the execution input: the schedule and only the parts of the config
 * it reads. EventBridge Scheduler puts this in each schedule's target input at deploy time, the
 * local scheduler and `fleetflow schedule run` build it from the file, so the workflow's handlers
 * never read a config file of their own.
 */
export interface ScheduleRunInput {
  schedule: string;
  action: RunAction;
  dryRun?: boolean;
  trigger: Trigger;
  config: Pick<
    FleetflowConfig,
    'accounts' | 'scheduleLabel' | 'optOutLabel' | 'currency' | 'prices' | 'schedules'
  >;
}

export function scheduleRunInput(
  config: FleetflowConfig,
  schedule: string,
  action: RunAction,
  options: { dryRun?: boolean; trigger?: Trigger } = {},
): ScheduleRunInput {
  const s = own(config.schedules, schedule);
  if (!s)
    throw new RangeError(
      `no schedule '${schedule}' (have: ${Object.keys(config.schedules).join(', ') || 'none'})`,
    );
  return {
    schedule,
    action,
    ...(options.dryRun !== undefined && { dryRun: options.dryRun }),
    trigger: options.trigger ?? { type: 'schedule', actor: schedule },
    config: {
      accounts: config.accounts,
      scheduleLabel: config.scheduleLabel,
      optOutLabel: config.optOutLabel,
      currency: config.currency,
      prices: config.prices,
      schedules: { [schedule]: s },
    },
  };
}

/** An execution name (= job id) for a run: the edge's minute makes a repeated trigger a no-op. */
export function runName(schedule: string, action: RunAction, at: Date, unique = false): string {
  const stamp = at.toISOString().slice(0, 16).replace(/[-:]/g, '');
  return `sched-${schedule}-${action}-${stamp}${unique ? `-${randomBytes(3).toString('hex')}` : ''}`.slice(
    0,
    80,
  );
}

let client: SFNClient | undefined;

/** Starts a run through the Step Functions API (AWS_ENDPOINT_URL_SFN points it at the local engine). */
export async function startScheduleRun(args: {
  stateMachineArn: string;
  input: ScheduleRunInput;
  name: string;
  sfn?: SFNClient;
}): Promise<{ jobId: string; executionArn: string }> {
  client ??= new SFNClient({});
  const sfn = args.sfn ?? client;
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: args.stateMachineArn,
      name: args.name,
      input: JSON.stringify(args.input),
    }),
  );
  return { jobId: args.name, executionArn: executionArn ?? '' };
}
