import * as z from 'zod';
import { eventSinkFromEnv } from '../events/emitter.ts';
import { logger } from '../log.ts';
import { ProviderNotFoundError } from '../providers/errors.ts';
import { INSTANCE_STATES, type Instance } from '../providers/port.ts';
import { verifyExpectation } from '../remediation/actions/index.ts';
import { providerFor } from '../runtime/accounts.ts';
import { explainFailure } from '../runtime/failures.ts';
import { taskHandler } from '../runtime/handler.ts';
import { targetSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';
import { own } from '../shared/keys.ts';

const common = {
  jobId: z.string().min(1),
  target: targetSchema,
  instanceId: z.string().min(1),
  policy: z.unknown(),
};
const input = z.discriminatedUnion('record', [
  z.object({
    record: z.literal('notify'),
    ...common,
    step: z.object({ name: z.string().min(1), params: z.object({ message: z.string().optional() }) }),
  }),
  z.object({
    record: z.literal('succeeded'),
    ...common,
    expect: z
      .object({
        state: z.enum(INSTANCE_STATES).optional(),
        type: z.string().optional(),
        labels: z.record(z.string(), z.string().nullable()).optional(),
        protected: z.boolean().optional(),
      })
      .default({}),
  }),
  z.object({
    record: z.literal('failed'),
    ...common,
    error: z.object({ Error: z.string(), Cause: z.string().optional() }),
  }),
]);

const ADVICE: Record<string, string> = {
  CapExceeded: 'the blast-radius cap stopped this remediation; nothing was changed',
  InvalidInput: 'the policy is invalid; fix it in the config file',
  VerificationFailed:
    'the actions ran but the instance is not as the policy expects; look at it in the provider console',
};

const log = logger.child({ handler: 'remediation-record' });

/**
 * The remediation's own records: a notify step (a fleetflow event), the verified result, or the
 * failure — FAILED when nothing was changed yet, PARTIAL when earlier actions already ran.
 */
export const handler = taskHandler('remediation-record', input, async (event) => {
  const { jobs } = stores();
  const policyName = policyNameOf(event.policy);
  const about = { policy: policyName, jobId: event.jobId, ...event.target, instanceId: event.instanceId };
  const now = new Date().toISOString();
  switch (event.record) {
    case 'notify': {
      const message = event.step.params.message ?? `policy ${policyName} acted on ${event.instanceId}`;
      await emit('Remediation Notice', { ...about, message });
      await jobs.appendStep(event.jobId, {
        name: event.step.name,
        status: 'SUCCEEDED',
        startedAt: now,
        endedAt: now,
        detail: { message },
      });
      return { recorded: 'notify' };
    }
    case 'succeeded': {
      let instance: Instance | undefined;
      try {
        instance = await (await providerFor(event.target)).get(event.instanceId);
      } catch (error) {
        if (!(error instanceof ProviderNotFoundError)) throw error;
      }
      const problems = verifyExpectation(event.expect, instance);
      await jobs.appendStep(event.jobId, {
        name: 'verify',
        status: problems.length ? 'FAILED' : 'SUCCEEDED',
        startedAt: now,
        endedAt: new Date().toISOString(),
        detail: { problems },
      });
      if (problems.length) {
        const error = {
          code: 'VerificationFailed',
          message: `${problems.join('; ')} — ${ADVICE.VerificationFailed}`,
        };
        await jobs.recordResult(event.jobId, event.instanceId, {
          status: 'FAILED',
          provider: event.target.provider,
          instanceId: event.instanceId,
          error,
        });
        await jobs.transition(event.jobId, 'PARTIAL', { error });
        await emit('Remediation Failed', { ...about, error });
        return { recorded: 'partial', error };
      }
      await jobs.recordResult(event.jobId, event.instanceId, {
        status: 'SUCCEEDED',
        provider: event.target.provider,
        instanceId: event.instanceId,
        detail: { policy: policyName, ...(instance && { state: instance.state, type: instance.type }) },
      });
      await jobs.transition(event.jobId, 'SUCCEEDED');
      await emit('Remediation Succeeded', about);
      return { recorded: 'succeeded' };
    }
    case 'failed': {
      const name = event.error.Error;
      const error = own(ADVICE, name)
        ? explainOwn(name, event.error.Cause)
        : explainFailure(name, event.error.Cause);
      const job = await jobs.get(event.jobId);
      // Actions are the numbered steps; one that finished means the instance was already changed.
      const changed = (job?.steps ?? []).some((s) => /^\d+-/.test(s.name) && s.status === 'SUCCEEDED');
      await jobs.recordResult(event.jobId, event.instanceId, {
        status: 'FAILED',
        provider: event.target.provider,
        instanceId: event.instanceId,
        error,
      });
      if (job && job.status === 'QUEUED') await jobs.transition(event.jobId, 'FAILED', { error });
      else await jobs.transition(event.jobId, changed ? 'PARTIAL' : 'FAILED', { error });
      await emit('Remediation Failed', { ...about, error, partial: changed });
      return { recorded: changed ? 'partial' : 'failed', error };
    }
  }
});

function explainOwn(name: string, cause?: string): { code: string; message: string } {
  let detail = cause ?? '';
  try {
    const parsed = JSON.parse(detail) as { errorMessage?: string };
    if (typeof parsed?.errorMessage === 'string') detail = parsed.errorMessage;
  } catch {
    // a plain message (local engine)
  }
  return { code: name, message: `${detail ? `${detail} — ` : ''}${ADVICE[name]}`.slice(0, 4000) };
}

function policyNameOf(raw: unknown): string {
  const name = (raw as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name.slice(0, 64) : '(unnamed)';
}

/** Notifications are best effort: a sink that is down must not fail a remediation that worked. */
async function emit(detailType: string, detail: Record<string, unknown>): Promise<void> {
  try {
    await eventSinkFromEnv().emit([{ detailType, detail, resources: [String(detail.instanceId)] }]);
  } catch (error) {
    log.warn('event not delivered', { detailType, error: (error as Error).name });
  }
}
