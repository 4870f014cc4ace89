import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SFNClient } from '@aws-sdk/client-sfn';
import { validateConfig } from '../functions/config/load.ts';
import { createLogger } from '../functions/log.ts';
import { PROVIDER_IDS, type ProviderId } from '../functions/providers/port.ts';
import { PROVIDERS } from '../functions/providers/registry.ts';
import { waitForOperation, waitForState } from '../functions/providers/wait.ts';
import { providerFor, type Target } from '../functions/runtime/accounts.ts';
import { stores } from '../functions/runtime/stores.ts';
import { runName, scheduleRunInput, startScheduleRun } from '../functions/schedule/run.ts';
import { startRuntime } from '../local/runtime.ts';
import type { SimulatorBase } from '../sim/kit/index.ts';
import { CONTRACT_FIXTURES } from '../test/contract/fixtures.ts';

/**
 * `npm run bench -- schedule [--per-provider 200] [--latency 40] [--rps 20] [--op-ms 2000]`
 * (also `npm run bench -- fleet`)
 *
 * A fleet over the five simulators (200 each by default), 40 ms per request, 20 requests/s per
 * provider, operations and transitions of 2 s: stop all, then start all, through the real
 * power-schedule workflow on the local engine. Printed: wall time per run; the lower bound the
 * rate limits set (provider calls per instance × instances ÷ rate, slowest provider); their ratio
 * (goal ≤ 1.25); provider calls per instance (goal ≤ 1.5); state transitions per instance (goal
 * ≤ 3); 429s that surfaced as failures (goal 0); and a naive sequential loop (get → act → poll
 * until the state is reached, one instance after another), timed on a sample and extrapolated.
 * The fleet is created through the adapters before the limits are switched on.
 */
