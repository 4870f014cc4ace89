import * as z from 'zod';
import { eventSinkFromEnv } from '../events/emitter.ts';
import { TARGET_STATE } from '../providers/port.ts';
import { providerFor } from '../runtime/accounts.ts';
import { explainFailure } from '../runtime/failures.ts';
import { taskHandler } from '../runtime/handler.ts';
import { targetSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';

/** The instance did not end where the action should have left it. */
export class VerificationFailedError extends Error {
  override name = 'VerificationFailed';
}

const instance = {
  jobId: z.string().min(1),
  target: targetSchema,
  instanceId: z.string().min(1),
  action: z.enum(['start', 'stop']),
};
const input = z.discriminatedUnion('record', [
  z.object({ record: z.literal('verify'), ...instance }),
  z.object({
    record: z.literal('failed'),
    ...instance,
    error: z.object({ Error: z.string(), Cause: z.string().optional() }),
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
 * The schedule run's records: `verify` reads the instance back after the wait and records it
 * done (or fails, so the iteration's Catch records it FAILED); `failed` records one instance's
 * failure with a reason a person can act on, without failing the run; `finish` closes the job
 * SUCCEEDED, PARTIAL or FAILED from the per-instance results. Each emits its event.
 */
export const handler = taskHandler('schedule-result', input, async (event) => {
  const { jobs } = stores();
  const events = eventSinkFromEnv();
  switch (event.record) {
    case 'verify': {
      const want = TARGET_STATE[event.action]!;
      const found = await (await providerFor(event.target)).get(event.instanceId);
      if (found.state !== want) {
        throw new VerificationFailedError(
          `${event.target.provider} instance ${event.instanceId} is ${found.state} after ${event.action}, not ${want}`,
        );
      }
      await jobs.recordResult(event.jobId, event.instanceId, {
        status: 'SUCCEEDED',
        provider: event.target.provider,
        detail: { action: event.action, state: found.state },
      });
      await events.emit([
        {
          detailType: DONE_EVENT[event.action],
          resources: [event.instanceId],
          detail: { jobId: event.jobId, ...event.target, instanceId: event.instanceId, name: found.name },
        },
      ]);
      return { recorded: 'succeeded' };
    }
    case 'failed': {
      const error = explainFailure(event.error.Error, event.error.Cause);
      await jobs.recordResult(event.jobId, event.instanceId, {
        status: 'FAILED',
        provider: event.target.provider,
        detail: { action: event.action },
        error,
      });
      await events.emit([
        {
          detailType: 'Instance Action Failed',
          resources: [event.instanceId],
          detail: {
            jobId: event.jobId,
            ...event.target,
            instanceId: event.instanceId,
            action: event.action,
            error,
          },
        },
      ]);
      return { recorded: 'failed' };
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
