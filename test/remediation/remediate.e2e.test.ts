import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDER_IDS, type ProviderId } from '../../functions/providers/port.ts';
import { providerDefinition } from '../../functions/providers/registry.ts';
import type { PolicyInput } from '../../functions/remediation/policy.ts';
import { policyFromInput } from '../../functions/remediation/source.ts';
import { startRemediation } from '../../functions/remediation/start.ts';
import { providerFor } from '../../functions/runtime/accounts.ts';
import type { SimulatorBase } from '../../sim/kit/index.ts';
import { CONTRACT_FIXTURES } from '../contract/fixtures.ts';
import {
  auditLine,
  createInstance,
  expectAuditComplete,
  postEvent,
  sendAlert,
  startRemediationRuntime,
  stepLine,
  targetOn,
  unhealthy,
  usePolicies,
  waitForJob,
} from './support.ts';

/**
 * Event-based remediation end to end: alerts over signed HTTP and POST /events
 * to the embedded runtime — the synthesized remediate workflow on the local engine, the real
 * handlers, dynalite and every provider's simulator; the simulators' request logs prove what was
 * (not) changed.
 */

let t: Awaited<ReturnType<typeof startRemediationRuntime>>;

beforeAll(async () => {
  t = await startRemediationRuntime();
}, 120_000);

afterAll(async () => {
  delete process.env.FLEETFLOW_POLICIES;
  await t?.close();
});

const sim = (provider: ProviderId): SimulatorBase => t.runtime.simulators[provider]!;
const mutationsSince = (provider: ProviderId, since: number) =>
  sim(provider)
    .mutations()
    .filter((m) => m.at >= since);

type Answer = {
  jobs: Array<{ policy: string; jobId: string; started: boolean }>;
  notMatching?: Array<{ policy: string; reason: string }>;
};

const REBOOT: PolicyInput = {
  name: 'reboot-unhealthy',
  mode: 'event',
  events: ['Instance Unhealthy'],
  actions: ['reboot'],
  filters: { state: 'running' },
  maxTargets: 1000,
};

describe.each(PROVIDER_IDS.map((p) => [p]))('an unhealthy instance on %s', (provider) => {
  it('is rebooted exactly once, with the steps, the verified result and the audit trail recorded', async () => {
    usePolicies([REBOOT]);
    const target = targetOn(t.runtime, provider);
    const instance = await createInstance(target, `rem-${provider}-unhealthy`);
    const since = Date.now();
    const res = await sendAlert(t.runtime, unhealthy(target, instance.id));
    expect(res.status, res.text).toBe(202);
    const answer = res.json as Answer;
    expect(answer.jobs).toHaveLength(1);
    expect(answer.jobs[0]).toMatchObject({ policy: 'reboot-unhealthy', started: true });

    const view = await waitForJob(t.runtime, answer.jobs[0]!.jobId);
    expect(view.job.status, JSON.stringify(view.job.error)).toBe('SUCCEEDED');
    expect(view.job.kind).toBe('remediation');
    expect(stepLine(view.job)).toEqual([
      'evaluate:SUCCEEDED',
      'plan:SUCCEEDED',
      '1-reboot:STARTED',
      '1-reboot:SUCCEEDED',
      'verify:SUCCEEDED',
    ]);
    expect(view.job.results[instance.id]).toMatchObject({
      status: 'SUCCEEDED',
      provider,
      instanceId: instance.id,
    });
    expect(auditLine(view)).toEqual(['reboot:ok']);
    await expectAuditComplete(view);
    expect(mutationsSince(provider, since)).toHaveLength(1);
    expect((await (await providerFor(target)).get(instance.id)).state).toBe('running');
  });
});

