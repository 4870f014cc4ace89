import type { ComputeProvider, CreateInstanceSpec, Instance } from '../../functions/providers/port.ts';
import { waitForOperation, waitForState } from '../../functions/providers/wait.ts';

const FAST = { intervalMs: 10, maxIntervalMs: 50, timeoutMs: 20_000 };

/** Creates instances through an adapter, one after another, each waited until it runs (simulator timings). */
export async function createRunning(
  adapter: ComputeProvider,
  specs: readonly CreateInstanceSpec[],
): Promise<Instance[]> {
  const out: Instance[] = [];
  for (const spec of specs) {
    const done = await waitForOperation(adapter, await adapter.create(spec), FAST);
    const id = ('resourceId' in done && done.resourceId) || done.instanceId!;
    out.push((await waitForState(adapter, id, 'running', FAST))!);
  }
  return out;
}
