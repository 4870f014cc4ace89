import { createHash } from 'node:crypto';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { stores } from '../runtime/stores.ts';
import { sealFields } from '../secrets/fields.ts';
import { secretStore } from '../secrets/store.ts';
import { IdempotencyInProgressError, IdempotencyMismatchError, JobConflictError } from '../store/errors.ts';
import { payloadHash } from '../store/idempotency.ts';
import type { Job } from '../store/jobs.ts';
import type { Trigger } from '../store/schemas.ts';
import { PROVISION_SECRET_POSITIONS, type ProvisionRequest } from './request.ts';

let sfn: { client: SFNClient; endpoint: string | undefined } | undefined;

/** Job ids double as execution names: at most 80 of [A-Za-z0-9_-]. */
export function jobIdFor(webhookId: string): string {
  const clean = webhookId.replace(/[^A-Za-z0-9_-]/g, '');
  if (clean === webhookId && clean.length > 0 && clean.length <= 72) return `prov-${clean}`;
  return `prov-${createHash('sha256').update(webhookId).digest('hex').slice(0, 40)}`;
}

/**
 * How long a delivery's claim holds other copies off: the webhook function's time limit (60 s), so a
 * slow first copy is never doubled. A copy that finds the claim older than this takes it over.
 */
export const DELIVERY_CLAIM_MS = 60_000;
/** How long a copy waits for the first copy to be accepted before answering 409 + Retry-After. */
export const COPY_WAIT_MS = 5_000;

/** The workflow could not be started; the delivery was not accepted and may be sent again (503). */
export class StartFailedError extends Error {
  override name = 'StartFailedError';
}

/** The webhook id was already delivered with another body (409, whatever the claim's age). */
export class DeliveryConflictError extends Error {
  override name = 'DeliveryConflictError';
  constructor(
    readonly webhookId: string,
    options?: ErrorOptions,
  ) {
    super(`webhook-id ${webhookId} was already delivered with a different body`, options);
  }
}

/** Another copy of this delivery is still being accepted (409 + Retry-After): send it again shortly. */
export class DeliveryInProgressError extends Error {
  override name = 'DeliveryInProgressError';
  constructor(
    readonly webhookId: string,
    options?: ErrorOptions,
  ) {
    super(`another copy of webhook-id ${webhookId} is still being accepted`, options);
  }
}

/** What a provisioning execution starts from: the job, who asked, and the request. */
export interface ProvisionInput {
  jobId: string;
  trigger: Trigger;
  request: unknown;
}

/**
 * Starts provisioning for one webhook delivery, at most once: the delivery id names both the job
 * and the Step Functions execution, so a redelivery finds the same job and StartExecution refuses
 * a second execution. The job is QUEUED before the execution starts and becomes RUNNING only
 * inside the execution, so no job is ever RUNNING without an execution behind it.
 * The request's secrets are sealed first: the job and the execution only ever get references.
 *
 * Copies of one delivery (concurrent, or re-sent after a crash):
 * - a copy that arrives while the first is being accepted waits for it (up to COPY_WAIT_MS) and
 *   answers with the same job, else DeliveryInProgressError;
 * - a claim left by a crashed acceptance is taken over once stale, and the acceptance redone (each
 *   of its steps is idempotent: the job create, the named execution, the ARN binding);
 * - a job a crash left accepted but never started (no execution, ended by an older runtime's
 *   recovery) is reopened and started, so the delivery is provisioned rather than dead;
 * - the same id with another body is DeliveryConflictError, also after the claim has expired (the
 *   job's stored request is compared then).
 */
