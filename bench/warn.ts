import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { validateConfig } from '../functions/config/load.ts';
import { createLogger } from '../functions/log.ts';
import { ProviderRateLimitError } from '../functions/providers/errors.ts';
import { waitForOperation } from '../functions/providers/wait.ts';
import { policySetFrom } from '../functions/remediation/source.ts';
import { startSweep } from '../functions/remediation/start.ts';
import { providerFor, type Target } from '../functions/runtime/accounts.ts';
import { stores } from '../functions/runtime/stores.ts';
import { WARN_MACHINE, warnRunInput } from '../functions/schedule/warn.ts';
import { generateSecret } from '../functions/webhooks/standard-webhooks.ts';
import { startRuntime } from '../local/runtime.ts';
import type { SimulatorBase } from '../sim/kit/index.ts';
import { CONTRACT_FIXTURES } from '../test/contract/fixtures.ts';

/**
 * `npm run bench -- warn [--instances 300] [--owners 30] [--latency 40] [--rps 20]`
 *
 * What warnings and idle stops cost at fleet size, through the real workflows on the local engine
 * against simulators with 40 ms per request and 20 requests/s:
 * - a warn run over N Exoscale instances owned by M owners: wall time, provider calls (goal: the
 *   schedule's listings only, nothing per instance), notices sent (goal: exactly one per owner) and
 *   the warn job's item size (it must not grow with the fleet: names are capped);
 * - an idle sweep over N Gcore instances: metric reads (goal: one per instance the other filters
 *   leave in play, none for the rest) and wall time against the rate-limit bound (calls ÷ rate).
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      instances: { type: 'string', default: '300' },
      owners: { type: 'string', default: '30' },
      latency: { type: 'string', default: '40' },
      rps: { type: 'string', default: '20' },
    },
  });
  const n = Number(values.instances);
  const owners = Number(values.owners);
  const latency = Number(values.latency);
  const rps = Number(values.rps);
  let notices = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      notices++;
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.env.BENCH_WARN_SECRET = generateSecret();
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-bench-warn-'));
  const runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.25,
    // The limits from the start (the simulators' token bucket is sized when they start).
    simulator: {
      transitionMs: 5,
      operationMs: 5,
      fleetSize: 1,
      metricsStepMs: 60_000,
      latencyMs: latency,
      rateLimitRps: rps,
    },
    providers: ['exoscale', 'gcore'],
    env: {},
    logger: createLogger({ component: 'runtime' }, 'silent'),
    scheduler: false,
  });
  const sims = runtime.simulators as Record<'exoscale' | 'gcore', SimulatorBase>;
  const knobs = (sim: SimulatorBase) =>
    (sim as unknown as { options: { latencyMs: number; rateLimitRps: number } }).options;
  try {
    const target = (p: 'exoscale' | 'gcore'): Target => ({
      provider: p,
      account: 'default',
      location: sims[p].defaultLocation,
    });
    process.stdout.write(`seeding ${n} instances on exoscale and on gcore…\n`);
    await Promise.all([
      seed('exoscale', target('exoscale'), n, (i) => ({
        bench: 'warn',
        owner: `owner-${i % owners}@example.com`,
      })),
      seed('gcore', target('gcore'), n, (i) => ({ bench: i % 2 === 0 ? 'idle' : 'other' })),
    ]);
    for (const p of ['exoscale', 'gcore'] as const)
      Object.assign(knobs(sims[p]), { latencyMs: latency, rateLimitRps: rps });

    // ---- a warn run ------------------------------------------------------------------------
    const config = validateConfig({
      accounts: [{ provider: 'exoscale', locations: [sims.exoscale.defaultLocation] }],
      schedules: {
        fleet: {
          timezone: 'UTC',
          periods: [
            { days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', stop: '18:00' },
          ],
          targets: [{ provider: 'exoscale', labels: { bench: 'warn' } }],
          warn: {
            before: '30m',
            notifications: [
              {
                type: 'webhook',
                url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
                secretEnv: 'BENCH_WARN_SECRET',
              },
            ],
          },
        },
      },
    });
    const stop = new Date();
    stop.setUTCHours(17, 30, 0, 0);
    if (stop.getTime() < Date.now()) stop.setUTCDate(stop.getUTCDate() + 1);
    const sfn = new SFNClient({
      endpoint: runtime.urls.sfn,
      region: 'us-east-1',
      credentials: runtime.credentials,
    });
    const mark = sims.exoscale.requestLog.length;
    const t0 = performance.now();
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: runtime.engine.stateMachineArn(WARN_MACHINE),
        input: JSON.stringify(warnRunInput(config, 'fleet', { at: stop })),
      }),
    );
    const execution = await runtime.engine.waitForExecution(executionArn!);
    const warnS = (performance.now() - t0) / 1000;
    sfn.destroy();
    const warnCalls = sims.exoscale.requestLog.length - mark;
    const jobId = (JSON.parse(execution.output!) as { warning: { jobId: string } }).warning.jobId;
    const job = await stores().jobs.require(jobId);
    const jobBytes = Buffer.byteLength(JSON.stringify(job));
    process.stdout.write(
      `warn run over ${n} instances, ${owners} owners: ${warnS.toFixed(2)} s (job ${job.status}); ${warnCalls} provider calls (${(warnCalls / n).toFixed(3)}/instance: the schedule's listings, nothing per instance); ${notices} notices (goal ${owners}); job item ${jobBytes} bytes\n`,
    );

    // ---- an idle sweep ---------------------------------------------------------------------
    for (const i of await (await providerFor(target('gcore'))).list({ labels: { bench: 'idle' } }))
      sims.gcore.setLoad(i.id, 'idle');
    const [loaded] = policySetFrom({
      policies: [
        {
          name: 'bench-idle',
          mode: 'periodic',
          every: '1h',
          scope: [{ provider: 'gcore', locations: [sims.gcore.defaultLocation] }],
          filters: { labels: { bench: 'idle' }, idle: { cpuBelow: 5, for: '1m' } },
          actions: ['stop'],
          maxTargets: '100%',
          dryRun: true,
        },
      ],
    }).policies;
    const gmark = sims.gcore.requestLog.length;
    const s0 = performance.now();
    const started = await startSweep({
      loaded: loaded!,
      scope: loaded!.policy.scope,
      trigger: { type: 'bench', actor: 'bench' },
    });
    const sweepExecution = await runtime.engine.waitForExecution(started.executionArn!);
    const sweepS = (performance.now() - s0) / 1000;
    const sweepLog = sims.gcore.requestLog.slice(gmark);
    const metricReads = sweepLog.filter((r) => r.path.endsWith('/metrics') && r.status === 200).length;
    const http429 = sweepLog.filter((r) => r.status === 429).length;
    const usage = (sweepJob0: typeof sweepJob) =>
      ((sweepJob0.steps[0]?.detail as { usage?: string[] } | undefined)?.usage ?? []).filter((l) =>
        l.includes('could not be read'),
      ).length;
    const sweepJob = await stores().jobs.require(
      (JSON.parse(sweepExecution.output!) as { sweep: { jobId: string } }).sweep.jobId,
    );
    const matched = (sweepJob.steps[0]?.detail as { matched?: number } | undefined)?.matched ?? 0;
    const unreadable = usage(sweepJob);
    const inPlay = Math.ceil(n / 2);
    // The bucket starts full: the first second's `rps` requests go at once.
    const served = sweepLog.filter((r) => r.status !== 429).length;
    const sweepBoundS = Math.max(0, served - rps) / rps;
    process.stdout.write(
      `idle sweep over ${n} gcore instances (${inPlay} left in play by the label filter): ${sweepS.toFixed(2)} s; ${metricReads} metric reads (goal ${inPlay}); ${http429} answers 429; ${unreadable} instances whose metrics could not be read (goal 0); matched ${matched}; ${sweepLog.length} requests (${served} served), bound at ${rps}/s (after a first burst of ${rps}) ${sweepBoundS.toFixed(2)} s → ratio ${(sweepS / sweepBoundS).toFixed(2)}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'warn',
        instances: n,
        owners,
        latencyMs: latency,
        rps,
        warn: {
          status: job.status,
          wallS: round(warnS),
          providerCalls: warnCalls,
          callsPerInstance: round(warnCalls / n),
          notices,
          noticesPerOwner: round(notices / owners),
          jobItemBytes: jobBytes,
        },
        idleSweep: {
          status: sweepJob.status,
          wallS: round(sweepS),
          metricReads,
          inPlay,
          http429,
          unreadable,
          matched,
          providerCalls: sweepLog.length,
          ratio: round(sweepS / sweepBoundS),
        },
      })}\n`,
    );
  } finally {
    await runtime.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function seed(
  p: 'exoscale' | 'gcore',
  target: Target,
  count: number,
  labels: (i: number) => Record<string, string>,
): Promise<void> {
  const adapter = await providerFor(target);
  const spec = CONTRACT_FIXTURES[p].createSpec;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const key = `bench-${p}-${i}-${Date.now()}`;
      // Under the rate limit a seed call may run out of retries: the create is idempotent by key.
      for (let attempt = 0; ; attempt++) {
        try {
          const op = await adapter.create({
            ...spec,
            name: `bench-${p}-${i}`,
            labels: labels(i),
            idempotencyKey: key,
          });
          await waitForOperation(adapter, op, { intervalMs: 100, maxIntervalMs: 500, timeoutMs: 60_000 });
          break;
        } catch (error) {
          if (!(error instanceof ProviderRateLimitError) || attempt > 5) throw error;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
