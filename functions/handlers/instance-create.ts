import * as z from 'zod';
import { providerFor } from '../runtime/accounts.ts';
import { audited } from '../runtime/audited.ts';
import { taskHandler } from '../runtime/handler.ts';
import { startProgress } from '../runtime/progress.ts';
import { callContextSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';
import { digestSecrets } from '../secrets/digest.ts';
import { secretRefSchema } from '../secrets/ref.ts';
import { withResolvedSecrets } from '../secrets/resolve.ts';
import { secretStore } from '../secrets/store.ts';
import { payloadHash } from '../store/idempotency.ts';

/** A field that arrives as a secret reference when the request sealed it. */
const sealable = <S extends z.ZodType>(schema: S) => z.union([schema, secretRefSchema]);

const spec = z.object({
  name: z.string(),
  type: z.string(),
  template: z.string(),
  diskSize: z.number().optional(),
  labels: z.record(z.string(), sealable(z.string())).optional(),
  sshKey: z.string().optional(),
  userData: sealable(z.string()).optional(),
  idempotencyKey: z.string(),
  /** Provider-only options the request carries (cloud.ca's network, Genesis Cloud's password). */
  extra: z.record(z.string(), z.json()).optional(),
});

/** The spec with every reference resolved: what the adapter gets. */
const resolvedSpec = spec.extend({
  labels: z.record(z.string(), z.string()).optional(),
  userData: z.string().optional(),
});

const input = z.object({ ...callContextSchema, spec });

/**
 * Creates the instance, at most once per job: the idempotency record replays a finished create,
 * and the adapter finds an instance carrying the job's key before it would send a second create.
 * This is the one step that sees the request's secrets: it resolves their references just before
 * the call, and the audit intent, the idempotency record and the answer keep only the references.
 */
export const handler = taskHandler('instance-create', input, async (ctx) => {
  const { idempotency, jobs, audit } = stores();
  const startedAt = new Date().toISOString();
  const op = await idempotency.run(
    `${ctx.jobId}:create`,
    { target: ctx.target, spec: ctx.spec, hash: payloadHash(ctx.spec) },
    async () => {
      const provider = await providerFor(ctx.target);
      return withResolvedSecrets(ctx.jobId, ctx.spec, async (resolved, secrets) => {
        // The intent keeps the references plus keyed digests, so `fleetflow audit prove` can later
        // confirm what was sent without the trail ever holding a value.
        const params =
          secrets.length === 0
            ? ctx.spec
            : { ...ctx.spec, sealed: digestSecrets((await audit.keyring()).current, ctx.jobId, secrets) };
        return audited(ctx, 'create', undefined, params, () => provider.create(resolvedSpec.parse(resolved)));
      });
    },
  );
  // Created: no later step of this job needs its secrets.
  await secretStore().forget(ctx.jobId);
  await jobs.appendStep(ctx.jobId, {
    name: 'create',
    status: 'STARTED',
    startedAt,
    detail: { operationId: op.id },
  });
  return startProgress('create', op, { untilState: 'running' });
});