describe('storm control', () => {
  it('1,000 duplicate alerts for one instance start one remediation', async () => {
    usePolicies([REBOOT]);
    const target = targetOn(t.runtime, 'gcore');
    const instance = await createInstance(target, 'rem-storm');
    const since = Date.now();
    const body = unhealthy(target, instance.id);
    const jobIds = new Set<string>();
    let started = 0;
    // 1,000 deliveries (each its own webhook id, as a flapping monitor sends them), 25 at a time.
    for (let batch = 0; batch < 40; batch++) {
      const answers = await Promise.all(Array.from({ length: 25 }, () => sendAlert(t.runtime, body)));
      for (const a of answers) {
        expect(a.status, a.text).toBe(202);
        for (const j of (a.json as Answer).jobs) {
          jobIds.add(j.jobId);
          if (j.started) started++;
        }
      }
    }
    expect(jobIds.size).toBe(1);
    expect(started).toBe(1);
    const [jobId] = [...jobIds];
    const view = await waitForJob(t.runtime, jobId!);
    expect(view.job.status).toBe('SUCCEEDED');
    expect(t.runtime.engine.listExecutions().filter((e) => e.name === jobId)).toHaveLength(1);
    expect(auditLine(view)).toEqual(['reboot:ok']);
    expect(mutationsSince('gcore', since)).toHaveLength(1);
  }, 180_000);

  it('a storm that straddles a clock boundary is one remediation: the window opens at the first event', async () => {
    const raw = { ...REBOOT, name: 'reboot-straddle', dedupeWindow: '5m' };
    const loaded = { policy: policyFromInput(raw), raw };
    const target = targetOn(t.runtime, 'exoscale');
    const instance = await createInstance(target, 'rem-straddle');
    const since = Date.now();
    // The first event a second before a 5-minute boundary, its duplicates after it.
    const boundary = (Math.floor(Date.now() / 300_000) + 1) * 300_000;
    const start = (now: number) =>
      startRemediation({
        loaded,
        target,
        instanceId: instance.id,
        trigger: { type: 'event', actor: 'monitoring' },
        cause: { detailType: 'Instance Unhealthy' },
        now,
      });
    const first = await start(boundary - 1_000);
    const after = await Promise.all([boundary + 1_000, boundary + 60_000, boundary + 200_000].map(start));
    expect(first.started).toBe(true);
    expect(after.map((a) => [a.jobId, a.started])).toEqual(after.map(() => [first.jobId, false]));
    const view = await waitForJob(t.runtime, first.jobId);
    expect(view.job.status).toBe('SUCCEEDED');
    expect(mutationsSince('exoscale', since)).toHaveLength(1);
  });

  it('the cooldown stops a second remediation of the same instance, and lets it through once over', async () => {
    usePolicies([{ ...REBOOT, name: 'reboot-cooldown', dedupeWindow: '1s', cooldown: '1h' }]);
    const target = targetOn(t.runtime, 'exoscale');
    const instance = await createInstance(target, 'rem-cooldown');
    const first = (await postEvent(t.runtime, unhealthy(target, instance.id))).json as Answer;
    const firstView = await waitForJob(t.runtime, first.jobs[0]!.jobId);
    expect(firstView.job.status).toBe('SUCCEEDED');
    expect(auditLine(firstView)).toEqual(['reboot:ok']);

    // A later window: a new job, which the cooldown stops before any provider call. Windows and
    // cooldowns expire to the second (the idempotency table's expiry), so a 1 s window ends within 2 s.
    await new Promise((r) => setTimeout(r, 2100));
    const since = Date.now();
    const second = (await postEvent(t.runtime, unhealthy(target, instance.id))).json as Answer;
    expect(second.jobs[0]!.jobId).not.toBe(first.jobs[0]!.jobId);
    const view = await waitForJob(t.runtime, second.jobs[0]!.jobId);
    expect(view.job.status).toBe('SUCCEEDED');
    const result = view.job.results[instance.id]!;
    expect(result.status).toBe('SKIPPED');
    expect((result.detail as { reason: string }).reason).toMatch(
      new RegExp(`^cooldown: .* by job ${first.jobs[0]!.jobId} at `),
    );
    expect(auditLine(view)).toEqual([]);
    expect(mutationsSince('exoscale', since)).toHaveLength(0);

    // With a short cooldown, the next window acts again.
    usePolicies([{ ...REBOOT, name: 'reboot-short-cooldown', dedupeWindow: '1s', cooldown: '1s' }]);
    const a = (await postEvent(t.runtime, unhealthy(target, instance.id))).json as Answer;
    expect(auditLine(await waitForJob(t.runtime, a.jobs[0]!.jobId))).toEqual(['reboot:ok']);
    await new Promise((r) => setTimeout(r, 2100));
    const b = (await postEvent(t.runtime, unhealthy(target, instance.id))).json as Answer;
    const again = await waitForJob(t.runtime, b.jobs[0]!.jobId);
    expect(again.job.status).toBe('SUCCEEDED');
    expect(auditLine(again)).toEqual(['reboot:ok']);
  });

  it('an event-mode cap: a policy stops after maxTargets instances in the hour, loudly, touching nothing more', async () => {
    usePolicies([{ ...REBOOT, name: 'reboot-capped', maxTargets: 1 }]);
    const target = targetOn(t.runtime, 'exoscale');
    const one = await createInstance(target, 'rem-cap-1');
    const two = await createInstance(target, 'rem-cap-2');
    const a = (await postEvent(t.runtime, unhealthy(target, one.id))).json as Answer;
    expect((await waitForJob(t.runtime, a.jobs[0]!.jobId)).job.status).toBe('SUCCEEDED');
    const since = Date.now();
    const b = (await postEvent(t.runtime, unhealthy(target, two.id))).json as Answer;
    const view = await waitForJob(t.runtime, b.jobs[0]!.jobId);
    expect(view.job.status).toBe('FAILED');
    expect(view.job.error).toMatchObject({
      code: 'CapExceeded',
      message: expect.stringMatching(/cap of 1 instances this hour.*nothing was changed/),
    });
    expect(mutationsSince('exoscale', since)).toHaveLength(0);
  });
});

