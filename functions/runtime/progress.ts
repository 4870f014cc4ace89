import { ProviderNotFoundError, ProviderOperationFailedError } from '../providers/errors.ts';
import type { ComputeProvider, InstanceState, Operation } from '../providers/port.ts';

/**
 * Progress of one piece of asynchronous provider work, as it travels through a workflow's
 * call-and-wait loop: the workflow Waits `waitSeconds`, then the poll handler advances it. The
 * handler only reads the clock; it never sleeps.
 */
export interface Progress {
  /** The job step this work belongs to, e.g. `create`, `snapshot`, `scale`. */
  step: string;
  op?: Operation;
  instanceId?: string;
  /** After the operation succeeds, also wait for the instance to reach this state. */
  untilState?: InstanceState;
  /** What the work produced (a new instance id, a snapshot id). */
  resourceId?: string;
  attempt: number;
  waitSeconds: number;
  deadlineAt: string;
  done: boolean;
  /** false: the poll handler does not append a step to the job when the work is done. */
  journal?: false;
}

export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceeded';
}

/** The instance disappeared while we waited for it to reach a state other than deleted. */
export class InstanceVanishedError extends Error {
  override name = 'InstanceVanished';
}

/** Deadlines per step, in seconds of real time (scaled by FLEETFLOW_TIME_SCALE for tests). */
export const DEADLINE_SECONDS: Record<string, number> = {
  create: 20 * 60,
  snapshot: 60 * 60,
  delete: 20 * 60,
  default: 15 * 60,
};

const FIRST_WAIT = 2;
const MAX_WAIT = 30;

/** FLEETFLOW_TIME_SCALE (0 < f ≤ 1, default 1): the factor the local engine applies to every Wait. */
export function timeScale(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.FLEETFLOW_TIME_SCALE ?? '1');
  return Number.isFinite(v) && v > 0 ? v : 1;
}

export function startProgress(
  step: string,
  op: Operation,
  options: { instanceId?: string; untilState?: InstanceState; now?: number; journal?: false } = {},
): Progress {
  const now = options.now ?? Date.now();
  const deadline = (DEADLINE_SECONDS[step] ?? DEADLINE_SECONDS.default!) * 1000 * timeScale();
  const progress: Progress = {
    step,
    op,
    ...(options.instanceId && { instanceId: options.instanceId }),
    ...(options.untilState && { untilState: options.untilState }),
    ...(options.journal === false && { journal: false as const }),
    attempt: 0,
    waitSeconds: FIRST_WAIT,
    deadlineAt: new Date(now + deadline).toISOString(),
    done: false,
  };
  return settleOperation(progress, op);
}

/** One poll: reads the operation (then the instance) once and says whether the work is done. */
export async function advance(
  progress: Progress,
  provider: ComputeProvider,
  now = Date.now(),
): Promise<Progress> {
  if (progress.done) return progress;
  let next: Progress = { ...progress, attempt: progress.attempt + 1 };
  if (next.op && next.op.status === 'pending')
    next = settleOperation(next, await provider.operation(next.op));
  // Once the operation succeeded, the instance must still be there: a step that waits only for its
  // operation (a snapshot, a scale) would otherwise report success on an instance someone deleted.
  if (next.op?.status === 'succeeded' && next.instanceId && (!next.done || !next.untilState)) {
    try {
      const instance = await provider.get(next.instanceId);
      if (next.untilState && instance.state === 'error') {
        throw new ProviderOperationFailedError(
          `instance ${instance.id} went into error state during ${next.step}`,
          {
            provider: provider.provider,
            action: next.step,
          },
        );
      }
      if (instance.state === 'deleted' && next.untilState !== 'deleted') {
        throw new InstanceVanishedError(`instance ${instance.id} was deleted during ${next.step}`);
      }
      if (instance.state === next.untilState) next.done = true;
    } catch (error) {
      if (!(error instanceof ProviderNotFoundError)) throw error;
      if (next.untilState === 'deleted') next.done = true;
      else
        throw new InstanceVanishedError(`instance ${next.instanceId} disappeared during ${next.step}`, {
          cause: error,
        });
    }
  }
  if (!next.done && now >= Date.parse(next.deadlineAt)) {
    throw new DeadlineExceededError(
      `${next.step} did not finish by ${next.deadlineAt} (after ${next.attempt} polls)`,
    );
  }
  // Poll often at first, then less: the providers' SDKs do the same.
  next.waitSeconds = Math.min(MAX_WAIT, Math.ceil(next.waitSeconds * 1.5));
  return next;
}

function settleOperation(progress: Progress, op: Operation): Progress {
  const next: Progress = { ...progress, op };
  if (op.status === 'failed') {
    throw new ProviderOperationFailedError(`${progress.step} failed at ${op.provider}: ${op.reason}`, {
      provider: op.provider,
      action: op.action,
    });
  }
  if (op.status === 'succeeded') {
    if (op.resourceId) next.resourceId = op.resourceId;
    // A create learns its instance id only when the operation ends.
    if (!next.instanceId && op.action === 'create' && op.resourceId) next.instanceId = op.resourceId;
    if (!next.untilState) next.done = true;
  }
  return next;
}
