import type { FleetflowConfig } from '../config/schema.ts';
import { eventSinkFromEnv } from '../events/emitter.ts';
import { createNotifiers, type Delivery, notify } from '../notify/notifier.ts';
import { providerFor } from '../runtime/accounts.ts';
import { stores } from '../runtime/stores.ts';
import { inParallel } from '../shared/in-parallel.ts';
import { ExecutionConflictError } from '../store/errors.ts';
import type { Trigger } from '../store/schemas.ts';
import { overrideStore } from './context.ts';
import { decide, selectCandidates } from './plan.ts';
import { stopAfter, stopToWarn, type WarnGroup, warnGroups } from './warn.ts';
import { snoozeKeys } from './warn-key.ts';
import { noticeLinks, warningNotice } from './warn-notice.ts';
import { MAX_GROUP_INSTANCES, type WarningRecord, warningStore } from './warn-store.ts';

/** The job of one warning: one per schedule and stop, whichever trigger (or retry) ran it. */
export function warningJobId(schedule: string, stopAt: Date): string {
  return `warn-${schedule}-${stopAt.toISOString().slice(0, 16).replace(/[-:]/g, '')}`.slice(0, 80);
}

export class WarnConfigError extends Error {
  override name = 'WarnConfigError';
}

/** Notices go out a few at a time: each is a few HTTP calls with their own timeouts. */
const NOTICE_CONCURRENCY = 4;

export interface WarnResult {
  jobId?: string;
  stopAt?: string;
  groups: number;
  instances: number;
  duplicate?: boolean;
  reason?: string;
}

/**
 * A warn run: the stop it warns about, what that stop will do (the same listing and decisions as
 * the run at the stop, overrides as they will be then), one notice per owner group with signed
 * links, each group's instances kept for its links. A group already notified (a retried or
 * repeated run) is not notified again. Tokens exist only in the notices, never in the job, the
 * events or the task's output.
 */
