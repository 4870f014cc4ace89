import * as z from 'zod';
import type { Operation } from '../providers/port.ts';
import { providerFor } from '../runtime/accounts.ts';
import { actOnce } from '../runtime/act-once.ts';
import { taskHandler } from '../runtime/handler.ts';
import { startProgress } from '../runtime/progress.ts';
import { callContextSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';
import { digestSecrets } from '../secrets/digest.ts';
import { SecretUnavailableError } from '../secrets/errors.ts';
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
  const { jobs, audit } = stores();
  const startedAt = new Date().toISOString();
  const provider = await providerFor(ctx.target);
  const create = (call: () => Promise<Operation>, parameters: unknown) =>
    actOnce({
      ctx,
      key: `${ctx.jobId}:create`,
      payload: { target: ctx.target, spec: ctx.spec, hash: payloadHash(ctx.spec) },
      action: 'create',
      parameters,
      provider,
      call,
    });
  const op = await withResolvedSecrets(ctx.jobId, ctx.spec, async (resolved, secrets) =>
    create(
      () => provider.create(resolvedSpec.parse(resolved)),
      // The intent keeps the references plus keyed digests, so `fleetflow audit prove` can later
      // confirm what was sent without the trail ever holding a value.
      secrets.length === 0
        ? ctx.spec
        : { ...ctx.spec, sealed: digestSecrets((await audit.keyring()).current, ctx.jobId, secrets) },
    ),
  ).catch((error: unknown) => {
    // The secrets are forgotten only once the create is on record: a replay of this step answers
    // from that record and never needs them (a call without them is refused).
    if (!(error instanceof SecretUnavailableError)) throw error;
    return create(() => Promise.reject(error), ctx.spec);
  });
  // Created: no later step of this job needs its secrets.
  await secretStore().forget(ctx.jobId);
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
    await jobs.results.record(ctx.jobId, instanceId, {
      status: 'PENDING',
      provider: ctx.target.provider,
      instanceId,
      detail: { location: ctx.target.location },
    });
  return progress;
});
