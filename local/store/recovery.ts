import { handler as compensate } from '../../functions/handlers/provision-compensate.ts';
import type { Logger } from '../../functions/log.ts';
import { provisionRequestSchema, targetOf } from '../../functions/provisioning/request.ts';
import { startProvisionExecution } from '../../functions/provisioning/start.ts';
import type { Stores } from '../../functions/runtime/stores.ts';
import type { Job } from '../../functions/store/jobs.ts';

/**
 * What a restart does with the jobs the last runtime left unfinished. It reads the job items
 * themselves (a Scan, never the byStatus index, which dynalite updates apart from its items), treats
 * each job on its own (one bad record is reported, never stops the rest), and for each:
 *
 * - its execution is one the engine resumes → left to it;
 * - QUEUED with no execution (cut between its acceptance and its start) → started now: a
 *   provisioning from its stored request (unless secrets were redacted out of it: then it waits for
 *   the sender's redelivery, which reopens it); other kinds cannot be rebuilt and FAIL with the reason;
 * - RUNNING (or QUEUED after its first step) whose execution is gone → cleaned up (a provisioning's
 *   `onFailure` is applied to the instance it may have built) and INTERRUPTED with the reason and
 *   what was cleaned up.
 *
 * Idempotency claims still in progress from before this start are expired first: the data folder's
 * lock proves their holders are dead, so the next attempt takes them over at once (and is told).
 */

export interface RecoveryContext {
  stores: Stores;
  /** Whether the engine knows (and runs or resumes) this execution. */
  executionKnown(executionArn: string): boolean;
  /** The execution ARN a job of this kind gets when named after its id (undefined: unknown kind). */
  executionArnFor(job: Job): string | undefined;
  /** Cleans up after a job whose execution is lost; says what it did. */
  cleanup(job: Job): Promise<string | undefined>;
  /** Claims created before this moment belong to a dead process. */
  bootTime: Date;
  log: Logger;
}

export interface JobRecovery {
  jobId: string;
  kind: string;
  /** resumed: its execution runs on; started: its execution was started now; interrupted/failed: ended here. */
  action: 'resumed' | 'started' | 'interrupted' | 'failed' | 'waiting' | 'error';
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

const INTERRUPTED = 'the runtime stopped while this job ran and its execution could not be resumed';

export async function recoverJobs(ctx: RecoveryContext): Promise<RecoveryReport> {
  const started = performance.now();
  const report: RecoveryReport = { claimsExpired: 0, jobs: [], unreadable: [], durationMs: 0 };
  const { jobs, idempotency } = ctx.stores;

  try {
    for await (const claim of idempotency.inProgress()) {
      if (claim.createdAt && Date.parse(claim.createdAt) >= ctx.bootTime.getTime()) continue;
      if (claim.inProgressExpiresAt <= Date.now()) continue;
      if (await idempotency.expireInProgress(claim).catch(() => false)) report.claimsExpired++;
    }
  } catch (error) {
    report.unreadable.push(`idempotency claims: ${(error as Error).message}`);
  }

  const unfinished: Job[] = [];
  try {
    for await (const job of jobs.scanItems({ statuses: ['QUEUED', 'RUNNING'] })) unfinished.push(job);
  } catch (error) {
    report.unreadable.push(`jobs: ${(error as Error).message}`);
  }

  for (const job of unfinished) {
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
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

async function recoverJob(ctx: RecoveryContext, job: Job): Promise<JobRecovery> {
  const { jobs } = ctx.stores;
  const about = { jobId: job.jobId, kind: job.kind };
  const arn = job.executionArn ?? ctx.executionArnFor(job);
  if (arn && ctx.executionKnown(arn)) return { ...about, action: 'resumed' };

  // Accepted, never started: nothing ran, so it can start now (its execution is gone or never was).
  const didNothing = job.status === 'QUEUED' && !job.steps.some((s) => s.name !== 'reopen');
  if (didNothing && job.kind === 'provision') {
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
  if (job.status === 'QUEUED') {
    const reason = 'accepted, then cut by a restart before it started; its trigger may send it again';
    await jobs.transition(job.jobId, 'FAILED', { error: { code: 'Interrupted', message: reason } });
    ctx.log.warn('job failed by a restart', { ...about, reason });
    return { ...about, action: 'failed', reason };
  }

  const cleaned = await ctx.cleanup(job);
  const reason = cleaned ? `${INTERRUPTED}; ${cleaned}` : INTERRUPTED;
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
  const instanceId = Object.values(job.results).find((r) => r.instanceId)?.instanceId;
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
