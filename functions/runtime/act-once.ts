import { ProviderNotFoundError } from '../providers/errors.ts';
import type { ComputeProvider, Instance, Operation } from '../providers/port.ts';
import type { AuditEvent } from '../store/audit.ts';
import type { IdempotencyTimes } from '../store/idempotency.ts';
import { audited, type CallContext } from './audited.ts';
import { stores } from './stores.ts';

/**
 * One provider mutation, at most once per key, also across crashes: claimed (idempotency), audited
 * (intent before, outcome after), and, when an earlier attempt of the same step was cut short (its
 * process died: a kill, a Lambda timeout), reconciled instead of sent blindly again:
 *
 * - the cut attempt recorded its outcome → that operation is the answer (the call happened);
 * - it recorded only its intent → the provider is asked whether the effect is there (instance
 *   state, type, labels; a create is looked up by its idempotency key), the intent gets its outcome
 *   (`reconciled`), and the call is sent only if the effect is absent. A reboot whose outcome is
 *   unknown is not repeated; a snapshot cannot be looked up and is sent again, said so in the audit;
 * - it recorded nothing → it never reached the provider: the call goes out as usual.
 */
export interface ActOnce {
  ctx: CallContext;
  /** Idempotency key of the step, e.g. `${jobId}:${step}`. */
  key: string;
  /** What must not change under the key. */
  payload: unknown;
  action: string;
  instanceId?: string;
  /** Audited as the intent's parameters. */
  parameters: unknown;
  provider: ComputeProvider;
  call: () => Promise<Operation>;
  /** For `scale`: the target type, so a cut scale can be checked. */
  scaleTo?: string;
  /** For `labels`: the changes, so cut label changes can be checked. */
  labels?: Record<string, string | null>;
  /** For `protection`: the wanted flag. */
  protect?: boolean;
  /** A look that can make the call unnecessary (already stopped): its operation is the answer, unaudited. */
  before?: () => Promise<Operation | undefined>;
  times?: IdempotencyTimes;
}

export function actOnce(args: ActOnce): Promise<Operation> {
  return stores().idempotency.run(
    args.key,
    args.payload,
    async ({ cutShort }) => {
      if (!cutShort) {
        const skipped = await args.before?.();
        return skipped ?? audited(args.ctx, args.action, args.instanceId, args.parameters, args.call);
      }
      const { intent, outcome } = await lastAttempt(args, cutShort.startedAt);
      // Recorded and acknowledged nowhere: the operation it recorded is the answer (a recorded
      // failure was never acted on, so the step is simply tried again, as a retry would).
      const replayed = outcome && fromOutcome(args, outcome);
      if (replayed) return replayed;
      if (intent && !outcome) return reconcile(args, intent);
      const skipped = await args.before?.();
      return skipped ?? audited(args.ctx, args.action, args.instanceId, args.parameters, args.call);
    },
    args.times,
  );
}

/** The newest intent of this action (and instance) at or after `since`, and its outcome if any. */
async function lastAttempt(
  args: ActOnce,
  since: string,
): Promise<{ intent?: AuditEvent; outcome?: AuditEvent }> {
  const { audit } = stores();
  const outcomes = new Map<number, AuditEvent>();
  let cursor: string | undefined;
  do {
    const page = await audit.byJob(args.ctx.jobId, {
      order: 'newest',
      limit: 100,
      ...(cursor && { cursor }),
    });
    for (const event of page.items) {
      if (event.at < since) return {};
      if (event.action !== args.action || (event.instanceId ?? undefined) !== args.instanceId) continue;
      if (event.kind === 'outcome' && event.intentSeq !== undefined) outcomes.set(event.intentSeq, event);
      if (event.kind === 'intent') {
        const outcome = outcomes.get(event.seq);
        return { intent: event, ...(outcome && { outcome }) };
      }
    }
    cursor = page.cursor;
  } while (cursor);
  return {};
}

