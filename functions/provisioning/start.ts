import { createHash } from 'node:crypto';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { stores } from '../runtime/stores.ts';
import { sealFields } from '../secrets/fields.ts';
import { secretStore } from '../secrets/store.ts';
import type { Trigger } from '../store/schemas.ts';
import { PROVISION_SECRET_POSITIONS, type ProvisionRequest } from './request.ts';

let sfn: SFNClient | undefined;

/** Job ids double as execution names: at most 80 of [A-Za-z0-9_-]. */
export function jobIdFor(webhookId: string): string {
  const clean = webhookId.replace(/[^A-Za-z0-9_-]/g, '');
  if (clean === webhookId && clean.length > 0 && clean.length <= 72) return `prov-${clean}`;
  return `prov-${createHash('sha256').update(webhookId).digest('hex').slice(0, 40)}`;
}

export class StartFailedError extends Error {
  override name = 'StartFailedError';
}

/**
 * Starts provisioning for one webhook delivery, at most once: the delivery id names both the job
 * and the Step Functions execution, so a redelivery finds the same job and StartExecution refuses
 * a second execution. The job is QUEUED before the execution starts and becomes RUNNING only
 * inside the execution, so no job is ever RUNNING without an execution behind it.
 * The request's secrets are sealed first: the job and the execution only ever get references.
 */
export async function startProvisioning(args: {
  webhookId: string;
  request: ProvisionRequest;
  payloadHash: string;
  trigger: Trigger;
  stateMachineArn?: string;
}): Promise<{ jobId: string; executionArn?: string }> {
  const { jobs, idempotency } = stores();
  const jobId = jobIdFor(args.webhookId);
  // A webhook id reused with another body is a sender bug, not a redelivery: refuse it (409).
  return idempotency.run(`webhook:${args.webhookId}`, { payloadHash: args.payloadHash }, async () => {
    const { sealed: request, secrets } = sealFields(PROVISION_SECRET_POSITIONS, args.request, jobId);
    await secretStore().seal(jobId, secrets);
    await jobs.create({ jobId, kind: 'provision', trigger: args.trigger, request });
    const stateMachineArn = args.stateMachineArn ?? process.env.FLEETFLOW_PROVISION_STATE_MACHINE_ARN;
    if (!stateMachineArn) throw new StartFailedError('FLEETFLOW_PROVISION_STATE_MACHINE_ARN is not set');
    sfn ??= new SFNClient({});
    try {
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          name: jobId,
          input: JSON.stringify({ jobId, trigger: args.trigger, request }),
        }),
      );
      if (executionArn) await jobs.setExecutionArn(jobId, executionArn);
      return { jobId, ...(executionArn && { executionArn }) };
    } catch (error) {
      // The execution already ran for this delivery: the job it made is the answer.
      if (error instanceof ExecutionAlreadyExists) return { jobId };
      // No workflow will use them: the sealed secrets go with the failed start.
      await secretStore()
        .forget(jobId)
        .catch(() => undefined);
      await jobs
        .transition(jobId, 'FAILED', {
          error: { code: 'StartFailed', message: 'the workflow could not be started' },
        })
        .catch(() => undefined);
      throw new StartFailedError(`could not start the provisioning workflow for job ${jobId}`, {
        cause: error,
      });
    }
  });
}
