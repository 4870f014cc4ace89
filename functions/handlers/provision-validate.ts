import * as z from 'zod';
import { PROVISION_SECRET_POSITIONS, provisionRequestSchema, targetOf } from '../provisioning/request.ts';
import { providerFor } from '../runtime/accounts.ts';
import { InvalidInputError, taskHandler } from '../runtime/handler.ts';
import { stores } from '../runtime/stores.ts';
import { SecretReferenceError } from '../secrets/errors.ts';
import { hasSecretRefs, parseSealed } from '../secrets/fields.ts';
import { triggerSchema } from '../store/schemas.ts';

/**
 * First step of provisioning: check the request against the schema and the provider's declared
 * capabilities, decide how a scale will go, and mark the job RUNNING with its execution.
 */
const input = z.object({
  jobId: z.string(),
  trigger: triggerSchema,
  request: z.unknown(),
  executionArn: z.string(),
});

export const handler = taskHandler(
  'provision-validate',
  input,
  async ({ jobId, trigger, request, executionArn }) => {
    const { jobs } = stores();
    // Secret fields hold references here (sealed at ingest); only instance-create resolves them.
    // Ingest names the execution after the job, and names are unique: an execution started by
    // hand under another name cannot claim a job's secrets.
    if (hasSecretRefs(request) && executionArn.slice(executionArn.lastIndexOf(':') + 1) !== jobId) {
      throw new SecretReferenceError(
        `secret references of job ${jobId} are honoured only in its own execution`,
      );
    }
    const parsed = parseSealed(provisionRequestSchema, PROVISION_SECRET_POSITIONS, request, jobId);
    if (!parsed.success) throw new InvalidInputError(`invalid request: ${parsed.error.issues[0]?.message}`);
    const req = parsed.data;
    const target = targetOf(req);
    const provider = await providerFor(target);
    // Resolving now turns a typo in a type or template into a clear failure before anything is built.
    await provider.resolveType(req.type);
    await provider.resolveTemplate(req.template);

    const scale = provider.capabilities.scale;
    let scalePlan: { mode: 'none' | 'skip' | 'direct' | 'stop-first'; reason?: string } = { mode: 'none' };
    if (req.scaleTo) {
      if (!scale.supported)
        scalePlan = {
          mode: 'skip',
          reason: `${target.provider} cannot change an instance's type${scale.note ? `: ${scale.note}` : ''}`,
        };
      else {
        await provider.resolveType(req.scaleTo);
        scalePlan = { mode: scale.requiresState?.includes('stopped') ? 'stop-first' : 'direct' };
      }
    }
    await jobs.transition(jobId, 'RUNNING', { executionArn });
    const now = new Date().toISOString();
    await jobs.appendStep(jobId, {
      name: 'validate',
      status: 'SUCCEEDED',
      startedAt: now,
      endedAt: now,
      detail: { target: { ...target }, scalePlan },
    });
    return {
      jobId,
      trigger,
      target,
      spec: {
        name: req.name,
        type: req.type,
        template: req.template,
        ...(req.diskSize && { diskSize: req.diskSize }),
        labels: { ...req.labels, 'fleetflow-job': jobId },
        ...(req.sshKey && { sshKey: req.sshKey }),
        ...(req.userData && { userData: req.userData }),
        ...((req.extra || (req.provider === 'cloudca' && req.network)) && {
          extra: { ...req.extra, ...(req.provider === 'cloudca' && req.network && { network: req.network }) },
        }),
        idempotencyKey: jobId,
      },
      ...(req.snapshot && { snapshot: req.snapshot }),
      ...(req.scaleTo && { scaleTo: req.scaleTo }),
      scalePlan,
      onFailure: req.onFailure,
      // Filled in as the flow goes; null (not absent) so every later state can refer to them.
      instanceId: null,
      snapshotId: null,
    };
  },
);
