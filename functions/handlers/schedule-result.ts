import * as z from 'zod';
import { eventSinkFromEnv } from '../events/emitter.ts';
import { INSTANCE_STATES } from '../providers/port.ts';
import { explainFailure } from '../runtime/failures.ts';
import { taskHandler } from '../runtime/handler.ts';
import { targetSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';
import { failUnsettled, settle } from '../schedule/verify.ts';

const stepError = z.object({ Error: z.string(), Cause: z.string().optional() });
const input = z.discriminatedUnion('record', [
  z.object({
    /** One instance's act failed after its retries (the act Map's Catch). */
    record: z.literal('act-failed'),
    jobId: z.string().min(1),
    action: z.enum(['start', 'stop']),
    target: targetSchema,
    instanceId: z.string().min(1),
    state: z.enum(INSTANCE_STATES),
    error: stepError,
  }),
  z.object({
    /** A group's wait-and-verify loop could not go on: what it had not settled fails with its error. */
    record: z.literal('unverified'),
    jobId: z.string().min(1),
    action: z.enum(['start', 'stop']),
    pages: z.array(z.string().min(1)),
    pollError: stepError,
  }),
  z.object({
    record: z.literal('finish'),
    jobId: z.string().min(1),
    schedule: z.string(),
    action: z.enum(['start', 'stop']),
    dryRun: z.boolean(),
  }),
]);

/**
 * The schedule run's records. `act-failed`: an instance whose act failed is FAILED with a reason a
 * person can act on, without failing the run (its event goes out at once); `unverified`: the
 * group's loop broke, its unsettled instances fail with that error; `finish` counts the results
 * (a Query over the job's result items, so a replayed step cannot skew it) and closes the job
 * SUCCEEDED, PARTIAL or FAILED, with its event.
 */
export const handler = taskHandler('schedule-result', input, async (event) => {
  const { jobs } = stores();
  switch (event.record) {
    case 'act-failed': {
      await settle(event.jobId, event.action, [
        {
          target: event.target,
          instanceId: event.instanceId,
          outcome: 'failed',
          failure: explainFailure(event.error.Error, event.error.Cause),
        },
      ]);
      return {};
    }
    case 'unverified':
      return { failed: await failUnsettled(event.jobId, event.action, event.pages, event.pollError) };
    case 'finish': {
      const job = await jobs.require(event.jobId);
      const plan = job.steps.find((s) => s.name === 'plan')?.detail as
        | { cap?: { exceeded: boolean; mode: string; planned: number; limit: number }; savings?: unknown }
        | undefined;
      const counts = await jobs.results.counts(event.jobId);
      // A result still PENDING here was acted on but never verified: it counts as failed.
      const failed = counts.failed + counts.pending;
      const { succeeded, skipped } = counts;
      let status: 'SUCCEEDED' | 'PARTIAL' | 'FAILED' = 'SUCCEEDED';
      let error: { code: string; message: string } | undefined;
      if (plan?.cap?.exceeded && plan.cap.mode === 'abort') {
        status = 'FAILED';
        error = {
          code: 'BlastRadiusExceeded',
          message: `${plan.cap.planned} instances would ${event.action}, the cap is ${plan.cap.limit}; nothing was done — check the schedule's selection, or raise maxActions`,
        };
      } else if (failed > 0) {
        status = succeeded > 0 ? 'PARTIAL' : 'FAILED';
        error = {
          code: status === 'PARTIAL' ? 'SomeInstancesFailed' : 'AllInstancesFailed',
          message: `${failed} of ${failed + succeeded} instances failed to ${event.action}; see each instance's result. They are retried on the next run.`,
        };
      }
      await jobs.transition(event.jobId, status, { counts, ...(error && { error }) });
      const summary = {
        jobId: event.jobId,
        schedule: event.schedule,
        action: event.action,
        dryRun: event.dryRun,
        status,
        succeeded,
        failed,
        skipped,
        ...(plan?.savings !== undefined && { savings: plan.savings }),
      };
      await eventSinkFromEnv().emit([{ detailType: 'Schedule Run Finished', detail: summary }]);
      return summary;
    }
  }
});
