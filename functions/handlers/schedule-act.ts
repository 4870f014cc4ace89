import * as z from 'zod';
import { INSTANCE_STATES, type Operation } from '../providers/port.ts';
import { providerFor } from '../runtime/accounts.ts';
import { actOnce } from '../runtime/act-once.ts';
import { taskHandler } from '../runtime/handler.ts';
import { targetSchema } from '../runtime/schemas.ts';
import { stores } from '../runtime/stores.ts';
import { triggerSchema } from '../store/schemas.ts';

const input = z.object({
  jobId: z.string().min(1),
  trigger: triggerSchema,
  action: z.enum(['start', 'stop']),
  target: targetSchema,
  instanceId: z.string().min(1),
  /** The state the plan's listing saw; the poll compares against it. */
  state: z.enum(INSTANCE_STATES),
});

/**
 * An in-progress claim older than this is someone else's crashed attempt and may be taken over.
 * Above the task timeout (90 s), so a timed-out attempt that is still running is never doubled;
 * the workflow's retry of IdempotencyInProgressError waits at least this long in total.
 */
export const ACT_CLAIM_MS = 120_000;

/**
 * One scheduled stop or start: exactly one provider call, audited, at most once per
 * `${jobId}:${instanceId}:${action}` (a retried task replays the first attempt's operation).
 * No fresh read: the plan's listing decided the instance needs acting on, and the group's
 * wait-and-verify loop sees where it ends. The act records its own outcome as the instance's
 * PENDING result (with the operation, for that loop), never over a verified one, and returns
 * nothing: the page's Map keeps no per-instance state.
 */
export const handler = taskHandler('schedule-act', input, async (ctx) => {
  const provider = await providerFor(ctx.target);
  const op = await actOnce({
    ctx,
    key: `${ctx.jobId}:${ctx.instanceId}:${ctx.action}`,
    payload: { action: ctx.action, instanceId: ctx.instanceId },
    action: ctx.action,
    instanceId: ctx.instanceId,
    parameters: {},
    provider,
    call: () =>
      ctx.action === 'start'
        ? provider.start(ctx.instanceId)
        : provider.stop(ctx.instanceId, { seen: ctx.state }),
    times: { inProgressMs: ACT_CLAIM_MS },
  });
  await stores().jobs.results.record(
    ctx.jobId,
    ctx.instanceId,
    {
      status: 'PENDING',
      provider: ctx.target.provider,
      instanceId: ctx.instanceId,
      detail: { action: ctx.action, state: ctx.state, op: compact(op) },
    },
    { unlessSettled: true },
  );
  return {};
});

/** The parts of an operation the wait-and-verify loop needs. */
export function compact(op: Operation): { id: string; status: Operation['status']; reason?: string } {
  return { id: op.id, status: op.status, ...(op.status === 'failed' && { reason: op.reason }) };
}