export async function startProvisioning(args: {
  webhookId: string;
  request: ProvisionRequest;
  payloadHash: string;
  trigger: Trigger;
  stateMachineArn?: string;
}): Promise<{ jobId: string; executionArn?: string }> {
  const { idempotency } = stores();
  const key = `webhook:${args.webhookId}`;
  const input: ProvisionInput = {
    jobId: jobIdFor(args.webhookId),
    trigger: args.trigger,
    request: args.request,
  };
  let begun: Awaited<ReturnType<typeof idempotency.beginOrWait<{ jobId: string }>>>;
  try {
    begun = await idempotency.beginOrWait<{ jobId: string }>(
      key,
      payloadHash({ payloadHash: args.payloadHash }),
      { inProgressMs: DELIVERY_CLAIM_MS },
      COPY_WAIT_MS,
    );
  } catch (error) {
    if (error instanceof IdempotencyMismatchError)
      throw new DeliveryConflictError(args.webhookId, { cause: error });
    if (error instanceof IdempotencyInProgressError)
      throw new DeliveryInProgressError(args.webhookId, { cause: error });
    throw error;
  }
  if (begun.state === 'replay') {
    // Accepted before; a job that a crash left dead is brought back (the body is the same: same hash).
    const job = await stores().jobs.get(input.jobId);
    if (job && !neverStarted(job)) return { jobId: input.jobId };
    return accept(input, args.stateMachineArn, args.webhookId);
  }
  try {
    const accepted = await accept(input, args.stateMachineArn, args.webhookId);
    await idempotency.complete(key, { jobId: accepted.jobId });
    return accepted;
  } catch (error) {
    // Released, so the sender's retry redoes the acceptance; the job (if any) stays QUEUED for it.
    await idempotency.fail(key).catch(() => undefined);
    throw error;
  }
}

/** Terminal without ever having had an execution: nothing ran at a provider, it can start afresh. */
export function neverStarted(job: Job): boolean {
  return (job.status === 'FAILED' || job.status === 'INTERRUPTED') && !job.executionArn;
}

/** Creates (or finds) the job, reopens it if it never started, and starts its execution. */
async function accept(
  input: ProvisionInput,
  stateMachineArn: string | undefined,
  webhookId: string,
): Promise<{ jobId: string; executionArn?: string }> {
  const { jobs } = stores();
  // Secrets are sealed before anything is stored: the job and the execution get references only.
  // Sealing is once per job (a copy of the delivery keeps the secrets the job started with).
  const { sealed: request, secrets } = sealFields(PROVISION_SECRET_POSITIONS, input.request, input.jobId);
  await secretStore().seal(input.jobId, secrets);
  input = { ...input, request };
  let job: Job;
  try {
    job = await jobs.create({
      jobId: input.jobId,
      kind: 'provision',
      trigger: input.trigger,
      request: input.request,
    });
  } catch (error) {
    if (error instanceof JobConflictError) throw new DeliveryConflictError(webhookId, { cause: error });
    throw error;
  }
  if (neverStarted(job))
    await jobs.reopen(job.jobId, 'delivered again after it was accepted but never started');
  else if (job.status !== 'QUEUED') return { jobId: job.jobId }; // it ran (or runs): that is the answer
  return startProvisionExecution(input, stateMachineArn);
}

/**
 * Starts the execution named after the job, or finds it: StartExecution is idempotent by name (the
 * same input while it runs returns it; a closed one, or other input, is ExecutionAlreadyExists,
 * which means it exists). Used by acceptance and by the runtime's recovery of accepted jobs.
 */
export async function startProvisionExecution(
  input: ProvisionInput,
  stateMachineArn = process.env.FLEETFLOW_PROVISION_STATE_MACHINE_ARN,
): Promise<{ jobId: string; executionArn?: string }> {
  if (!stateMachineArn) throw new StartFailedError('FLEETFLOW_PROVISION_STATE_MACHINE_ARN is not set');
  // One client per endpoint: a process that runs one runtime after another gets the current one.
  const endpoint = process.env.AWS_ENDPOINT_URL_SFN;
  if (sfn?.endpoint !== endpoint) sfn = { client: new SFNClient({}), endpoint };
  const { client } = sfn ?? { client: new SFNClient({}) };
  let executionArn: string | undefined;
  try {
    ({ executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn, name: input.jobId, input: JSON.stringify(input) }),
    ));
  } catch (error) {
    // The execution already exists for this job: the job it made is the answer.
    if (error instanceof ExecutionAlreadyExists) return { jobId: input.jobId };
    throw new StartFailedError(`could not start the provisioning workflow for job ${input.jobId}`, {
      cause: error,
    });
  }
  if (executionArn) await stores().jobs.setExecutionArn(input.jobId, executionArn);
  return { jobId: input.jobId, ...(executionArn && { executionArn }) };
}
