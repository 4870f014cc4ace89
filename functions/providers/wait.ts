import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderNotFoundError, ProviderOperationFailedError, ProviderTransientError } from './errors.ts';
import type { ComputeProvider, Instance, InstanceState, Operation } from './port.ts';

/**
 * Client-side waiting, for the CLI's --wait and for tests. Workflows never use this: they wait
 * with Step Functions Wait states so no Lambda sleeps.
 */
export interface WaitOptions {
  /** First poll interval; grows by half each poll up to maxIntervalMs (as the providers' SDKs do). */
  intervalMs?: number;
  maxIntervalMs?: number;
  timeoutMs?: number;
  onPoll?: (detail: string) => void;
}

export async function waitForOperation(
  provider: ComputeProvider,
  op: Operation,
  options: WaitOptions = {},
): Promise<Operation> {
  let current = op;
  await poll(
    options,
    async () => {
      if (current.status !== 'pending') return true;
      current = await provider.operation(current);
      options.onPoll?.(`${current.action} ${current.status}`);
      return current.status !== 'pending';
    },
    `operation ${op.id} (${op.action})`,
    provider,
  );
  if (current.status === 'failed') {
    throw new ProviderOperationFailedError(
      `${provider.provider}: ${current.action} failed: ${current.reason}`,
      {
        provider: provider.provider,
        action: current.action,
      },
    );
  }
  return current;
}

/** Waits until the instance is in `state` (`deleted` also accepts the instance disappearing). */
export async function waitForState(
  provider: ComputeProvider,
  id: string,
  state: InstanceState,
  options: WaitOptions = {},
): Promise<Instance | undefined> {
  let last: Instance | undefined;
  await poll(
    options,
    async () => {
      try {
        last = await provider.get(id);
      } catch (error) {
        if (state === 'deleted' && error instanceof ProviderNotFoundError) {
          last = undefined;
          return true;
        }
        throw error;
      }
      options.onPoll?.(`${id} ${last.state}`);
      if (last.state === 'error' && state !== 'error') {
        throw new ProviderOperationFailedError(`${provider.provider}: instance ${id} went into error state`, {
          provider: provider.provider,
        });
      }
      return last.state === state;
    },
    `instance ${id} to be ${state}`,
    provider,
  );
  return last;
}

async function poll(
  options: WaitOptions,
  check: () => Promise<boolean>,
  what: string,
  provider: ComputeProvider,
) {
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  let interval = options.intervalMs ?? 1_000;
  for (;;) {
    if (await check()) return;
    if (Date.now() + interval > deadline) {
      throw new ProviderTransientError(`${provider.provider}: timed out waiting for ${what}`, {
        provider: provider.provider,
        code: 'wait-timeout',
      });
    }
    await sleep(interval);
    interval = Math.min(options.maxIntervalMs ?? 10_000, Math.ceil(interval * 1.5));
  }
}
