import * as z from 'zod';
import { providerFor } from '../runtime/accounts.ts';
import { audited } from '../runtime/audited.ts';
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
  const { idempotency, jobs } = stores();
  const startedAt = new Date().toISOString();
  const op = await idempotency.run(
    `${ctx.jobId}:create`,
    { target: ctx.target, spec: ctx.spec, hash: payloadHash(ctx.spec) },
    async () => {
      const provider = await providerFor(ctx.target);
      return audited(ctx, 'create', undefined, ctx.spec, () => provider.create(ctx.spec));
    },
  );
  await jobs.appendStep(ctx.jobId, {
    name: 'create',
    status: 'STARTED',
    startedAt,
    detail: { operationId: op.id },
  });
  return startProgress('create', op, { untilState: 'running' });
});
