import * as z from 'zod';
import { logger } from '../log.ts';
import { taskHandler } from '../runtime/handler.ts';
import { stores } from '../runtime/stores.ts';

/** The periodic run (EventBridge Scheduler's input; the local timer sends the same). */
const periodic = z.object({ checkpoint: z.literal('periodic') });
/** A workflow's end, as EventBridge delivers it; the execution name is the job id. */
const executionEnded = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    name: z.string().min(1),
    status: z.enum(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
  }),
});
const input = z.union([periodic, executionEnded]);
export type AuditCheckpointEvent = z.input<typeof input>;

const log = logger.child({ handler: 'audit-checkpoint' });

/**
 * Writes the audit trail's signed checkpoints: at a workflow's end, the head of each of its job's
 * chains; periodically, every chain that changed since the last checkpoint (the first run adopts
 * every chain in the table). Each checkpoint's number goes to the log, a record kept apart from the
 * table that `fleetflow audit verify --expect-checkpoint N` can be held against.
 */
export const handler = taskHandler('audit-checkpoint', input, async (event) => {
  const { checkpoints } = stores().audit;
  const written =
    'detail' in event ? await checkpoints.forJob(event.detail.name) : await checkpoints.periodic();
  for (const cp of written) {
    log.info('audit checkpoint written', {
      checkpoint: cp.seq,
      reason: cp.reason,
      at: cp.at,
      chains: cp.heads.length,
      ...(cp.jobId && { jobId: cp.jobId }),
    });
  }
  return { checkpoints: written.map((cp) => cp.seq) };
});
