import type { Logger } from '../functions/log.ts';
import { type PolicySet, policiesFromEnv, sweepScope } from '../functions/remediation/source.ts';
import { startSweep } from '../functions/remediation/start.ts';
import { durationSeconds } from '../functions/shared/duration.ts';

/**
 * The local stand-in for the periodic policies' EventBridge Scheduler schedules: one timer per
 * periodic policy, each starting the sweep workflow through the Step Functions API, as on AWS.
 * Policies are read from the environment at each tick, so the handlers and the timer agree.
 */
export interface SweepTimers {
  policies(): string[];
  stop(): void;
}

export function startSweepTimers(args: { log: Logger; timeScale?: number }): SweepTimers {
  const timers = new Map<string, NodeJS.Timeout>();
  let set: PolicySet;
  try {
    set = policiesFromEnv();
  } catch (error) {
    args.log.error('policies unusable: no sweeps', { message: (error as Error).message });
    return { policies: () => [], stop: () => {} };
  }
  for (const loaded of set.policies) {
    if (loaded.policy.mode !== 'periodic') continue;
    const ms = Math.max(1000, durationSeconds(loaded.policy.every) * 1000 * (args.timeScale ?? 1));
    const timer = setInterval(() => {
      startSweep({
        loaded,
        scope: sweepScope(loaded.policy, set),
        trigger: { type: 'schedule', actor: 'local-timer', source: `policy ${loaded.policy.name}` },
      }).catch((error) =>
        args.log.error('sweep could not start', {
          policy: loaded.policy.name,
          error: (error as Error).name,
          message: (error as Error).message,
        }),
      );
    }, ms);
    timer.unref();
    timers.set(loaded.policy.name, timer);
  }
  return {
    policies: () => [...timers.keys()],
    stop: () => {
      for (const t of timers.values()) clearInterval(t);
    },
  };
}
