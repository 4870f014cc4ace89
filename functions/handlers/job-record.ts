import * as z from 'zod';
import { notifyJobEnd } from '../notify/notifier.ts';
import { explainFailure } from '../runtime/failures.ts';
import { taskHandler } from '../runtime/handler.ts';
import { targetSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';
import { secretStore } from '../secrets/store.ts';

const input = z.discriminatedUnion('record', [
  z.object({
    record: z.literal('succeeded'),
    jobId: z.string(),
    target: targetSchema,
    instanceId: z.string(),
    snapshotId: z.string().nullish(),
    type: z.string().optional(),
  }),
  z.object({ record: z.literal('skipped'), jobId: z.string(), step: z.string(), reason: z.string() }),
  z.object({
    record: z.literal('failed'),
    jobId: z.string(),
    target: targetSchema.optional(),
    instanceId: z.string().nullish(),
    error: z.object({ Error: z.string(), Cause: z.string().optional() }),
  }),
]);

/** Writes a workflow's conclusions to the job: a skipped step, the final result, or the failure. */
export const handler = taskHandler('job-record', input, async (event) => {
  const { jobs } = stores();
  const now = new Date().toISOString();
  switch (event.record) {
    case 'skipped':
      await jobs.appendStep(event.jobId, {
        name: event.step,
        status: 'SKIPPED',
        startedAt: now,
        endedAt: now,
        detail: { reason: event.reason },
      });
      return { recorded: 'skipped' };
    case 'succeeded':
      await jobs.recordResult(event.jobId, event.instanceId, {
        status: 'SUCCEEDED',
        provider: event.target.provider,
        instanceId: event.instanceId,
        detail: {
          location: event.target.location,
          ...(event.snapshotId && { snapshotId: event.snapshotId }),
        },
      });
      // Job-end notifications go out here, after the terminal transition: this recorder is the
      // task every workflow ends a job through, the same on Step Functions and the local engine.
      await notifyJobEnd(await jobs.transition(event.jobId, 'SUCCEEDED'));
      await secretStore().forget(event.jobId);
      return { recorded: 'succeeded' };
    case 'failed': {
      const error = explainFailure(event.error.Error, event.error.Cause);
      if (event.instanceId) {
        await jobs.recordResult(event.jobId, event.instanceId, {
          status: 'FAILED',
          ...(event.target && { provider: event.target.provider }),
          instanceId: event.instanceId,
          error,
        });
      }
      await notifyJobEnd(await jobs.transition(event.jobId, 'FAILED', { error }));
      // The job is over: its sealed secrets (if a failure came before the create used them) go too.
      await secretStore().forget(event.jobId);
      return { recorded: 'failed', error };
    }
  }
});
