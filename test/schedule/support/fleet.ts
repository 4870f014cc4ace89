import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { validateConfig } from '../../../functions/config/load.ts';
import type { FleetflowConfig } from '../../../functions/config/schema.ts';
import { createLogger } from '../../../functions/log.ts';
import { type Instance, PROVIDER_IDS, type ProviderId } from '../../../functions/providers/port.ts';
import { PROVIDERS } from '../../../functions/providers/registry.ts';
import { waitForOperation, waitForState } from '../../../functions/providers/wait.ts';
import { providerFor, type Target } from '../../../functions/runtime/accounts.ts';
import { stores } from '../../../functions/runtime/stores.ts';
import type { RunAction } from '../../../functions/schedule/plan.ts';
import { runName, scheduleRunInput, startScheduleRun } from '../../../functions/schedule/run.ts';
import type { Job } from '../../../functions/store/jobs.ts';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../../local/runtime.ts';
import { CONTRACT_FIXTURES } from '../../contract/fixtures.ts';

/**
 * A whole fleetflow on one machine for schedule tests: every simulator, dynalite in memory, the
 * synthesized app on the local engine, and helpers to seed labelled instances through the real
 * adapters and run a schedule through the Step Functions API, as the scheduler does.
 */
export const LABELLED: ProviderId[] = PROVIDER_IDS.filter((p) => PROVIDERS[p].capabilities.labels.supported);

export interface Fleet {
  runtime: Runtime;
  config: FleetflowConfig;
  targets: Record<ProviderId, Target>;
  sfn: SFNClient;
  close(): Promise<void>;
}

/** A config with one account per simulator and the given schedules. */
export function configFor(
  runtime: Runtime,
  schedules: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): FleetflowConfig {
  return validateConfig({
    accounts: PROVIDER_IDS.filter((p) => runtime.simulators[p]).map((provider) => ({
      provider,
      account: 'default',
      locations: [runtime.simulators[provider]!.defaultLocation],
    })),
    schedules,
    ...extra,
  });
}

export async function startFleet(options: Partial<RuntimeOptions> = {}): Promise<Fleet> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-schedule-'));
  const runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20, fleetSize: 1 },
    env: {},
    logger: createLogger({ component: 'runtime' }, 'silent'),
    scheduler: false,
    ...options,
  });
  const targets = Object.fromEntries(
    PROVIDER_IDS.filter((p) => runtime.simulators[p]).map((provider) => [
      provider,
      { provider, account: 'default', location: runtime.simulators[provider]!.defaultLocation },
    ]),
  ) as Record<ProviderId, Target>;
  const sfn = new SFNClient({
    endpoint: runtime.urls.sfn,
    region: 'us-east-1',
    credentials: runtime.credentials,
  });
  return {
    runtime,
    config: configFor(runtime, {}),
    targets,
    sfn,
    async close() {
      sfn.destroy();
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates running instances named `<prefix>-<provider>-<n>` (labels where the provider has them),
 * through the adapter, and waits until each runs.
 */
export async function seed(
  provider: ProviderId,
  target: Target,
  count: number,
  options: { prefix: string; labels?: (n: number) => Record<string, string> },
): Promise<Instance[]> {
  const adapter = await providerFor(target);
  const spec = CONTRACT_FIXTURES[provider].createSpec;
  const out: Instance[] = [];
  for (let n = 1; n <= count; n++) {
    const labels = LABELLED.includes(provider) ? (options.labels?.(n) ?? {}) : {};
    const op = await adapter.create({
      ...spec,
      name: `${options.prefix}-${provider}-${n}`,
      labels,
      idempotencyKey: `${options.prefix}-${provider}-${n}-${Date.now()}`,
    });
    const done = await waitForOperation(adapter, op, {
      intervalMs: 10,
      maxIntervalMs: 50,
      timeoutMs: 20_000,
    });
    const id = ('resourceId' in done && done.resourceId) || done.instanceId!;
    out.push(
      (await waitForState(adapter, id, 'running', { intervalMs: 10, maxIntervalMs: 50, timeoutMs: 20_000 }))!,
    );
  }
  return out;
}

/** Runs a schedule now through the Step Functions API and waits for the execution; returns the job. */
export async function runSchedule(
  fleet: Fleet,
  config: FleetflowConfig,
  schedule: string,
  action: RunAction,
  options: { dryRun?: boolean } = {},
): Promise<{ job: Job; status: string }> {
  const name = runName(schedule, action, new Date(), true);
  const { executionArn } = await startScheduleRun({
    sfn: fleet.sfn,
    stateMachineArn: fleet.runtime.engine.stateMachineArn('power-schedule'),
    input: scheduleRunInput(config, schedule, action, {
      ...(options.dryRun !== undefined && { dryRun: options.dryRun }),
      trigger: { type: 'test', actor: 'vitest' },
    }),
    name,
  });
  const execution = await fleet.runtime.engine.waitForExecution(executionArn);
  const job = await stores().jobs.require(name);
  return { job, status: execution.status };
}

export async function stateOf(target: Target, id: string): Promise<string> {
  return (await (await providerFor(target)).get(id)).state;
}
