import type { AuditCheckpointEvent } from '../functions/handlers/audit-checkpoint.ts';
import { handler } from '../functions/handlers/audit-checkpoint.ts';
import type { Logger } from '../functions/log.ts';
import { CHECKPOINT_INTERVAL_MS } from '../functions/store/audit-checkpoints.ts';
import type { ExecutionRecord } from './engine/index.ts';

/**
 * The local stand-in for the checkpoint function's triggers on AWS: a timer instead of the
 * EventBridge Scheduler schedule, and the engine's execution ends instead of EventBridge's
 * "Step Functions Execution Status Change" events. Both call the same handler with the same event
 * shapes. One checkpoint at start (the first ever adopts every chain), one at stop.
 */
export interface CheckpointTimer {
  /** The checkpoint for an execution that ended (its name is the job id). */
  executionEnded(execution: ExecutionRecord): Promise<void>;
  /** Stops the timer and writes a last periodic checkpoint. */
  stop(): Promise<void>;
}

export async function startCheckpointTimer(args: {
  log: Logger;
  everyMs?: number;
}): Promise<CheckpointTimer> {
  let running: Promise<unknown> = Promise.resolve();
  // One at a time: checkpoints build on each other.
  const run = (event: AuditCheckpointEvent) => {
    running = running
      .then(() => handler(event))
      .catch((error: unknown) =>
        args.log.error('audit checkpoint failed', {
          error: (error as Error).name,
          message: (error as Error).message,
        }),
      );
    return running.then(() => undefined);
  };
  await run({ checkpoint: 'periodic' });
  const timer = setInterval(
    () => void run({ checkpoint: 'periodic' }),
    args.everyMs ?? CHECKPOINT_INTERVAL_MS,
  );
  timer.unref();
  return {
    executionEnded: (execution) => {
      if (execution.status === 'RUNNING') return Promise.resolve();
      return run({
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: { name: execution.name, status: execution.status },
      });
    },
    stop: async () => {
      clearInterval(timer);
      await run({ checkpoint: 'periodic' });
    },
  };
}
