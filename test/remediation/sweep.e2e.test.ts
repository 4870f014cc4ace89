import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPolicies } from '../../cli/commands/policy.ts';
import { PROVIDER_IDS, type ProviderId } from '../../functions/providers/port.ts';
import { providerDefinition } from '../../functions/providers/registry.ts';
import { policySetFrom } from '../../functions/remediation/source.ts';
import { startSweep } from '../../functions/remediation/start.ts';
import { providerFor } from '../../functions/runtime/accounts.ts';
import { CONTRACT_FIXTURES } from '../contract/fixtures.ts';
import {
  auditLine,
  createInstance,
  expectAuditComplete,
  startRemediationRuntime,
  stepLine,
  targetOn,
  waitForJob,
} from './support.ts';

/**
 * Periodic sweeps end to end: a drift sweep scaling down oversized instances
 * within the cap on every provider (skipped with the reason where the provider cannot scale), a
 * sweep over its cap touching nothing, and `fleetflow policy check` explaining the same policies.
 */

let t: Awaited<ReturnType<typeof startRemediationRuntime>>;

beforeAll(async () => {
  t = await startRemediationRuntime();
}, 120_000);

afterAll(async () => {
  await t?.close();
});

const mutationsSince = (provider: ProviderId, since: number) =>
  t.runtime.simulators[provider]!.mutations().filter((m) => m.at >= since);

function downsizePolicy(provider: ProviderId, extra: Record<string, unknown> = {}) {
  const def = providerDefinition(provider);
  const target = targetOn(t.runtime, provider);
  return {
    name: `downsize-${provider}`,
    mode: 'periodic',
    every: '1h',
    scope: [{ provider, account: 'default', locations: [target.location] }],
    filters: { name: `drift-${provider}-*`, type: CONTRACT_FIXTURES[def.id].scaleTo },
    actions: [{ scale: { to: CONTRACT_FIXTURES[def.id].createSpec.type } }],
    maxTargets: 2,
    ...extra,
  };
}

