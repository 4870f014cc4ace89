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
import {
  POWER_SCHEDULE_PAGE_MACHINE,
  runName,
  scheduleRunInput,
  startScheduleRun,
} from '../functions/schedule/run.ts';
import type { LocalEngine } from '../local/engine/index.ts';
import { startRuntime } from '../local/runtime.ts';
import { CONTRACT_FIXTURES } from '../test/contract/fixtures.ts';
import { type HostedSimulator, type SimHost, startSimHost } from './_sim-host.ts';

/**
 * `npm run bench -- fleet [--instances 1000] [--providers a,b] [--rps 20] [--latency 40] [--op-ms 2000]
 * [--warmup 100]` (also `npm run bench -- schedule`)
 *
 * A fleet spread evenly over the given simulators (default: 1,000 over all five), `--latency` ms
 * per request, `--rps` requests/s per provider account (the simulators' rate limit, and the
 * accounts' `requestsPerSecond` in the config), operations and transitions of `--op-ms`: stop
 * all, then start all, through the real power-schedule workflow on the local engine. Per run:
 *   - wall time; the lower bound the rate limit sets for the fewest calls (one listing plus one
 *     action per instance, slowest provider) and the ratio to it (goal ≤ 1.25); the bound for
 *     the calls actually made;
 *   - provider calls and state transitions per instance (every StateEntered of the run's
 *     executions, parent and page children), 429 answers, failures (from 429: goal 0);
 *   - maxStatePayloadBytes (largest state input/output, Task parameters or result of any of the
 *     run's executions, UTF-8) and maxHistoryEvents (largest execution history), from the local
 *     engine's counters: Step Functions refuses over 262,144 bytes and 25,000 events;
 *   - verified: instances an independent listing after the run shows in the target state;
 *   - cpuS: CPU seconds this process spent on the run, all its threads (engine, handlers, dynalite).
 * Then the process's peak RSS, and a naive sequential loop (get → act → poll until the state is
 * reached, one instance after another), timed on a sample and extrapolated. The simulators run in
 * a child process (_sim-host.ts: a provider is someone else's machine); the fleet is seeded before
 * their latency and rate limit are switched on.
 *
 * Before the measured runs, an untimed warm-up stops and starts `--warmup` other instances (100 by
 * default, spread the same way; 0 measures a cold process): a running `fleetflow start` has run
 * its workflows before, and a fresh process's first run spends a core compiling its code paths.
 * The rate limits are full again when the measured runs begin.
 */