/** The operation a recorded outcome describes, or undefined when the call had failed. */
function fromOutcome(args: ActOnce, outcome: AuditEvent): Operation | undefined {
  const result = (outcome.result ?? {}) as { status?: string; operationId?: string; resourceId?: string };
  if (!result.operationId || !result.status || result.status === 'failed') return undefined;
  const ref = {
    provider: args.provider.provider,
    location: args.provider.location,
    id: result.operationId,
    action: args.action as Operation['action'],
    ...(args.instanceId && { instanceId: args.instanceId }),
  };
  return result.status === 'succeeded'
    ? { ...ref, status: 'succeeded', ...(result.resourceId && { resourceId: result.resourceId }) }
    : { ...ref, status: 'pending' };
}

/** An intent with no outcome: look at the provider, record what is there, act only if needed. */
async function reconcile(args: ActOnce, intent: AuditEvent): Promise<Operation> {
  const { audit } = stores();
  const close = (op: Operation, note: string) =>
    audit.appendOutcome(intent, {
      result: {
        status: op.status,
        operationId: op.id,
        ...('resourceId' in op && op.resourceId && { resourceId: op.resourceId }),
        reconciled: note,
      },
    });
  let op: Operation | undefined;
  let note = 'the runtime stopped before this outcome was recorded; the provider shows it done';
  try {
    op = args.action === 'create' ? await args.call() : await alreadyDone(args);
    if (args.action === 'create')
      note =
        'the runtime stopped before this outcome was recorded; the create was looked up by its idempotency key';
    if (!op && args.action === 'reboot') {
      // Whether it rebooted cannot be seen afterwards: once is the most a request may cause.
      op = noop(args);
      note = 'the runtime stopped before this outcome was recorded; a reboot is not repeated';
    }
    if (!op) {
      op = await args.call();
      note =
        args.action === 'snapshot'
          ? 'the runtime stopped before this outcome was recorded and a snapshot cannot be looked up: sent again'
          : 'the runtime stopped before this outcome was recorded; the provider did not show it done: sent again';
    }
  } catch (error) {
    await audit.appendOutcome(intent, {
      result: {
        error: { name: (error as Error).name, message: (error as Error).message },
        reconciled: 'sent again',
      },
    });
    throw error;
  }
  await close(op, note);
  return op;
}

/** The effect of the action is visible on the instance (done, or under way): a no-op operation. */
async function alreadyDone(args: ActOnce): Promise<Operation | undefined> {
  if (!args.instanceId) return undefined;
  let instance: Instance;
  try {
    instance = await args.provider.get(args.instanceId);
  } catch (error) {
    if (error instanceof ProviderNotFoundError && args.action === 'delete') return noop(args);
    throw error;
  }
  const under: Partial<Record<string, string[]>> = {
    start: ['running', 'starting'],
    stop: ['stopped', 'stopping'],
    delete: ['deleted', 'deleting'],
  };
  const states = under[args.action];
  // Under way counts as done: the step's wait loop watches the instance reach the target state.
  if (states) return states.includes(instance.state) ? noop(args) : undefined;
  if (args.action === 'scale' && args.scaleTo)
    return instance.type === args.scaleTo || instance.typeId === args.scaleTo ? noop(args) : undefined;
  if (args.action === 'labels' && args.labels)
    return Object.entries(args.labels).every(
      ([k, v]) => (Object.hasOwn(instance.labels, k) ? instance.labels[k] : null) === v,
    )
      ? noop(args)
      : undefined;
  if (args.action === 'protection' && args.protect !== undefined)
    return instance.protected === args.protect ? noop(args) : undefined;
  return undefined;
}

/** An operation that needs no provider call (a wait for a target state still follows it). */
function noop(args: ActOnce): Operation {
  return {
    provider: args.provider.provider,
    location: args.provider.location,
    id: `reconciled:${args.key}`,
    action: args.action as Operation['action'],
    status: 'succeeded',
    ...(args.instanceId && { instanceId: args.instanceId }),
  };
}
