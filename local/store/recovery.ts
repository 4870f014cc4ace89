import { handler as compensate } from '../../functions/handlers/provision-compensate.ts';
import type { Logger } from '../../functions/log.ts';
import { provisionRequestSchema, targetOf } from '../../functions/provisioning/request.ts';
import { startProvisionExecution } from '../../functions/provisioning/start.ts';
import { type Stores, stores } from '../../functions/runtime/stores.ts';
import { inParallel } from '../../functions/shared/in-parallel.ts';
import type { Job } from '../../functions/store/jobs.ts';

/**
 * What a restart does with the jobs the last runtime left unfinished. It reads the job items
 * themselves (a Scan, never the byStatus index, which dynalite updates apart from its items), treats
 * each job on its own (one bad record is reported, never stops the rest), and for each:
 *
 * - its execution resumed → left to it; it had ended before the restart (its end listener cut
 *   short) → the job is closed as the listener would have;
 * - QUEUED with no execution (cut between its acceptance and its start) → started now: a
 *   provisioning from its stored request (unless secrets were redacted out of it: then it waits for
 *   the sender's redelivery, which reopens it); other kinds cannot be rebuilt and FAIL with the reason;
 * - its execution cannot resume, or is gone → cleaned up (a provisioning's `onFailure` is applied to
 *   the instance it may have built) and INTERRUPTED with the reason and what was cleaned up.
 *
 * Before the engine resumes anything, `expireDeadClaims` ends the in-progress window of claims
 * held by the dead process (the data folder's lock proves it is gone), so resumed steps take them
 * over at once, and are told they were cut short.
 */

export type ExecutionState =
  | { state: 'running' }
  | { state: 'ended'; settle: () => Promise<void> }
  | { state: 'interrupted'; reason: string };

export interface RecoveryContext {
  stores: Stores;
  /** The engine's execution of a job after its recovery, or undefined when it has none. */
  executionOf(job: Job): ExecutionState | undefined;
  /** Cleans up after a job whose execution is lost; says what it did. */
  cleanup(job: Job): Promise<string | undefined>;
  log: Logger;
}

export interface JobRecovery {
  jobId: string;
  kind: string;
  /**
   * resumed: its execution runs on; closed: its execution had ended, the job now says so; started:
   * its execution was started now; waiting: ended until its sender delivers it again;
   * interrupted/failed: ended here with the reason; error: could not be recovered (reported).
   */
  action: 'resumed' | 'closed' | 'started' | 'waiting' | 'interrupted' | 'failed' | 'error';
  reason?: string;
}

export interface RecoveryReport {
  /** In-progress claims of the dead process, expired so they can be taken over. */
  claimsExpired: number;
  jobs: JobRecovery[];
  /** Parts that could not be read (damaged storage); what was read was recovered. */
  unreadable: string[];
  durationMs: number;
}

const RECOVERY_CONCURRENCY = 8;
const INTERRUPTED = 'the runtime stopped while this job ran and its execution could not be resumed';

/** Expires the in-progress claims created before `bootTime` (their process is gone). Returns how many. */
export async function expireDeadClaims(stores: Stores, bootTime: Date, log: Logger): Promise<number> {
  let expired = 0;
  try {
    for await (const claim of stores.idempotency.inProgress()) {
      if (claim.createdAt && Date.parse(claim.createdAt) >= bootTime.getTime()) continue;
      if (claim.inProgressExpiresAt <= Date.now()) continue;
      if (await stores.idempotency.expireInProgress(claim).catch(() => false)) expired++;
    }
  } catch (error) {
    log.error('could not read the idempotency claims', { message: (error as Error).message });
  }
  return expired;
}