export async function run(argv: string[], benchName = 'schedule'): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      instances: { type: 'string', default: '1000' },
      providers: { type: 'string', default: PROVIDER_IDS.join(',') },
      latency: { type: 'string', default: '40' },
      rps: { type: 'string', default: '20' },
      'op-ms': { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '100' },
    },
  });
  const providers = values.providers.split(',').map((p) => p.trim()) as ProviderId[];
  const unknown = providers.filter((p) => !PROVIDER_IDS.includes(p));
  if (unknown.length > 0 || providers.length === 0)
    throw new RangeError(
      `--providers: one or more of ${PROVIDER_IDS.join(', ')} (got ${unknown.join(', ')})`,
    );
  const total = Number(values.instances);
  const latency = Number(values.latency);
  const rps = Number(values.rps);
  const opMs = Number(values['op-ms']);
  const warmup = Number(values.warmup);
  for (const [name, v] of Object.entries({ instances: total, latency, rps, 'op-ms': opMs, warmup }))
    if (!Number.isFinite(v) || v < 0 || (name === 'instances' && (!Number.isInteger(v) || v < 1)))
      throw new RangeError(`--${name} must be a number ≥ ${name === 'instances' ? 1 : 0}`);
  // An even share each; the first providers take the remainder.
  const shareOf = (n: number) =>
    Object.fromEntries(
      providers.map((p, i) => [p, Math.floor(n / providers.length) + (i < n % providers.length ? 1 : 0)]),
    ) as Record<ProviderId, number>;
  const share = shareOf(total);
  const warmShare = shareOf(warmup);

  const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-bench-'));
  // The simulators run in a child process (a provider is someone else's machine); the runtime
  // starts none of its own and its handlers reach them through FLEETFLOW_ACCOUNTS, as on Lambda.
  const host = await startSimHost();
  const runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.25,
    providers: [],
    env: {},
    logger: createLogger({ component: 'runtime' }, 'silent'),
    scheduler: false,
  });
  try {
    const hosted = {} as Record<ProviderId, HostedSimulator>;
    for (const p of providers)
      hosted[p] = await host.start(p, { seed: 42, fleetSize: 1, transitionMs: 5, operationMs: 5 });
    process.env.FLEETFLOW_ACCOUNTS = JSON.stringify(
      providers.map((p) => ({
        provider: p,
        account: 'default',
        endpoint: hosted[p].endpoint,
        credentials: hosted[p].credentials,
        // As `fleetflow start` passes the config's rate: the account's calls are paced to it.
        requestsPerSecond: rps,
      })),
    );
    const targets = Object.fromEntries(
      providers.map((p) => [p, { provider: p, account: 'default', location: hosted[p].defaultLocation }]),
    ) as Record<ProviderId, Target>;
    process.stdout.write(
      `seeding ${total} instances: ${providers.map((p) => `${share[p]} on ${p}`).join(', ')}…\n`,
    );
    const seedStart = performance.now();
    await Promise.all(
      providers.map(async (p) => {
        await seed(host, p, targets[p], share[p], 'fleet');
        if (warmShare[p] > 0) await seed(host, p, targets[p], warmShare[p], 'warmup');
      }),
    );
    process.stdout.write(`  seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s\n`);
    // Then the stated latency, rate limit and operation times.
    for (const p of providers)
      await host.configure(p, {
        latencyMs: latency,
        rateLimitRps: rps,
        operationMs: opMs,
        transitionMs: opMs,
      });

    const schedule = (set: FleetSet) => ({
      timezone: 'UTC',
      periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', stop: '18:00' }],
      targets: providers.map((p) =>
        PROVIDERS[p].capabilities.labels.supported
          ? { provider: p, labels: { bench: set } }
          : { provider: p, namePrefix: `${SET_PREFIX[set]}-` },
      ),
    });
    const config = validateConfig({
      accounts: providers.map((p) => ({
        provider: p,
        locations: [hosted[p].defaultLocation],
        requestsPerSecond: rps,
      })),
      schedules: { fleet: schedule('fleet'), warmup: schedule('warmup') },
    });
    const sfn = new SFNClient({
      endpoint: runtime.urls.sfn,
      region: 'us-east-1',
      credentials: runtime.credentials,
    });
    if (warmup > 0) {
      const t0 = performance.now();
      for (const action of ['stop', 'start'] as const) {
        const { executionArn } = await startScheduleRun({
          sfn,
          stateMachineArn: runtime.engine.stateMachineArn('power-schedule'),
          input: scheduleRunInput(config, 'warmup', action),
          name: runName('warmup', action, new Date(), true),
        });
        await runtime.engine.waitForExecution(executionArn);
      }
      // The providers' rate limits fill up again, as they are before a cold run.
      await new Promise((r) => setTimeout(r, 1500));
      process.stdout.write(
        `warm-up: stopped and started ${warmup} other instances in ${((performance.now() - t0) / 1000).toFixed(1)} s (untimed)\n`,
      );
    }
    const results: Record<string, unknown> = {};
    for (const action of ['stop', 'start'] as const) {
      const marks = await Promise.all(providers.map((p) => host.mark(p)));
      const name = runName('fleet', action, new Date(), true);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const startedAt = Date.now();
      const { executionArn } = await startScheduleRun({
        sfn,
        stateMachineArn: runtime.engine.stateMachineArn('power-schedule'),
        input: scheduleRunInput(config, 'fleet', action),
        name,
      });
      const execution = await runtime.engine.waitForExecution(executionArn);
      const wallS = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const job = await stores().jobs.require(name);
      const counts = await Promise.all(providers.map((p, i) => host.since(p, marks[i]!)));
      const calls = counts.map((c) => c.calls);
      const rateLimited = counts.reduce((n, c) => n + c.http429, 0);
      const failed = [];
      for await (const r of stores().jobs.results.all(name, { status: 'FAILED' })) failed.push(r);
      const failed429 = failed.filter((r) =>
        /RateLimit|429/.test(`${r.error?.code} ${r.error?.message}`),
      ).length;
      const executions = runExecutions(runtime.engine, executionArn, startedAt);
      const measured = measure(runtime.engine, executions);
      const phases = phasesOf(runtime.engine.getExecutionHistory(executionArn));
      const want = action === 'stop' ? 'stopped' : 'running';
      const verified = (
        await Promise.all(
          providers.map(
            async (p) =>
              (await benchInstances(p, targets[p], 'fleet')).filter((i) => i.state === want).length,
          ),
        )
      ).reduce((a, b) => a + b, 0);
      const callsPerInstance = calls.reduce((a, b) => a + b, 0) / total;
      // The bound: the slowest provider's calls at its rate limit (every call this run made counts).
      const boundS = Math.max(...calls.map((c) => c / rps), opMs / 1000);
      // The fewest calls possible (one list + one action per instance) at the rate, slowest provider.
      const minimalBoundS = Math.max(...providers.map((p) => (share[p] + 1) / rps), opMs / 1000);
      results[action] = {
        status: job.status,
        execution: execution.status,
        wallS: round(wallS),
        boundS: round(boundS),
        ratio: round(wallS / boundS),
        minimalBoundS: round(minimalBoundS),
        ratioToMinimal: round(wallS / minimalBoundS),
        callsPerInstance: round(callsPerInstance),
        transitionsPerInstance: round(measured.transitions / total),
        http429: rateLimited,
        failures: failed.length,
        failures429: failed429,
        verified,
        executions: executions.length,
        maxStatePayloadBytes: measured.maxStatePayloadBytes,
        maxHistoryEvents: measured.maxHistoryEvents,
        phasesS: phases,
        cpuS: round((cpu.user + cpu.system) / 1e6),
        rssAfterMB: Math.round(process.memoryUsage().rss / 1e6),
      };
      process.stdout.write(
        `${action} ${total} instances: ${wallS.toFixed(1)} s (job ${job.status}); bound for the calls made ${boundS.toFixed(1)} s → ratio ${(wallS / boundS).toFixed(2)}; bound for the fewest calls ${minimalBoundS.toFixed(1)} s → ratio ${(wallS / minimalBoundS).toFixed(2)} (goal ≤ 1.25)\n` +
          `  verified ${verified} of ${total} ${want}; provider calls/instance ${callsPerInstance.toFixed(2)} (goal ≤ 1.5), state transitions/instance ${(measured.transitions / total).toFixed(2)} (goal ≤ 3), 429 answers ${rateLimited}, failures ${failed.length} (from 429: ${failed429}, goal 0)\n` +
          `  phases: plan ${phases.plan} s, acting ${phases.acting} s, verifying ${phases.verifying} s, finish ${phases.finish} s; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (this process, all threads)\n` +
          `  ${executions.length} executions: largest payload ${measured.maxStatePayloadBytes} bytes (limit 262,144), largest history ${measured.maxHistoryEvents} events (limit 25,000)\n` +
          `  calls per provider: ${providers.map((p, i) => `${p} ${calls[i]} (mutations ${counts[i]!.mutations}, ${counts[i]!.mutationSpanS.toFixed(1)} s)`).join(', ')}\n`,
      );
    }
    sfn.destroy();

    // A naive sequential loop on a sample, extrapolated to the fleet: one instance at a time.
    const sample = Math.min(5, total);
    const t0 = performance.now();
    let done = 0;
    for (let i = 0; done < sample; i++) {
      const p = providers[i % providers.length]!;
      const adapter = await providerFor(targets[p]);
      const one = (await benchInstances(p, targets[p], 'fleet')).filter((x) => x.state === 'running')[
        Math.floor(i / providers.length)
      ];
      if (!one) break;
      const op = await adapter.stop(one.id);
      await waitForOperation(adapter, op, { intervalMs: 250, maxIntervalMs: 1000 });
      await waitForState(adapter, one.id, 'stopped', { intervalMs: 250, maxIntervalMs: 1000 });
      done++;
    }
    const naivePerInstance = (performance.now() - t0) / 1000 / Math.max(done, 1);
    const naiveS = naivePerInstance * total;
    const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
    process.stdout.write(
      `naive sequential loop: ${naivePerInstance.toFixed(2)} s per instance → ~${naiveS.toFixed(0)} s for ${total} (extrapolated from ${done})\n` +
        `peak RSS ${peakRssMB} MB (goal ≤ 1024)\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ bench: benchName, instances: total, providers, latencyMs: latency, rps, opMs, warmupInstances: warmup, ...results, peakRssMB, naiveSequentialS: round(naiveS) })}\n`,
    );
  } finally {
    await runtime.close();
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The measured fleet, or the warm-up's instances. */
type FleetSet = 'fleet' | 'warmup';
const SET_PREFIX: Record<FleetSet, string> = { fleet: 'bench', warmup: 'warmup' };

/** One set's instances of a provider (labelled `bench: <set>`, or by name prefix where it has no labels). */
async function benchInstances(p: ProviderId, target: Target, set: FleetSet) {
  const adapter = await providerFor(target);
  const labelled = PROVIDERS[p].capabilities.labels.supported;
  const all = await adapter.list(labelled ? { labels: { bench: set } } : {});
  return labelled ? all : all.filter((i) => i.name.startsWith(`${SET_PREFIX[set]}-`));
}

/**
 * `count` running instances: the simulator's seeding helper where it has one; else many creates
 * through the adapter, no wait per instance. Then one listing at a time until every one runs.
 */
async function seed(
  host: SimHost,
  p: ProviderId,
  target: Target,
  count: number,
  set: FleetSet,
): Promise<void> {
  const adapter = await providerFor(target);
  const spec = CONTRACT_FIXTURES[p].createSpec;
  const labels: Record<string, string> = PROVIDERS[p].capabilities.labels.supported ? { bench: set } : {};
  const prefix = `${SET_PREFIX[set]}-${p}-`;
  const seeded = await host.seed(p, { count, namePrefix: prefix, labels, location: target.location });
  let next = 0;
  const worker = async () => {
    while (seeded === null && next < count) {
      const n = next++;
      await adapter.create({
        ...spec,
        name: `${prefix}${n}`,
        labels,
        idempotencyKey: `${prefix}${n}-${Date.now()}`,
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  for (const until = Date.now() + 300_000; ; ) {
    const running = (await benchInstances(p, target, set)).filter((i) => i.state === 'running').length;
    if (running >= count) return;
    if (Date.now() > until) throw new Error(`${p}: only ${running} of ${count} seeded instances run`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The run's executions: the parent and every page child it started (same job, after the start). */
function runExecutions(engine: LocalEngine, parentArn: string, since: number): string[] {
  const jobId = parentArn.slice(parentArn.lastIndexOf(':') + 1);
  const pages = engine
    .listExecutions({ stateMachineArn: engine.stateMachineArn(POWER_SCHEDULE_PAGE_MACHINE) })
    .filter(
      (e) => e.startDate.getTime() >= since && (JSON.parse(e.input) as { jobId?: string }).jobId === jobId,
    );
  return [parentArn, ...pages.map((e) => e.executionArn)];
}

/**
 * Transitions (StateEntered events) of some executions, and the engine's own counters: the
 * largest payload any of them carried and the largest history, counted as Step Functions'
 * quotas count them.
 */
function measure(engine: LocalEngine, executions: string[]) {
  let transitions = 0;
  let maxStatePayloadBytes = 0;
  let maxHistoryEvents = 0;
  for (const arn of executions) {
    const record = engine.describeExecution(arn);
    maxHistoryEvents = Math.max(maxHistoryEvents, record.historyEventCount);
    maxStatePayloadBytes = Math.max(maxStatePayloadBytes, record.maxPayloadBytes);
    for (const e of engine.getExecutionHistory(arn)) if (e.type.endsWith('StateEntered')) transitions++;
  }
  return { transitions, maxStatePayloadBytes, maxHistoryEvents };
}

/**
 * Where a run's time went, from its history: the plan, the pages' acts (first page started to
 * last page ended, any account), verifying (from then to the last group verified), the finish.
 */
function phasesOf(history: Array<{ type: string; timestamp: Date; [k: string]: unknown }>) {
  const named = (e: (typeof history)[number]) =>
    ((e.stateEnteredEventDetails ?? e.stateExitedEventDetails) as { name?: string } | undefined)?.name ?? '';
  const at = (type: string, name: string, last = false) => {
    const found = history.filter((e) => e.type.endsWith(type) && named(e) === name);
    return (last ? found.at(-1) : found[0])?.timestamp.getTime();
  };
  const s = (from?: number, to?: number) => (from && to ? round((to - from) / 1000) : 0);
  const planEnd = at('StateExited', 'Plan run');
  const actStart = at('StateEntered', 'Run page');
  const actEnd = at('StateExited', 'Run page', true);
  const verifyEnd = at('StateEntered', 'Group verified', true);
  const finishStart = at('StateEntered', 'Finish run');
  return {
    plan: s(at('StateEntered', 'Plan run'), planEnd),
    acting: s(actStart, actEnd),
    verifying: s(actEnd, verifyEnd),
    finish: s(finishStart, at('StateExited', 'Finish run')),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
