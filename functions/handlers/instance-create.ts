import * as z from 'zod';
import { providerFor } from '../runtime/accounts.ts';
import { actOnce } from '../runtime/act-once.ts';
import { taskHandler } from '../runtime/handler.ts';
import { startProgress } from '../runtime/progress.ts';
import { callContextSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';
import { payloadHash } from '../store/idempotency.ts';

const input = z.object({
  ...callContextSchema,
  spec: z.object({
    name: z.string(),
    type: z.string(),
    template: z.string(),
    diskSize: z.number().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    sshKey: z.string().optional(),
    userData: z.string().optional(),
    idempotencyKey: z.string(),
    /** Provider-only options the request carries (cloud.ca's network). */
    extra: z.record(z.string(), z.string()).optional(),
  }),
});

/**
 * Creates the instance, at most once per job: the idempotency record replays a finished create,
 * and the adapter finds an instance carrying the job's key before it would send a second create.
 */
export const handler = taskHandler('instance-create', input, async (ctx) => {
  const { jobs } = stores();
  const startedAt = new Date().toISOString();
  const provider = await providerFor(ctx.target);
  const op = await actOnce({
    ctx,
    key: `${ctx.jobId}:create`,
    payload: { target: ctx.target, spec: ctx.spec, hash: payloadHash(ctx.spec) },
    action: 'create',
    parameters: ctx.spec,
    provider,
    call: () => provider.create(ctx.spec),
  });
  await jobs.appendStep(ctx.jobId, {
    name: 'create',
    status: 'STARTED',
    startedAt,
    detail: { operationId: op.id },
  });
  const progress = startProgress('create', op, { untilState: 'running' });
  // The instance is on the job as soon as its id is known, so a crash from here on leaves it findable.
  const instanceId = op.instanceId ?? progress.instanceId;
  if (instanceId)
    await jobs.recordResult(ctx.jobId, instanceId, {
      status: 'IN_PROGRESS',
      provider: ctx.target.provider,
      instanceId,
      detail: { location: ctx.target.location },
    });
  return progress;
});
