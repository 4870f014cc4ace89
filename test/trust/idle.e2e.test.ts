import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPolicies } from '../../cli/commands/policy.ts';
import { ConfigError, validateConfig } from '../../functions/config/load.ts';
import { createLogger } from '../../functions/log.ts';
import type { Instance, ProviderId } from '../../functions/providers/port.ts';
import { PolicyError } from '../../functions/remediation/policy.ts';
import { policySetFrom } from '../../functions/remediation/source.ts';
import { startSweep } from '../../functions/remediation/start.ts';
import { providerFor } from '../../functions/runtime/accounts.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { createInstance, targetOn, waitForJob } from '../remediation/support.ts';
import { runCli } from '../support/cli.ts';

/**
 * Idle stops end to end on the local engine with the simulators: a periodic policy with an idle
 * filter sweeps Gcore (the provider's metric history) and Exoscale v1 (its counters, sampled at
 * each sweep); the idle instances are stopped, the busy ones are not, a dry run stops nothing, and
 * a policy that reaches Genesis Cloud (no metrics) is refused with the reason.
 */

let runtime: Runtime;
let dataDir: string;
const PROVIDERS_UNDER_TEST: ProviderId[] = ['gcore', 'exoscale-v1'];
const instances: Record<string, Instance> = {};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-idle-'));
  runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20, fleetSize: 1, metricsStepMs: 100 },
    providers: ['gcore', 'exoscale-v1', 'genesiscloud'],
    env: {},
    logger: createLogger({ level: 'silent' }),
    scheduler: false,
  });
  for (const provider of PROVIDERS_UNDER_TEST) {
    const target = targetOn(runtime, provider);
    for (const [name, load] of [
      ['idle', 'idle'],
      ['busy', 'busy'],
      ['dry', 'idle'],
    ] as const) {
      const instance = await createInstance(target, `${name}-${provider}`);
      runtime.simulators[provider]!.setLoad(instance.id, load);
      instances[`${name}-${provider}`] = instance;
    }
  }
}, 120_000);

afterAll(async () => {
  await runtime?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const idle = { cpuBelow: '5%', networkBelowKBps: 10, for: '2s' };

function policy(name: string, names: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    mode: 'periodic',
    every: '1s',
    scope: PROVIDERS_UNDER_TEST.map((provider) => ({
      provider,
      account: 'default',
      locations: [runtime.simulators[provider]!.defaultLocation],
    })),
    filters: { name: names, state: 'running', idle },
    actions: ['stop'],
    maxTargets: 4,
    ...extra,
  };
}

/** One sweep through the sweep workflow; its job once finished. */
async function sweep(doc: Record<string, unknown>) {
  const [loaded] = policySetFrom({ policies: [doc] }).policies;
  const { executionArn } = await startSweep({
    loaded: loaded!,
    scope: loaded!.policy.scope,
    trigger: { type: 'test', actor: 'vitest' },
  });
  const execution = await runtime.engine.waitForExecution(executionArn!);
  expect(execution.status, execution.cause).toBe('SUCCEEDED');
  const { jobId } = (JSON.parse(execution.output!) as { sweep: { jobId: string } }).sweep;
  return waitForJob(runtime, jobId);
}

type SweepView = Awaited<ReturnType<typeof sweep>>;

/**
 * Sweeps once a second (one sweep job per window) until each of `ids` was matched by one of the
 * sweeps (Gcore's history covers the window before Exoscale v1 has two samples); every sweep's
 * view, and for each id the sweep that matched it.
 */
async function sweepUntil(doc: Record<string, unknown>, ids: string[], attempts = 8) {
  const views: SweepView[] = [];
  const matchedBy = new Map<string, SweepView>();
  for (let i = 0; i < attempts && matchedBy.size < ids.length; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1100));
    const view = await sweep(doc);
    views.push(view);
    for (const id of ids) if (view.job.results[id] && !matchedBy.has(id)) matchedBy.set(id, view);
  }
  if (matchedBy.size < ids.length)
    throw new Error(`${String(doc.name)}: not every instance matched in ${attempts} sweeps`);
  return { views, matchedBy };
}

const remediationOf = (view: SweepView, id: string) =>
  waitForJob(runtime, (view.job.results[id]!.detail as { remediationJobId: string }).remediationJobId);

const state = async (key: string) => {
  const i = instances[key]!;
  return (await (await providerFor(targetOn(runtime, i.provider))).get(i.id)).state;
};