export async function recoverJobs(ctx: RecoveryContext): Promise<RecoveryReport> {
  const started = performance.now();
  const report: RecoveryReport = { claimsExpired: 0, jobs: [], unreadable: [], durationMs: 0 };
  const unfinished: Job[] = [];
  try {
    for await (const job of ctx.stores.jobs.scanItems({ statuses: ['QUEUED', 'RUNNING'] }))
      unfinished.push(job);
  } catch (error) {
    report.unreadable.push(`jobs: ${(error as Error).message}`);
  }
  // A few at a time: each is a handful of writes (and maybe a start), independent of the others.
  await inParallel(unfinished, RECOVERY_CONCURRENCY, async (job) => {
    try {
      report.jobs.push(await recoverJob(ctx, job));
    } catch (error) {
      report.jobs.push({
        jobId: job.jobId,
        kind: job.kind,
        action: 'error',
        reason: (error as Error).message,
      });
      ctx.log.error('could not recover job', { jobId: job.jobId, message: (error as Error).message });
    }
  });
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

async function recoverJob(ctx: RecoveryContext, job: Job): Promise<JobRecovery> {
  const { jobs } = ctx.stores;
  const about = { jobId: job.jobId, kind: job.kind };
  const execution = ctx.executionOf(job);
  if (execution?.state === 'running') return { ...about, action: 'resumed' };
  if (execution?.state === 'ended') {
    await execution.settle();
    return { ...about, action: 'closed' };
  }

  // Accepted, never started: nothing ran, so it can start now (its execution is gone or never was).
  const didNothing = job.status === 'QUEUED' && !job.steps.some((s) => s.name !== 'reopen');
  if (!execution && didNothing && job.kind === 'provision') {
    if (containsRedaction(job.request)) {
      const reason =
        'accepted, then cut by a restart before it started; its request held secrets that are not stored, so it waits for the sender to deliver it again';
      await jobs.transition(job.jobId, 'FAILED', { error: { code: 'Interrupted', message: reason } });
      return { ...about, action: 'waiting', reason };
    }
    if (job.executionArn) await jobs.forgetExecution(job.jobId, job.executionArn);
    await startProvisionExecution({ jobId: job.jobId, trigger: job.trigger, request: job.request });
    ctx.log.info('job started after a restart', about);
    return { ...about, action: 'started' };
  }
  const why =
    execution?.state === 'interrupted'
      ? `the runtime restarted and this job's execution cannot resume: ${execution.reason}`
      : INTERRUPTED;
  if (job.status === 'QUEUED') {
    const reason = execution
      ? why
      : 'accepted, then cut by a restart before it started; its trigger may send it again';
    await jobs.transition(job.jobId, 'FAILED', { error: { code: 'Interrupted', message: reason } });
    ctx.log.warn('job failed by a restart', { ...about, reason });
    return { ...about, action: 'failed', reason };
  }
  const cleaned = await ctx.cleanup(job);
  const reason = cleaned ? `${why}; ${cleaned}` : why;
  await jobs.transition(job.jobId, 'INTERRUPTED', { error: { code: 'Interrupted', message: reason } });
  ctx.log.warn('job interrupted by a restart', { ...about, reason });
  return { ...about, action: 'interrupted', reason };
}

/** True when redaction replaced part of a stored request (so it is not the request as sent). */
function containsRedaction(value: unknown): boolean {
  return JSON.stringify(value ?? null).includes('[REDACTED]');
}

/**
 * A provisioning whose execution is lost: its `onFailure` is carried out as the workflow's own
 * compensation would (the same task handler: delete the instance it built, found by id or by the
 * job's idempotency label, or keep it). Returns what happened, for the job's reason.
 */
export async function cleanUpProvisioning(job: Job): Promise<string | undefined> {
  const parsed = provisionRequestSchema.safeParse(job.request);
  if (!parsed.success) return 'its request could not be read back, so nothing was cleaned up';
  // A provisioning has one result at most: the instance it built, recorded once its id was known.
  const { items } = await stores().jobs.results.page(job.jobId, {}, { limit: 1 });
  const instanceId = items[0]?.instanceId;
  const progress = await compensate({
    jobId: job.jobId,
    trigger: job.trigger,
    target: targetOf(parsed.data),
    onFailure: parsed.data.onFailure,
    instanceId: instanceId ?? null,
    error: { Error: 'Interrupted', Cause: INTERRUPTED },
  });
  switch (progress.resourceId) {
    case 'kept':
      return `its instance${instanceId ? ` ${instanceId}` : ''} was kept, as the request asked (onFailure: keep)`;
    case 'nothing-to-delete':
      return 'it had not created an instance';
    case 'already-gone':
      return `its instance${instanceId ? ` ${instanceId}` : ''} was already gone`;
    default:
      return `its instance ${progress.instanceId ?? ''} is being deleted (onFailure: delete)`.replace(
        '  ',
        ' ',
      );
  }
}

/** Counts by what was done, for the one log line a restart writes. */
export function summarize(report: RecoveryReport): Record<string, unknown> {
  const counts: Record<string, number> = {};
  for (const j of report.jobs) counts[j.action] = (counts[j.action] ?? 0) + 1;
  return {
    ...counts,
    claimsExpired: report.claimsExpired,
    ...(report.unreadable.length && { unreadable: report.unreadable }),
    ms: report.durationMs,
  };
}
