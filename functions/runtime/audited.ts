import { actionEvent, notify } from '../notify/notifier.ts';
import type { ProviderError } from '../providers/errors.ts';
import type { Operation } from '../providers/port.ts';
import type { Trigger } from '../store/schemas.ts';
import type { Target } from './accounts.ts';
import { stores } from './stores.ts';

/** Who asked, for which job, against which account and location. */
export interface CallContext {
  jobId: string;
  trigger: Trigger;
  target: Target;
}

/**
 * Wraps one provider mutation in its audit events: the intent is written before the call (so a
 * crash mid-call still leaves a trace), the outcome after it, success or failure.
 */
export async function audited(
  ctx: CallContext,
  action: string,
  instanceId: string | undefined,
  parameters: unknown,
  call: () => Promise<Operation>,
): Promise<Operation> {
  const { audit } = stores();
  const intent = await audit.append({
    kind: 'intent',
    jobId: ctx.jobId,
    trigger: ctx.trigger,
    provider: ctx.target.provider,
    account: ctx.target.account,
    location: ctx.target.location,
    ...(instanceId && { instanceId }),
    action,
    parameters: parameters ?? {},
  });
  try {
    const op = await call();
    const outcome = await audit.appendOutcome(intent, {
      result: {
        status: op.status,
        operationId: op.id,
        ...('resourceId' in op && op.resourceId && { resourceId: op.resourceId }),
      },
    });
    // Every provider action is reported once its outcome is on record (never fails the action).
    await notify(actionEvent(outcome));
    return op;
  } catch (error) {
    const e = error as ProviderError;
    const outcome = await audit.appendOutcome(intent, {
      result: {
        error: {
          name: e.name,
          message: e.message,
          ...(e.status && { status: e.status }),
          ...(e.code && { code: e.code }),
        },
      },
      ...(e.requestId && { providerRequestId: e.requestId }),
    });
    await notify(actionEvent(outcome));
    throw error;
  }
}
