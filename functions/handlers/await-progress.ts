import * as z from 'zod';
import { providerFor } from '../runtime/accounts.ts';
import { taskHandler } from '../runtime/handler.ts';
import { advance, type Progress } from '../runtime/progress.ts';
import { progressSchema, targetSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';

const input = z.object({ jobId: z.string(), target: targetSchema, wait: progressSchema });

/** One poll of the call-and-wait loop; the workflow's Wait state does the waiting. */
export const handler = taskHandler('await-progress', input, async ({ jobId, target, wait }) => {
  const next = await advance(wait as Progress, await providerFor(target));
  // A create learns its instance id when its operation ends: on the job from then on.
  if (next.step === 'create' && next.instanceId && !wait.instanceId)
    await stores().jobs.recordResult(jobId, next.instanceId, {
      status: 'PENDING',
      provider: target.provider,
      instanceId: next.instanceId,
      detail: { location: target.location },
    });
  if (next.done && next.journal !== false) {
    const now = new Date().toISOString();
    await stores().jobs.appendStep(jobId, {
      name: next.step,
      status: 'SUCCEEDED',
      startedAt: now,
      endedAt: now,
      detail: {
        polls: next.attempt,
        ...(next.resourceId && { resourceId: next.resourceId }),
        ...(next.instanceId && { instanceId: next.instanceId }),
      },
    });
  }
  return next;
});
