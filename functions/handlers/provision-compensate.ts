import * as z from 'zod';
import { IDEMPOTENCY_LABEL } from '../providers/port.ts';
import { providerFor } from '../runtime/accounts.ts';
import { actOnce } from '../runtime/act-once.ts';
import { taskHandler } from '../runtime/handler.ts';
import { type Progress, startProgress } from '../runtime/progress.ts';
import { callContextSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';

const input = z.object({
  ...callContextSchema,
  onFailure: z.enum(['delete', 'keep']),
  instanceId: z.string().nullish(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
});

/**
 * After a failed provisioning: delete the half-built instance when the request asked for it, or
 * keep it. An instance whose id we never learned is looked up by the job's idempotency label;
 * on providers without labels it is kept rather than guessed at by name.
 */
export const handler = taskHandler('provision-compensate', input, async (ctx): Promise<Progress> => {
  const { jobs } = stores();
  const now = new Date().toISOString();
  const record = (detail: Record<string, string>) =>
    jobs.appendStep(ctx.jobId, {
      name: 'compensate',
      status: 'SUCCEEDED',
      startedAt: now,
      endedAt: now,
      detail,
    });
  const nothing = (reason: string): Progress => ({
    step: 'compensate',
    attempt: 0,
    waitSeconds: 0,
    deadlineAt: now,
    done: true,
    resourceId: reason,
  });

  if (ctx.onFailure === 'keep') {
    await record({ decision: 'kept', reason: 'the request asked to keep a half-built instance' });
    return nothing('kept');
  }
  const provider = await providerFor(ctx.target);
  let instanceId = ctx.instanceId ?? undefined;
  if (!instanceId && provider.capabilities.labels.supported) {
    const [found] = await provider.list({ labels: { [IDEMPOTENCY_LABEL]: ctx.jobId } });
    instanceId = found?.id;
  }
  if (!instanceId) {
    await record({ decision: 'nothing-to-delete', reason: 'no instance was created for this job' });
    return nothing('nothing-to-delete');
  }
  const gone = `already-gone:${instanceId}`;
  const op = await actOnce({
    ctx,
    key: `${ctx.jobId}:compensate`,
    payload: { instanceId },
    action: 'delete',
    instanceId,
    parameters: { reason: `compensation after ${ctx.error.Error}` },
    provider,
    call: () => provider.delete(instanceId),
    before: async () => {
      const current = await provider.get(instanceId).catch(() => undefined);
      if (current && current.state !== 'deleted' && current.state !== 'deleting') return undefined;
      return {
        provider: provider.provider,
        location: provider.location,
        id: gone,
        action: 'delete',
        status: 'succeeded',
      };
    },
  });
  if (op.id === gone) {
    await record({ decision: 'already-gone', instanceId });
    return nothing('already-gone');
  }
  await jobs.appendStep(ctx.jobId, {
    name: 'compensate',
    status: 'STARTED',
    startedAt: now,
    detail: { decision: 'delete', instanceId },
  });
  return startProgress('compensate', op, { instanceId, untilState: 'deleted' });
});
