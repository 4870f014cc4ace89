import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { validateConfig } from '../../../functions/config/load.ts';
import type { FleetflowConfig } from '../../../functions/config/schema.ts';
import { createLogger } from '../../../functions/log.ts';
import { type Instance, PROVIDER_IDS, type ProviderId } from '../../../functions/providers/port.ts';
import { PROVIDERS } from '../../../functions/providers/registry.ts';
import { providerFor, type Target } from '../../../functions/runtime/accounts.ts';
import { stores } from '../../../functions/runtime/stores.ts';
import type { RunAction } from '../../../functions/schedule/plan.ts';
import { runName, scheduleRunInput, startScheduleRun } from '../../../functions/schedule/run.ts';
import type { JobWithResults } from '../../../functions/store/jobs.ts';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../../local/runtime.ts';
import { SeedingNotSupportedError } from '../../../sim/kit/index.ts';
import { CONTRACT_FIXTURES } from '../../contract/fixtures.ts';
import { createRunning } from '../../support/instances.ts';

/**
 * A whole fleetflow on one machine for schedule tests: every simulator, dynalite in memory, the
 * synthesized app on the local engine, and helpers to seed labelled instances through the real
 * adapters and run a schedule through the Step Functions API, as the scheduler does.
 */
export const LABELLED: ProviderId[] = PROVIDER_IDS.filter((p) => PROVIDERS[p].capabilities.labels.supported);

export interface Fleet {
  runtime: Runtime;
  /** The runtime's data folder (its key pair signs a CLI's DynamoDB requests). */
  dataDir: string;
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
    dataDir,
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
  const spec = CONTRACT_FIXTURES[provider].createSpec;
  return createRunning(
    await providerFor(target),
    Array.from({ length: count }, (_, i) => ({
      ...spec,
      name: `${options.prefix}-${provider}-${i + 1}`,
      labels: LABELLED.includes(provider) ? (options.labels?.(i + 1) ?? {}) : {},
      idempotencyKey: `${options.prefix}-${provider}-${i + 1}-${Date.now()}`,
    })),
  );
}

/**
 * `count` running instances named `<prefix>-<provider>-<n>`, fast: the simulator's seeding helper
 * where it has one, else many creates in flight through the adapter (no wait per instance) and a
 * listing until every one runs. Labels where the provider has them.
 */
export async function seedMany(
  fleet: Fleet,
  provider: ProviderId,
  count: number,
  options: { prefix: string; labels: Record<string, string> },
): Promise<Instance[]> {
  const target = fleet.targets[provider];
  const adapter = await providerFor(target);
  const labels = LABELLED.includes(provider) ? options.labels : {};
  const namePrefix = `${options.prefix}-${provider}-`;
  try {
    fleet.runtime.simulators[provider]!.seedInstances({
      count,
      namePrefix,
      labels,
      location: target.location,
    });
  } catch (error) {
    if (!(error instanceof SeedingNotSupportedError)) throw error;
    const spec = CONTRACT_FIXTURES[provider].createSpec;
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const n = next++;
        await adapter.create({
          ...spec,
          name: `${namePrefix}${n}`,
          labels,
          idempotencyKey: `${namePrefix}${n}-${Date.now()}`,
        });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  }
  for (const until = Date.now() + 120_000; ; ) {
    const mine = (await adapter.list(LABELLED.includes(provider) ? { labels } : {})).filter((i) =>
      i.name.startsWith(namePrefix),
    );
    if (mine.length >= count && mine.every((i) => i.state === 'running')) return mine;
    if (Date.now() > until) throw new Error(`${provider}: seeded instances not running after 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs a schedule now through the Step Functions API and waits for the execution; returns the job
 * with its results (up to 1,000: the small fleets of these tests).
 */
export async function runSchedule(
  fleet: Fleet,
  config: FleetflowConfig,
  schedule: string,
  action: RunAction,
  options: { dryRun?: boolean } = {},
): Promise<{ job: JobWithResults; status: string; executionArn: string }> {
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
  const job = (await stores().jobs.view(name, { results: 1000 }))!;
  return { job, status: execution.status, executionArn };
}

export async function stateOf(target: Target, id: string): Promise<string> {
  return (await (await providerFor(target)).get(id)).state;
}