describe('dry run', () => {
  it.each(PROVIDER_IDS.map((p) => [p]))(
    'on %s records the plan and changes nothing at the provider',
    async (provider) => {
      const def = providerDefinition(provider);
      usePolicies([
        {
          name: 'dry-everything',
          mode: 'event',
          events: ['Drift Detected'],
          dryRun: true,
          actions: [
            'snapshot',
            'stop',
            { scale: { to: CONTRACT_FIXTURES[def.id].scaleTo } },
            { 'set-labels': { fixed: 'yes' } },
            'protect',
            'delete',
          ],
        },
      ]);
      const target = targetOn(t.runtime, provider);
      const instance = await createInstance(target, `rem-${provider}-dry`);
      const since = Date.now();
      const res = await sendAlert(t.runtime, unhealthy(target, instance.id, 'Drift Detected'));
      const view = await waitForJob(t.runtime, (res.json as Answer).jobs[0]!.jobId);
      expect(view.job.status).toBe('SUCCEEDED');
      expect(stepLine(view.job)).toEqual(['evaluate:SUCCEEDED', 'plan:SUCCEEDED']);
      const result = view.job.results[instance.id]!;
      expect(result).toMatchObject({ status: 'SKIPPED', detail: { dryRun: true } });
      const plan = (result.detail as { plan: string[] }).plan;
      expect(plan.length).toBeGreaterThanOrEqual(6);
      // Capabilities are reported in the plan, not attempted.
      if (!def.capabilities.snapshot.supported) expect(plan[0]).toMatch(/skip \(cloudca cannot snapshot/);
      if (!def.capabilities.scale.supported)
        expect(plan.join('\n')).toMatch(/scale: skip \(genesiscloud cannot scale/);
      expect(plan.at(-1)).toMatch(
        def.capabilities.snapshot.supported ? /delete/ : /delete: skip \(delete is held back: no snapshot/,
      );
      expect(view.audit).toEqual([]);
      expect(mutationsSince(provider, since)).toEqual([]);
    },
  );
});

describe('failures end the job with a reason', () => {
  it('a failing provider operation: FAILED, reason, audit complete', async () => {
    usePolicies([REBOOT]);
    const target = targetOn(t.runtime, 'exoscale');
    const instance = await createInstance(target, 'rem-opfail');
    sim('exoscale').faults.failOperations = 1;
    const res = await sendAlert(t.runtime, unhealthy(target, instance.id));
    const view = await waitForJob(t.runtime, (res.json as Answer).jobs[0]!.jobId);
    expect(view.job.status).toBe('FAILED');
    expect(view.job.error?.code).toBe('ProviderOperationFailedError');
    expect(view.job.error?.message).toMatch(
      /^1-reboot failed at exoscale: .+ — the provider reported the operation as failed/,
    );
    expect(view.job.results[instance.id]).toMatchObject({
      status: 'FAILED',
      error: { code: 'ProviderOperationFailedError' },
    });
    expect(auditLine(view)).toEqual(['reboot:ok']);
    await expectAuditComplete(view);
  });

  it('a policy error after an action ran: PARTIAL, the reason names the bad type, audit complete', async () => {
    usePolicies([
      {
        name: 'bad-scale',
        mode: 'event',
        events: ['Drift Detected'],
        actions: ['reboot', { scale: { to: 'no-such-type' } }],
      },
    ]);
    const target = targetOn(t.runtime, 'gcore');
    const instance = await createInstance(target, 'rem-bad-scale');
    const res = await sendAlert(t.runtime, unhealthy(target, instance.id, 'Drift Detected'));
    const view = await waitForJob(t.runtime, (res.json as Answer).jobs[0]!.jobId);
    expect(view.job.status).toBe('PARTIAL');
    expect(view.job.error?.code).toBe('ProviderNotFoundError');
    expect(view.job.error?.message).toMatch(/no-such-type/);
    expect(stepLine(view.job)).toEqual([
      'evaluate:SUCCEEDED',
      'plan:SUCCEEDED',
      '1-reboot:STARTED',
      '1-reboot:SUCCEEDED',
    ]);
    await expectAuditComplete(view);
  });

  it('a policy error before anything ran: FAILED with the reason, no provider call', async () => {
    usePolicies([
      {
        name: 'bad-first',
        mode: 'event',
        events: ['Drift Detected'],
        actions: [{ scale: { to: 'no-such-type' } }],
      },
    ]);
    const target = targetOn(t.runtime, 'gcore');
    const instance = await createInstance(target, 'rem-bad-first');
    const since = Date.now();
    const res = await sendAlert(t.runtime, unhealthy(target, instance.id, 'Drift Detected'));
    const view = await waitForJob(t.runtime, (res.json as Answer).jobs[0]!.jobId);
    expect(view.job.status).toBe('FAILED');
    expect(view.job.error?.message).toMatch(/no-such-type/);
    await expectAuditComplete(view);
    expect(mutationsSince('gcore', since)).toEqual([]);
  });

  it('invalid policies: the alert is refused with the reason (500), nothing starts', async () => {
    process.env.FLEETFLOW_POLICIES = JSON.stringify([
      { name: 'Bad Name', mode: 'event', actions: ['delete'] },
    ]);
    const target = targetOn(t.runtime, 'exoscale');
    const res = await sendAlert(t.runtime, unhealthy(target, 'whatever'));
    expect(res.status).toBe(500);
    expect(res.json).toEqual({
      error: {
        code: 'policies-invalid',
        message: expect.stringMatching(/^FLEETFLOW_POLICIES: policies\.0\.name: /),
      },
    });
  });
});

describe('matching', () => {
  it('reads the instance fresh: an event about an instance the filters reject is recorded as skipped, with the reasons', async () => {
    usePolicies([
      {
        ...REBOOT,
        name: 'reboot-prod',
        filters: { all: [{ state: 'running' }, { labels: { env: 'prod' } }] },
      },
    ]);
    const target = targetOn(t.runtime, 'exoscale');
    const instance = await createInstance(target, 'rem-not-prod', { labels: { env: 'dev' } });
    const since = Date.now();
    const res = await postEvent(t.runtime, unhealthy(target, instance.id));
    const view = await waitForJob(t.runtime, (res.json as Answer).jobs[0]!.jobId);
    expect(view.job.status).toBe('SUCCEEDED');
    expect((view.job.results[instance.id]!.detail as { reason: string }).reason).toMatch(
      /filters do not match: .*label env=dev in \[prod\]/,
    );
    expect(mutationsSince('exoscale', since)).toEqual([]);
  });

  it('policies scoped to another provider or detail-type start nothing', async () => {
    usePolicies([{ ...REBOOT, filters: { provider: 'gcore' } }]);
    const target = targetOn(t.runtime, 'exoscale');
    const res = await postEvent(t.runtime, unhealthy(target, 'some-id'));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({
      jobs: [],
      notMatching: [
        { policy: 'reboot-unhealthy', reason: expect.stringMatching(/provider exoscale in \[gcore\]/) },
      ],
    });
    const other = await postEvent(t.runtime, unhealthy(target, 'some-id', 'Something Else'));
    expect(other.json).toEqual({ jobs: [] });
  });

  it('refuses an alert with a bad signature (401) and a malformed event (422)', async () => {
    usePolicies([REBOOT]);
    const target = targetOn(t.runtime, 'exoscale');
    const bad = await sendAlert(t.runtime, unhealthy(target, 'x'), {
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    });
    expect(bad.status).toBe(401);
    const malformed = await sendAlert(t.runtime, {
      'detail-type': 'Instance Unhealthy',
      detail: { provider: 'nope' },
    });
    expect(malformed.status).toBe(422);
  });
});