/** Runs one sweep through the sweep workflow and returns its job id once the execution ended. */
async function sweep(policyDoc: Record<string, unknown>): Promise<string> {
  const [loaded] = policySetFrom({ policies: [policyDoc] }).policies;
  const { executionArn } = await startSweep({
    loaded: loaded!,
    scope: loaded!.policy.scope,
    trigger: { type: 'test', actor: 'vitest' },
  });
  for (;;) {
    const execution = t.runtime.engine.listExecutions().find((e) => e.executionArn === executionArn);
    if (execution && execution.status !== 'RUNNING') {
      expect(execution.status, execution.cause).toBe('SUCCEEDED');
      return (JSON.parse(execution.output!) as { sweep: { jobId: string } }).sweep.jobId;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(PROVIDER_IDS.map((p) => [p]))('a drift sweep on %s', (provider) => {
  it('scales the oversized instances down within the cap, or records why it cannot', async () => {
    const def = providerDefinition(provider);
    const target = targetOn(t.runtime, provider);
    const big = [
      await createInstance(target, `drift-${provider}-1`, { type: CONTRACT_FIXTURES[def.id].scaleTo }),
      await createInstance(target, `drift-${provider}-2`, { type: CONTRACT_FIXTURES[def.id].scaleTo }),
    ];
    const right = await createInstance(target, `drift-${provider}-3`);
    const since = Date.now();

    const sweepView = await waitForJob(t.runtime, await sweep(downsizePolicy(provider)));
    expect(sweepView.job.status, JSON.stringify(sweepView.job.error)).toBe('SUCCEEDED');
    expect(sweepView.job.steps[0]!.detail).toMatchObject({ matched: 2, cap: 2 });
    expect(Object.keys(sweepView.job.results).sort()).toEqual(big.map((i) => i.id).sort());
    expect(sweepView.job.results[right.id]).toBeUndefined();

    for (const instance of big) {
      const childId = (sweepView.job.results[instance.id]!.detail as { remediationJobId: string })
        .remediationJobId;
      const child = await waitForJob(t.runtime, childId);
      expect(child.job.status, JSON.stringify(child.job.error)).toBe('SUCCEEDED');
      const now = await (await providerFor(target)).get(instance.id);
      if (def.capabilities.scale.supported) {
        expect(now.type).toBe(CONTRACT_FIXTURES[def.id].createSpec.type);
        expect(now.state).toBe('running');
        expect(child.job.results[instance.id]!.status).toBe('SUCCEEDED');
        expect(auditLine(child).filter((a) => a.startsWith('scale'))).toEqual(['scale:ok']);
        expect(stepLine(child.job).at(-1)).toBe('verify:SUCCEEDED');
        await expectAuditComplete(child);
      } else {
        expect(now.type).toBe(CONTRACT_FIXTURES[def.id].scaleTo);
        expect(child.job.results[instance.id]!.status).toBe('SKIPPED');
        expect((child.job.results[instance.id]!.detail as { reason: string }).reason).toMatch(
          new RegExp(`^nothing to do: 1-scale: ${provider} cannot scale`),
        );
        expect(child.audit).toEqual([]);
      }
    }
    if (!def.capabilities.scale.supported) expect(mutationsSince(provider, since)).toEqual([]);
    expect((await (await providerFor(target)).get(right.id)).type).toBe(
      CONTRACT_FIXTURES[def.id].createSpec.type,
    );
  });
});

describe('the blast-radius cap', () => {
  it('a sweep matching more than its cap acts on none and fails loudly', async () => {
    const provider = 'exoscale-v1';
    const def = providerDefinition(provider);
    const target = targetOn(t.runtime, provider);
    await createInstance(target, 'wide-1', { type: CONTRACT_FIXTURES[def.id].scaleTo });
    await createInstance(target, 'wide-2', { type: CONTRACT_FIXTURES[def.id].scaleTo });
    const since = Date.now();
    const view = await waitForJob(
      t.runtime,
      await sweep({
        ...downsizePolicy(provider),
        name: 'too-wide',
        filters: { name: 'wide-*' },
        actions: ['reboot'],
        maxTargets: '10%',
      }),
    );
    expect(view.job.status).toBe('FAILED');
    expect(view.job.error).toEqual({
      code: 'CapExceeded',
      message: expect.stringMatching(
        /^policy too-wide matched 2 of \d+ instances, over its cap of [01] \(maxTargets 10%\): acted on none/,
      ),
    });
    expect(Object.values(view.job.results).map((r) => r.status)).toEqual(['SKIPPED', 'SKIPPED']);
    expect(mutationsSince(provider, since)).toEqual([]);
  });

  it('a dry-run sweep records the plans and changes nothing', async () => {
    const provider = 'gcore';
    const def = providerDefinition(provider);
    const target = targetOn(t.runtime, provider);
    const a = await createInstance(target, 'dry-sweep-1', { type: CONTRACT_FIXTURES[def.id].scaleTo });
    const since = Date.now();
    const view = await waitForJob(
      t.runtime,
      await sweep({
        ...downsizePolicy(provider),
        name: 'dry-sweep',
        filters: { name: 'dry-sweep-*' },
        dryRun: true,
      }),
    );
    expect(view.job.status).toBe('SUCCEEDED');
    const child = await waitForJob(
      t.runtime,
      (view.job.results[a.id]!.detail as { remediationJobId: string }).remediationJobId,
    );
    expect(child.job.results[a.id]).toMatchObject({
      status: 'SKIPPED',
      detail: { dryRun: true, plan: ['1-scale: scale to g1-standard-1-2'] },
    });
    expect(mutationsSince(provider, since)).toEqual([]);
  });
});

describe('fleetflow policy check', () => {
  it('validates the file and explains, per instance, which policies match and what they would do', async () => {
    const provider = 'exoscale';
    const def = providerDefinition(provider);
    const target = targetOn(t.runtime, provider);
    const instance = await createInstance(target, 'check-me', {
      type: CONTRACT_FIXTURES[def.id].scaleTo,
      labels: { env: 'prod' },
    });
    const file = join(tmpdir(), `fleetflow-policy-check-${process.pid}.yaml`);
    writeFileSync(
      file,
      [
        'policies:',
        '  - name: downsize',
        '    mode: periodic',
        '    filters: { type: standard.medium }',
        '    actions: [{ scale: { to: standard.small } }]',
        '  - name: protect-prod',
        '    mode: event',
        '    events: [Drift Detected]',
        '    filters: { all: [{ labels: { env: prod } }, { protected: false }] }',
        '    actions: [protect, notify]',
        '  - name: only-gcore',
        '    mode: event',
        '    events: [Instance Unhealthy]',
        '    filters: { provider: gcore }',
        '    actions: [reboot]',
      ].join('\n'),
    );
    const sim = t.runtime.simulators[provider]!;
    const saved = { ...process.env };
    Object.assign(process.env, {
      EXOSCALE_API_KEY: sim.credentials.apiKey,
      EXOSCALE_API_SECRET: sim.credentials.apiSecret,
    });
    const since = Date.now();
    try {
      const r = await checkPolicies({
        config: file,
        provider,
        account: 'default',
        location: target.location,
        endpoint: sim.endpoint(target.location),
        instance: instance.id,
      });
      expect(r.set.policies.map((p) => p.policy.name)).toEqual(['downsize', 'protect-prod', 'only-gcore']);
      expect(r.explanations).toHaveLength(1);
      const [e] = r.explanations;
      expect(e!.policies.map((p) => [p.policy, p.match, p.plan])).toEqual([
        [
          'downsize',
          true,
          ['1-scale-stop: stop', '1-scale: scale to standard.small', '1-scale-start: start'],
        ],
        ['protect-prod', true, ['1-protect: protection', '2-notify: notify']],
        ['only-gcore', false, undefined],
      ]);
      expect(e!.policies[2]!.reasons).toEqual(['✗ provider exoscale in [gcore]']);
    } finally {
      process.env.EXOSCALE_API_KEY = saved.EXOSCALE_API_KEY;
      process.env.EXOSCALE_API_SECRET = saved.EXOSCALE_API_SECRET;
      if (saved.EXOSCALE_API_KEY === undefined) delete process.env.EXOSCALE_API_KEY;
      if (saved.EXOSCALE_API_SECRET === undefined) delete process.env.EXOSCALE_API_SECRET;
    }
    expect(mutationsSince(provider, since)).toEqual([]);
    writeFileSync(file, 'policies:\n  - name: x\n    mode: event\n    actions: [delete]\n');
    await expect(checkPolicies({ config: file, account: 'default' })).rejects.toThrow(
      /policies\.0\.events: an event-mode policy names the events/,
    );
  });
});