export async function runWarning(args: {
  config: FleetflowConfig;
  schedule: string;
  trigger: Trigger;
  at: Date;
  executionArn: string;
  notifications: Parameters<typeof createNotifiers>[0];
  env?: NodeJS.ProcessEnv;
}): Promise<WarnResult> {
  const env = args.env ?? process.env;
  const schedule = args.config.schedules[args.schedule]!;
  const warn = schedule.warn;
  if (!warn) throw new WarnConfigError(`schedule ${args.schedule} has no warn`);
  const stopAt = stopToWarn(schedule, args.at);
  if (!stopAt)
    return {
      groups: 0,
      instances: 0,
      reason: `no stop of ${args.schedule} within ${warn.before} of ${args.at.toISOString()}`,
    };

  const { jobs } = stores();
  const jobId = warningJobId(args.schedule, stopAt);
  await jobs.create({
    jobId,
    kind: 'schedule-warning',
    trigger: args.trigger,
    request: { schedule: args.schedule, stopAt: stopAt.toISOString(), before: warn.before },
  });
  try {
    await jobs.transition(jobId, 'RUNNING', { executionArn: args.executionArn });
  } catch (error) {
    if (error instanceof ExecutionConflictError) return { jobId, groups: 0, instances: 0, duplicate: true };
    throw error;
  }
  const startedAt = new Date().toISOString();
  const step = async (detail: Record<string, unknown>) =>
    jobs.appendStep(jobId, {
      name: 'warn',
      status: 'SUCCEEDED',
      startedAt,
      endedAt: new Date().toISOString(),
      detail: detail as never,
    });

  if (schedule.dryRun) {
    await step({
      stopAt: stopAt.toISOString(),
      reason: 'dry run: the stop changes nothing, so no one is warned',
    });
    await jobs.transition(jobId, 'SUCCEEDED');
    return { jobId, stopAt: stopAt.toISOString(), groups: 0, instances: 0, reason: 'dry run' };
  }
  try {
    const publicUrl = env.FLEETFLOW_PUBLIC_URL;
    if (!publicUrl)
      throw new WarnConfigError('FLEETFLOW_PUBLIC_URL is not set: the snooze links need the API base URL');
    const keys = await snoozeKeys(env);
    const candidates = await selectCandidates(args.config, args.schedule, async (target, filter) =>
      (await providerFor(target)).list(filter),
    );
    // The stop as it will run: decided at the stop's time, with the overrides valid then.
    const plan = decide({
      config: args.config,
      schedule: args.schedule,
      action: 'stop',
      candidates,
      overrides: await overrideStore().list(),
      at: stopAt,
    });
    const groups = warnGroups(plan, candidates, warn.ownerLabel);
    const notifiers = createNotifiers(args.notifications, {
      env,
      delivery: { timeoutMs: 5000, maxRetries: 1, baseDelayMs: 250 },
    });
    const next = stopAfter(schedule, stopAt);
    const outcomes: Array<{ group: WarnGroup; sent: 'now' | 'before'; deliveries: Delivery[] }> = [];
    await inParallel(groups, NOTICE_CONCURRENCY, async (group) => {
      const wholeSchedule = group.instances.length > MAX_GROUP_INSTANCES;
      const record: WarningRecord = await warningStore(env).open({
        kind: 's',
        name: args.schedule,
        stopAt: Math.floor(stopAt.getTime() / 1000),
        group: group.key,
        ...(group.owner && { owner: group.owner }),
        instances: wholeSchedule ? [] : group.instances,
        ...(wholeSchedule && { wholeSchedule: true }),
        timezone: schedule.timezone,
        ...(next && { nextStopAt: Math.floor(next.getTime() / 1000) }),
        afterOverride: schedule.manualStart === 'enforce' ? 'hourly-check' : 'next-stop',
      });
      if (record.sent) {
        outcomes.push({ group, sent: 'before', deliveries: [] });
        return;
      }
      // "In N minutes" from the warning's scheduled time, not the moment this runs.
      const event = warningNotice(record, noticeLinks(record, keys, publicUrl), args.at.getTime());
      const deliveries = await notify(event, notifiers);
      // Sent once one target took it (or none is configured: the warning is on record all the same).
      if (deliveries.length === 0 || deliveries.some((d) => d.result.ok))
        await warningStore(env).markSent(record);
      outcomes.push({ group, sent: 'now', deliveries });
    });

    const undelivered = outcomes.filter(
      (o) => o.deliveries.length > 0 && !o.deliveries.some((d) => d.result.ok),
    );
    const instances = groups.reduce((n, g) => n + g.instances.length, 0);
    await step({
      stopAt: stopAt.toISOString(),
      before: warn.before,
      instances,
      targets: notifiers.map((n) => n.name),
      groups: outcomes.slice(0, 50).map((o) => ({
        owner: o.group.owner ?? '(no owner)',
        instances: o.group.instances.length,
        names: o.group.instances.slice(0, 20).map((i) => i.name),
        notice:
          o.sent === 'before'
            ? 'sent by an earlier run'
            : o.deliveries.map((d) => `${d.notifier}: ${d.result.ok ? 'delivered' : d.result.error}`),
      })),
    });
    await eventSinkFromEnv().emit([
      {
        detailType: 'Schedule Warning Sent',
        detail: {
          jobId,
          schedule: args.schedule,
          stopAt: stopAt.toISOString(),
          instances,
          groups: groups.length,
        },
      },
    ]);
    if (undelivered.length > 0)
      await jobs.transition(jobId, 'PARTIAL', {
        error: {
          code: 'NoticeNotDelivered',
          message: `${undelivered.length} of ${groups.length} notices reached no target: ${undelivered
            .slice(0, 5)
            .map(
              (o) =>
                `${o.group.owner ?? '(no owner)'}: ${o.deliveries.map((d) => d.result.error).join('; ')}`,
            )
            .join(' | ')}`.slice(0, 4000),
        },
      });
    else await jobs.transition(jobId, 'SUCCEEDED');
    return { jobId, stopAt: stopAt.toISOString(), groups: groups.length, instances };
  } catch (error) {
    const e = error as Error;
    await jobs
      .transition(jobId, 'FAILED', { error: { code: e.name, message: e.message.slice(0, 4000) } })
      .catch(() => undefined);
    throw error;
  }
}
