import * as z from 'zod';
import { ProviderNotFoundError } from '../providers/errors.ts';
import type { Instance } from '../providers/port.ts';
import { type Plan, planActions } from '../remediation/actions/index.ts';
import { beginCooldown, claimHourlySlot } from '../remediation/guards.ts';
import { type Policy, PolicyError } from '../remediation/policy.ts';
import { policyFromInput } from '../remediation/source.ts';
import { evaluateWithUsage } from '../remediation/usage.ts';
import { providerFor } from '../runtime/accounts.ts';
import { InvalidInputError, taskHandler } from '../runtime/handler.ts';
import { callContextSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';
import { durationSeconds } from '../shared/duration.ts';

const input = z.object({
  ...callContextSchema,
  executionArn: z.string().min(1),
  instanceId: z.string().min(1),
  policy: z.unknown(),
  cause: z
    .object({
      detailType: z.string().optional(),
      reason: z.string().optional(),
      sweepJobId: z.string().optional(),
    })
    .default({}),
});

export class CapExceededError extends Error {
  override name = 'CapExceeded';
}

/**
 * First step of a remediation: read the instance fresh (never the event's copy), evaluate the
 * policy's filters on it, plan the actions against the provider's capabilities, then decide —
 * act, or finish here (no match, dry run, nothing to do, cooldown) with the reason recorded.
 * Only `act` hands the workflow steps; a dry run never gets past this handler.
 */
export const handler = taskHandler('remediation-prepare', input, async (event) => {
  let policy: Policy;
  try {
    policy = policyFromInput(event.policy);
  } catch (error) {
    if (error instanceof PolicyError) throw new InvalidInputError(error.message);
    throw error;
  }
  const { jobs, idempotency } = stores();
  await jobs.transition(event.jobId, 'RUNNING', { executionArn: event.executionArn });
  const now = new Date().toISOString();
  const step = (name: string, detail: Record<string, unknown>) =>
    jobs.appendStep(event.jobId, {
      name,
      status: 'SUCCEEDED',
      startedAt: now,
      endedAt: new Date().toISOString(),
      detail: detail as never,
    });
  const finish = async (reason: string, detail: Record<string, unknown> = {}) => {
    await jobs.recordResult(event.jobId, event.instanceId, {
      status: 'SKIPPED',
      provider: event.target.provider,
      instanceId: event.instanceId,
      detail: { policy: policy.name, reason, ...detail } as never,
    });
    await jobs.transition(event.jobId, 'SUCCEEDED');
    return { decision: 'done' as const, reason };
  };

  const provider = await providerFor(event.target);
  let instance: Instance;
  try {
    instance = await provider.get(event.instanceId);
  } catch (error) {
    if (error instanceof ProviderNotFoundError) return finish('the instance does not exist (any more)');
    throw error;
  }
  const [evaluated] = await evaluateWithUsage(
    policy.filters,
    [{ target: event.target, subject: { ...instance, account: event.target.account } }],
    { record: true },
  );
  const filter = evaluated!.result;
  await step('evaluate', {
    match: filter.match === true,
    reasons: filter.reasons,
    state: instance.state,
    type: instance.type,
  });
  if (filter.match !== true)
    return finish(
      `the policy's filters do not match: ${filter.reasons.filter((r) => !r.startsWith('✓')).join('; ')}`,
    );

  const plan = planActions(policy, instance, provider.capabilities);
  await step('plan', { dryRun: policy.dryRun, steps: summary(plan), expect: plan.expect as never });
  if (policy.dryRun)
    return finish('dry run: the plan is recorded, nothing was changed', {
      dryRun: true,
      plan: summary(plan),
    });
  if (plan.steps.every((s) => s.kind === 'skip')) {
    return finish(`nothing to do: ${plan.steps.map((s) => `${s.name}: ${s.reason}`).join('; ')}`, {
      plan: summary(plan),
    });
  }

  const cooldown = await beginCooldown(
    idempotency,
    policy.name,
    event.target,
    event.instanceId,
    event.jobId,
    durationSeconds(policy.cooldown),
  );
  if (!cooldown.granted) {
    const by = cooldown.holder
      ? ` by job ${cooldown.holder.jobId} at ${cooldown.holder.at}`
      : ' by a remediation running now';
    return finish(
      `cooldown: this instance was remediated by policy ${policy.name}${by}; it is left alone for ${policy.cooldown}`,
      { cooldown: true },
    );
  }
  if (policy.mode === 'event' && typeof policy.maxTargets === 'number') {
    const slot = await claimHourlySlot(idempotency, policy.name, event.jobId, policy.maxTargets);
    if (!slot.granted) {
      await cooldown.release();
      throw new CapExceededError(
        `policy ${policy.name} already remediated its cap of ${policy.maxTargets} instances this hour; this one was left alone — check the alert source and the policy's filters`,
      );
    }
  }
  await cooldown.keep();
  return { decision: 'act' as const, steps: plan.steps, count: plan.steps.length, expect: plan.expect };
});

function summary(plan: Plan): string[] {
  return plan.steps.map((s) =>
    s.kind === 'skip'
      ? `${s.name}: skip (${s.reason})`
      : `${s.name}: ${s.action ?? s.kind}${paramText(s.params)}`,
  );
}

function paramText(p: Plan['steps'][number]['params']): string {
  if (p.type) return ` to ${p.type}`;
  if (p.labels) return ` ${JSON.stringify(p.labels)}`;
  return '';
}