export async function run(argv: string[], benchName = 'schedule'): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'per-provider': { type: 'string', default: '200' },
      latency: { type: 'string', default: '40' },
      rps: { type: 'string', default: '20' },
      'op-ms': { type: 'string', default: '2000' },
    },
  });
  const per = Number(values['per-provider']);
  const latency = Number(values.latency);
  const rps = Number(values.rps);
  const opMs = Number(values['op-ms']);
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-bench-'));
  const runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.25,
    simulator: { transitionMs: opMs, operationMs: opMs, fleetSize: 1 },
    env: {},
    logger: createLogger({ component: 'runtime' }, 'silent'),
    scheduler: false,
  });
  const sims = runtime.simulators as Record<ProviderId, SimulatorBase>;
  // Bench-only knobs: seed fast, then measure under the stated latency and rate limit.
  const knobs = (sim: SimulatorBase) =>
    (
      sim as unknown as {
        options: { latencyMs: number; rateLimitRps: number; operationMs: number; transitionMs: number };
      }
    ).options;
  try {
    const targets = Object.fromEntries(
      PROVIDER_IDS.map((p) => [p, { provider: p, account: 'default', location: sims[p].defaultLocation }]),
    ) as Record<ProviderId, Target>;
    process.stdout.write(`seeding ${per} instances on each of ${PROVIDER_IDS.length} simulators…\n`);
    for (const p of PROVIDER_IDS) Object.assign(knobs(sims[p]), { operationMs: 5, transitionMs: 5 });
    await Promise.all(PROVIDER_IDS.map((p) => seed(p, targets[p], per)));
    for (const p of PROVIDER_IDS)
      Object.assign(knobs(sims[p]), {
        latencyMs: latency,
        rateLimitRps: rps,
        operationMs: opMs,
        transitionMs: opMs,
      });

    const config = validateConfig({
      accounts: PROVIDER_IDS.map((p) => ({ provider: p, locations: [sims[p].defaultLocation] })),
      schedules: {
        fleet: {
          timezone: 'UTC',
          periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', stop: '18:00' }],
          targets: PROVIDER_IDS.map((p) =>
            PROVIDERS[p].capabilities.labels.supported
              ? { provider: p, labels: { bench: 'fleet' } }
              : { provider: p, namePrefix: 'bench-' },
          ),
        },
      },
    });
    const sfn = new SFNClient({
      endpoint: runtime.urls.sfn,
      region: 'us-east-1',
      credentials: runtime.credentials,
    });
    const total = per * PROVIDER_IDS.length;
    const results: Record<string, unknown> = {};
    for (const action of ['stop', 'start'] as const) {
      const marks = PROVIDER_IDS.map((p) => sims[p].requestLog.length);
      const name = runName('fleet', action, new Date(), true);
      const t0 = performance.now();
      const { executionArn } = await startScheduleRun({
        sfn,
        stateMachineArn: runtime.engine.stateMachineArn('power-schedule'),
        input: scheduleRunInput(config, 'fleet', action),
        name,
      });
      const execution = await runtime.engine.waitForExecution(executionArn);
      const wallS = (performance.now() - t0) / 1000;
      const job = await stores().jobs.require(name);
      const calls = PROVIDER_IDS.map((p, i) => sims[p].requestLog.length - marks[i]!);
      const rateLimited = PROVIDER_IDS.reduce(
        (n, p, i) => n + sims[p].requestLog.slice(marks[i]).filter((r) => r.status === 429).length,
        0,
      );
      const failed = Object.values(job.results).filter((r) => r.status === 'FAILED');
      const failed429 = failed.filter((r) =>
        /RateLimit|429/.test(`${r.error?.code} ${r.error?.message}`),
      ).length;
      const history = runtime.engine
        .getExecutionHistory(executionArn)
        .filter((e) => e.type.endsWith('StateEntered')).length;
      const callsPerInstance = calls.reduce((a, b) => a + b, 0) / total;
      // The bound: the slowest provider's calls at its rate limit (every call this run made counts).
      const boundS = Math.max(...calls.map((c) => c / rps), opMs / 1000);
      // The issue's bound: the fewest calls possible (one list + one action per instance) at the rate.
      const minimalBoundS = Math.max((per + 1) / rps, opMs / 1000);
      results[action] = {
        status: job.status,
        execution: execution.status,
        wallS: round(wallS),
        boundS: round(boundS),
        ratio: round(wallS / boundS),
        minimalBoundS: round(minimalBoundS),
        ratioToMinimal: round(wallS / minimalBoundS),
        callsPerInstance: round(callsPerInstance),
        transitionsPerInstance: round(history / total),
        http429: rateLimited,
        failures: failed.length,
        failures429: failed429,
      };
      process.stdout.write(
        `${action} ${total} instances: ${wallS.toFixed(1)} s (job ${job.status}); bound for the calls made ${boundS.toFixed(1)} s → ratio ${(wallS / boundS).toFixed(2)}; bound for the fewest calls ${minimalBoundS.toFixed(1)} s → ratio ${(wallS / minimalBoundS).toFixed(2)} (goal ≤ 1.25)\n` +
          `  provider calls/instance ${callsPerInstance.toFixed(2)} (goal ≤ 1.5), state transitions/instance ${(history / total).toFixed(2)} (goal ≤ 3), 429 answers ${rateLimited}, failures ${failed.length} (from 429: ${failed429}, goal 0)\n` +
          `  calls per provider: ${PROVIDER_IDS.map((p, i) => `${p} ${calls[i]} (mutations ${sims[p].requestLog.slice(marks[i]).filter((r) => r.mutation).length}, ${spanS(sims[p].requestLog.slice(marks[i]).filter((r) => r.mutation))} s)`).join(', ')}\n`,
      );
    }
    sfn.destroy();

    // A naive sequential loop on a sample, extrapolated to the fleet: one instance at a time.
    const sample = 5;
    const t0 = performance.now();
    for (const p of PROVIDER_IDS) {
      const adapter = await providerFor(targets[p]);
      const some = (
        await adapter.list(
          PROVIDERS[p].capabilities.labels.supported
            ? { labels: { bench: 'fleet' } as Record<string, string> }
            : {},
        )
      )
        .filter((i) => i.name.startsWith('bench-'))
        .slice(0, 1);
      for (const i of some) {
        const op = await adapter.stop(i.id);
        await waitForOperation(adapter, op, { intervalMs: 250, maxIntervalMs: 1000 });
        await waitForState(adapter, i.id, 'stopped', { intervalMs: 250, maxIntervalMs: 1000 });
      }
    }
    const naivePerInstance = (performance.now() - t0) / 1000 / sample;
    const naiveS = naivePerInstance * total;
    process.stdout.write(
      `naive sequential loop: ${naivePerInstance.toFixed(2)} s per instance → ~${naiveS.toFixed(0)} s for ${total} (extrapolated from ${sample})\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ bench: benchName, instances: total, latencyMs: latency, rps, opMs, ...results, naiveSequentialS: round(naiveS) })}\n`,
    );
  } finally {
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function seed(p: ProviderId, target: Target, count: number): Promise<void> {
  const adapter = await providerFor(target);
  const spec = CONTRACT_FIXTURES[p].createSpec;
  const labels: Record<string, string> = PROVIDERS[p].capabilities.labels.supported ? { bench: 'fleet' } : {};
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const op = await adapter.create({
        ...spec,
        name: `bench-${p}-${n}`,
        labels,
        idempotencyKey: `bench-${p}-${n}-${Date.now()}`,
      });
      const done = await waitForOperation(adapter, op, {
        intervalMs: 10,
        maxIntervalMs: 50,
        timeoutMs: 60_000,
      });
      await waitForState(adapter, ('resourceId' in done && done.resourceId) || done.instanceId!, 'running', {
        intervalMs: 10,
        maxIntervalMs: 50,
        timeoutMs: 60_000,
      });
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
}

/** Seconds from the first to the last of some requests. */
function spanS(log: Array<{ at: number }>): string {
  return log.length ? ((log.at(-1)!.at - log[0]!.at) / 1000).toFixed(1) : '0';
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
