import * as z from 'zod';
import { type Action, type Operation, TARGET_STATE } from '../providers/port.ts';
import { providerFor } from '../runtime/accounts.ts';
import { actOnce } from '../runtime/act-once.ts';
import { InvalidInputError, taskHandler } from '../runtime/handler.ts';
import { startProgress } from '../runtime/progress.ts';
import { callContextSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';

const input = z.object({
  ...callContextSchema,
  /** The job step this action is (several steps may use one action, e.g. start after a scale). */
  step: z.string().min(1).max(64),
  action: z.enum(['start', 'stop', 'reboot', 'scale', 'snapshot', 'delete', 'protection', 'labels']),
  instanceId: z.string().min(1),
  params: z
    .object({
      type: z.string().optional(),
      name: z.string().optional(),
      enabled: z.boolean().optional(),
      labels: z.record(z.string(), z.string().nullable()).optional(),
    })
    .default({}),
  /** false: leave the job's step log alone (fleet-wide runs record one result per instance instead). */
  journal: z.boolean().default(true),
});

/**
 * One provider action on one instance, audited, at most once per job step. Start and stop are
 * skipped when the instance is already where they would take it, so a retried or re-run step
 * never trips over a wrong-state error.
 */
export const handler = taskHandler('instance-action', input, async (ctx) => {
  const { jobs } = stores();
  const startedAt = new Date().toISOString();
  const provider = await providerFor(ctx.target);
  const op = await actOnce({
    ctx,
    key: `${ctx.jobId}:${ctx.step}`,
    payload: { action: ctx.action, instanceId: ctx.instanceId, params: ctx.params },
    action: ctx.action,
    instanceId: ctx.instanceId,
    parameters: ctx.params,
    provider,
    call: () => call(ctx.action, ctx.instanceId, ctx.params),
    ...(ctx.params.type && { scaleTo: ctx.params.type }),
    ...(ctx.params.labels && { labels: ctx.params.labels }),
    ...(ctx.params.enabled !== undefined && { protect: ctx.params.enabled }),
    before: async () => {
      if (ctx.action !== 'start' && ctx.action !== 'stop') return undefined;
      const current = await provider.get(ctx.instanceId);
      if (current.state !== TARGET_STATE[ctx.action]) return undefined;
      return {
        provider: provider.provider,
        location: provider.location,
        id: `noop:${ctx.step}`,
        action: ctx.action,
        status: 'succeeded',
        instanceId: ctx.instanceId,
      } satisfies Operation;
    },
  });
  if (ctx.journal)
    await jobs.appendStep(ctx.jobId, {
      name: ctx.step,
      status: 'STARTED',
      startedAt,
      detail: { action: ctx.action, operationId: op.id },
    });
  const untilState = TARGET_STATE[ctx.action as Action];
  const progress = startProgress(ctx.step, op, {
    instanceId: ctx.instanceId,
    ...(untilState && { untilState }),
    ...(!ctx.journal && { journal: false as const }),
  });
  // A synchronous provider call (e.g. CloudStack's changeServiceForVirtualMachine) is done already:
  // the wait loop will not poll, so its end is recorded here.
  if (progress.done && ctx.journal) {
    await jobs.appendStep(ctx.jobId, {
      name: ctx.step,
      status: 'SUCCEEDED',
      startedAt,
      endedAt: new Date().toISOString(),
      detail: { polls: 0, ...(progress.resourceId && { resourceId: progress.resourceId }) },
    });
  }
  return progress;

  function call(action: string, id: string, params: z.output<typeof input>['params']): Promise<Operation> {
    switch (action) {
      case 'start':
        return provider.start(id);
      case 'stop':
        return provider.stop(id);
      case 'reboot':
        return provider.reboot(id);
      case 'scale':
        return provider.scale(id, required(params.type, 'type'));
      case 'snapshot':
        return provider.snapshot(id, required(params.name, 'name'));
      case 'delete':
        return provider.delete(id);
      case 'protection':
        return provider.setProtection(id, params.enabled ?? true);
      default:
        return provider.setLabels(id, params.labels ?? {});
    }
  }
});

function required(value: string | undefined, what: string): string {
  if (!value) throw new InvalidInputError(`params.${what} is required`);
  return value;
}
