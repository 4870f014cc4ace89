import * as z from 'zod';
import { eventSinkFromEnv } from '../events/emitter.ts';
import { TARGET_STATE } from '../providers/port.ts';
import { explainFailure } from '../runtime/failures.ts';
import { taskHandler } from '../runtime/handler.ts';
import { stores } from '../runtime/stores.ts';
import type { BatchItem } from './schedule-poll.ts';

const input = z.discriminatedUnion('record', [
  z.object({
    record: z.literal('batch'),
    jobId: z.string().min(1),
    action: z.enum(['start', 'stop']),
    items: z.array(z.looseObject({})),
    /** The poll's caught error, when the loop could not go on: pending instances fail with it. */
    pollError: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  }),
  z.object({
    record: z.literal('finish'),
    jobId: z.string().min(1),
    schedule: z.string(),
    action: z.enum(['start', 'stop']),
    dryRun: z.boolean(),
  }),
]);

const DONE_EVENT = { start: 'Instance Started', stop: 'Instance Stopped' } as const;

/**
 * The schedule run's records: `batch` records a whole provider group at once after its
 * wait-and-verify loop: reached instances SUCCEEDED (the poll's listing was the verifying read),
 * the rest FAILED with a reason a person can act on, without failing the run; `finish` closes the
 * job SUCCEEDED, PARTIAL or FAILED from the per-instance results. Each emits its events.
 */
export const handler = taskHandler('schedule-result', input, async (event) => {
  const { jobs } = stores();
  const events = eventSinkFromEnv();
  switch (event.record) {
    case 'batch': {
      const items = event.items as BatchItem[];
      const stuck = event.pollError
        ? explainFailure(event.pollError.Error, event.pollError.Cause)
        : { code: 'VerificationFailed', message: 'the instance was not seen in its end state' };
      const failure = (i: BatchItem) => (i.outcome === 'failed' && i.failure) || stuck;
      await jobs.recordResults(
        event.jobId,
        items.map((i) => [
          i.instanceId,
          i.outcome === 'reached'
            ? {
                status: 'SUCCEEDED',
                provider: i.target.provider,
                detail: { action: event.action, state: i.found ?? TARGET_STATE[event.action]! },
              }
            : {
                status: 'FAILED',
                provider: i.target.provider,
                detail: { action: event.action, ...(i.found && { state: i.found }) },
                error: failure(i),
              },
        ]),
      );
      await events.emit(
        items.map((i) =>
          i.outcome === 'reached'
            ? {
                detailType: DONE_EVENT[event.action],
                resources: [i.instanceId],
                detail: { jobId: event.jobId, ...i.target, instanceId: i.instanceId, name: i.name ?? null },
              }
            : {
                detailType: 'Instance Action Failed',
                resources: [i.instanceId],
                detail: {
                  jobId: event.jobId,
                  ...i.target,
                  instanceId: i.instanceId,
                  action: event.action,
                  error: failure(i),
                },
              },
        ),
      );
      const succeeded = items.filter((i) => i.outcome === 'reached').length;
      return { succeeded, failed: items.length - succeeded };
    }
    case 'finish': {
      const job = await jobs.require(event.jobId);
      const plan = job.steps.find((s) => s.name === 'plan')?.detail as
        | { cap?: { exceeded: boolean; mode: string; planned: number; limit: number }; savings?: unknown }
        | undefined;
      const results = Object.values(job.results);
      const failed = results.filter((r) => r.status === 'FAILED').length;
      const succeeded = results.filter((r) => r.status === 'SUCCEEDED').length;
      const skipped = results.length - failed - succeeded;
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
      await jobs.transition(event.jobId, status, error ? { error } : {});
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
      await events.emit([{ detailType: 'Schedule Run Finished', detail: summary }]);
      return summary;
    }
  }
});