describe('an idle-stop policy', () => {
  it('a dry run finds the idle instances, records the plan, and stops nothing', async () => {
    const mutations = () => PROVIDERS_UNDER_TEST.flatMap((p) => runtime.simulators[p]!.mutations());
    const before = mutations().length;
    const ids = PROVIDERS_UNDER_TEST.map((p) => instances[`dry-${p}`]!.id);
    const { matchedBy } = await sweepUntil(policy('idle-dry', 'dry-*', { dryRun: true }), ids);
    for (const provider of PROVIDERS_UNDER_TEST) {
      const id = instances[`dry-${provider}`]!.id;
      const child = await remediationOf(matchedBy.get(id)!, id);
      expect(child.job.results[id]).toMatchObject({
        status: 'SKIPPED',
        detail: { reason: 'dry run: the plan is recorded, nothing was changed' },
      });
      expect(await state(`dry-${provider}`)).toBe('running');
    }
    expect(mutations().length).toBe(before);
  }, 60_000);

  it('stops the idle Gcore and Exoscale v1 instances and leaves the busy ones running', async () => {
    const ids = PROVIDERS_UNDER_TEST.map((p) => instances[`idle-${p}`]!.id);
    const { views, matchedBy } = await sweepUntil(policy('idle-stop', '/^(idle|busy)-.*/'), ids);
    for (const provider of PROVIDERS_UNDER_TEST) {
      const id = instances[`idle-${provider}`]!.id;
      // The figures the filter used, as the matching sweep recorded them.
      const usage = (matchedBy.get(id)!.job.steps[0]!.detail as { usage: string[] }).usage;
      expect(usage.find((l) => l.startsWith(`idle-${provider}:`))).toMatch(
        new RegExp(
          `✓ idle for 2s \\(cpu < 5%, network < 10 KiB/s\\): cpu max 1\\.5%, network max \\d(\\.\\d+)? KiB/s \\(\\d+ samples? covering 2s of 2s, ${provider === 'gcore' ? 'provider history' : 'sampled at each sweep'}\\)`,
        ),
      );
      const child = await remediationOf(matchedBy.get(id)!, id);
      expect(child.job.status, JSON.stringify(child.job.error)).toBe('SUCCEEDED');
      expect(child.job.results[id]!.status).toBe('SUCCEEDED');
      expect(await state(`idle-${provider}`)).toBe('stopped');
    }
    // The busy ones: read, explained, never matched, still running.
    for (const provider of PROVIDERS_UNDER_TEST) {
      const busy = instances[`busy-${provider}`]!.id;
      for (const view of views) expect(view.job.results[busy]).toBeUndefined();
      const usage = (views.at(-1)!.job.steps[0]!.detail as { usage: string[] }).usage;
      expect(usage.find((l) => l.startsWith(`busy-${provider}:`))).toMatch(/✗ idle for 2s.*cpu max 42%/);
      expect(await state(`busy-${provider}`)).toBe('running');
    }
  }, 60_000);

  it('`report savings` counts the idle stops apart (the dry run is not one)', async () => {
    const r = await runCli(
      'report',
      'savings',
      '--endpoint',
      runtime.urls.dynamodb,
      '--data-dir',
      dataDir,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      totals: { idleStops: number };
      idleStops: Array<{ policy: string; instance: string; idle: string }>;
    };
    expect(report.totals.idleStops).toBe(2);
    expect(report.idleStops.map((s) => s.instance).sort()).toEqual(
      PROVIDERS_UNDER_TEST.map((p) => instances[`idle-${p}`]!.id).sort(),
    );
    for (const s of report.idleStops) {
      expect(s.policy).toBe('idle-stop');
      expect(s.idle).toMatch(/^idle for 2s \(cpu < 5%, network < 10 KiB\/s\): cpu max 1\.5%/);
    }
    const text = await runCli(
      'report',
      'savings',
      '--endpoint',
      runtime.urls.dynamodb,
      '--data-dir',
      dataDir,
    );
    expect(text.stdout).toContain('idle stops in');
    expect(text.stdout).toContain('2 instance(s) stopped by idle policies');
  });

  it('`policy check` explains the idle filter per instance with the figures it used', async () => {
    const file = join(dataDir, 'check.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        accounts: [{ provider: 'gcore', locations: [targetOn(runtime, 'gcore').location] }],
        policies: [policy('idle-check', 'busy-*')].map(({ scope: _s, ...p }) => ({
          ...p,
          filters: { provider: 'gcore', name: 'busy-*', idle },
        })),
      }),
    );
    const simulators = Object.fromEntries(
      Object.entries(runtime.simulators).map(([id, sim]) => [id, sim.describe()]),
    );
    writeFileSync(join(dataDir, 'simulators.json'), JSON.stringify(simulators));
    const r = await checkPolicies({
      config: file,
      provider: 'gcore',
      account: 'default',
      location: targetOn(runtime, 'gcore').location,
      instance: instances['busy-gcore']!.id,
      dataDir,
    });
    const [explanation] = r.explanations;
    expect(explanation!.policies[0]!.match).toBe(false);
    expect(explanation!.policies[0]!.reasons.find((x) => x.includes('idle for'))).toMatch(
      /^✗ idle for 2s \(cpu < 5%, network < 10 KiB\/s\): cpu max 42%, network max 180 KiB\/s \(\d+ samples covering 2s of 2s, provider history\)$/,
    );
  });
});

describe('a provider without metrics', () => {
  const genesisPolicy = {
    name: 'idle-genesis',
    mode: 'periodic',
    scope: [{ provider: 'genesiscloud', locations: ['ARC-IS-HAF-1'] }],
    filters: { idle },
    actions: ['stop'],
  };

  it('is refused by `policy check` and by the config, with the reason', async () => {
    const file = join(dataDir, 'genesis.json');
    writeFileSync(
      file,
      JSON.stringify({
        accounts: [{ provider: 'genesiscloud', locations: ['ARC-IS-HAF-1'] }],
        policies: [genesisPolicy],
      }),
    );
    const reason =
      /policy idle-genesis: its idle filter needs instance metrics, and genesiscloud has none \(Genesis Cloud's API reports no usage figures for an instance\); narrow the policy to providers with metrics \(exoscale-v1, gcore\)/;
    await expect(checkPolicies({ config: file, account: 'default', dataDir })).rejects.toThrow(reason);
    await expect(checkPolicies({ config: file, account: 'default', dataDir })).rejects.toBeInstanceOf(
      PolicyError,
    );
    expect(() =>
      validateConfig({
        accounts: [{ provider: 'genesiscloud', locations: ['ARC-IS-HAF-1'] }],
        policies: [genesisPolicy],
      }),
    ).toThrow(ConfigError);
  });
});
