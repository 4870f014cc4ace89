import * as z from 'zod';
import { INSTANCE_STATES, type Instance, TARGET_STATE } from '../providers/port.ts';
import { providerFor, type Target } from '../runtime/accounts.ts';
import { explainFailure } from '../runtime/failures.ts';
import { taskHandler } from '../runtime/handler.ts';
import { targetSchema } from '../runtime/schemas.ts';

/** How long a group's instances may take to reach their state before the rest are failed. */
export const BATCH_DEADLINE_MS = 15 * 60_000;
/** Wait between ticks: short at first (most operations take seconds), growing to a cap. */
const FIRST_WAIT_S = 2;
const MAX_WAIT_S = 20;

const errorInfo = z.object({ code: z.string(), message: z.string() });
const item = z.object({
  target: targetSchema,
  instanceId: z.string().min(1),
  /** Where the plan's listing saw it before the act. */
  state: z.enum(INSTANCE_STATES),
  op: z
    .object({
      id: z.string(),
      status: z.enum(['pending', 'succeeded', 'failed']),
      reason: z.string().optional(),
    })
    .optional(),
  /** The act's caught error (Step Functions' shape), when the call itself failed. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  outcome: z.enum(['pending', 'reached', 'failed']).optional(),
  /** The state the last listing showed, and the instance's name (for the events). */
  found: z.string().optional(),
  name: z.string().optional(),
  failure: errorInfo.optional(),
});
export type BatchItem = z.output<typeof item>;

const input = z.object({
  jobId: z.string().min(1),
  action: z.enum(['start', 'stop']),
  items: z.array(item),
  tick: z.number().int().min(0).default(0),
  deadlineAt: z.string().optional(),
});

const GONE = new Set(['error', 'deleted', 'deleting']);

/**
 * One tick of a group's wait-and-verify loop, for all its instances at once: each location with a
 * pending instance is listed once (all pages), and each instance is marked reached (in the target
 * state: verified by the same read), failed (act failed, instance gone or in error, operation
 * failed, deadline passed) or pending. Only an instance still in its starting state after the
 * first tick costs an operation read, because only then can the listing not tell "not begun yet"
 * from "failed and reverted". The workflow's Wait state does the waiting between ticks.
 */
export const handler = taskHandler('schedule-poll', input, async (event) => {
  const want = TARGET_STATE[event.action]!;
  const now = Date.now();
  const deadlineAt = event.deadlineAt ?? new Date(now + BATCH_DEADLINE_MS).toISOString();
  const late = now > Date.parse(deadlineAt);

  const items: BatchItem[] = event.items.map((i) => {
    if (i.outcome === 'reached' || i.outcome === 'failed') return i;
    if (i.error) return { ...i, outcome: 'failed', failure: explainFailure(i.error.Error, i.error.Cause) };
    if (i.op?.status === 'failed')
      return {
        ...i,
        outcome: 'failed',
        failure: explainFailure('ProviderOperationFailedError', i.op.reason),
      };
    return { ...i, outcome: 'pending' };
  });

  const byLocation = new Map<string, { target: Target; items: BatchItem[] }>();
  for (const i of items) {
    if (i.outcome !== 'pending') continue;
    const key = `${i.target.provider}/${i.target.account}/${i.target.location}`;
    const group = byLocation.get(key) ?? { target: i.target, items: [] };
    group.items.push(i);
    byLocation.set(key, group);
  }
  await Promise.all(
    [...byLocation.values()].map(async ({ target, items: pending }) => {
      const provider = await providerFor(target);
      const listed = new Map<string, Instance>((await provider.list()).map((x) => [x.id, x]));
      await Promise.all(
        pending.map(async (i) => {
          const found = listed.get(i.instanceId);
          if (!found) return fail(i, 'ProviderNotFoundError', `instance ${i.instanceId} is gone`);
          i.found = found.state;
          i.name = found.name;
          if (found.state === want) {
            i.outcome = 'reached';
            return;
          }
          if (GONE.has(found.state))
            return fail(i, 'VerificationFailed', `instance is ${found.state} after ${event.action}`);
          if (found.state === i.state && event.tick > 0 && i.op && i.op.status === 'pending') {
            const op = await provider.operation({
              provider: target.provider,
              location: provider.location,
              id: i.op.id,
              action: event.action,
              instanceId: i.instanceId,
            });
            i.op = { id: op.id, status: op.status, ...(op.status === 'failed' && { reason: op.reason }) };
            if (op.status === 'failed') return fail(i, 'ProviderOperationFailedError', op.reason);
          }
          if (late)
            fail(
              i,
              'VerificationFailed',
              `instance is ${found.state}, not ${want}, ${BATCH_DEADLINE_MS / 60_000} minutes after ${event.action}`,
            );
        }),
      );
    }),
  );

  const pending = items.filter((i) => i.outcome === 'pending').length;
  return {
    jobId: event.jobId,
    action: event.action,
    items,
    tick: event.tick + 1,
    deadlineAt,
    done: pending === 0,
    pending,
    waitSeconds: Math.min(MAX_WAIT_S, Math.round(FIRST_WAIT_S * 1.5 ** event.tick)),
  };
});

function fail(i: BatchItem, code: string, message: string): void {
  i.outcome = 'failed';
  i.failure = explainFailure(code, message);
}
