import { type CloudcaAdapterArgs, CloudcaProvider } from '../../../functions/providers/cloudca/client.ts';
import { RetryBudget, RetryPolicy } from '../../../functions/providers/http/retry.ts';
import { CloudcaSimulator, type CloudcaSimulatorOptions } from '../../../sim/cloudca/simulator.ts';

export const FAST = { intervalMs: 5, maxIntervalMs: 20, timeoutMs: 5_000 };

export async function startSim(options: CloudcaSimulatorOptions = {}): Promise<CloudcaSimulator> {
  return new CloudcaSimulator({ seed: 3, fleetSize: 8, transitionMs: 5, operationMs: 5, ...options }).start();
}

export function adapterFor(sim: CloudcaSimulator, extra: Partial<CloudcaAdapterArgs> = {}): CloudcaProvider {
  return new CloudcaProvider({
    location: sim.defaultLocation,
    credentials: sim.credentials,
    endpoint: sim.endpoint(),
    retry: new RetryPolicy({ baseDelayMs: 1, maxDelayMs: 5, budget: new RetryBudget() }),
    ...extra,
  });
}

/** A raw request to the simulator, as another client (curl, go-cloudca) would send it. */
export async function raw(
  sim: CloudcaSimulator,
  method: string,
  path: string,
  body?: unknown,
  key: string | null = sim.credentials.apiKey ?? null,
) {
  const response = await fetch(`${sim.endpoint()}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(key !== null && { 'MC-Api-Key': key }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}
