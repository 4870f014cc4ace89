import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDER_IDS, type ProviderId } from '../../functions/providers/port.ts';
import { providerDefinition } from '../../functions/providers/registry.ts';
import { jobIdFor } from '../../functions/provisioning/start.ts';
import { providerFor } from '../../functions/runtime/accounts.ts';
import { generateSecret } from '../../functions/webhooks/standard-webhooks.ts';
import type { SimulatorBase } from '../../sim/kit/index.ts';
import {
  auditLine,
  expectCompleteAudit,
  httpGet,
  instancesNamed,
  type JobView,
  liveInstancesNamed,
  provision,
  requestFor,
  sendWebhook,
  stepLine,
  targetFor,
  waitForJob,
  webhookId,
} from './support/flow.ts';
import { LambdaCrash, startTestRuntime, type TestRuntime } from './support/runtime.ts';

/**
 * Webhook-triggered provisioning end to end: signed webhooks over real HTTP to
 * the embedded runtime — the synthesized state machine on the local engine, the real handlers,
 * dynalite, and each provider's simulator — with the job read back through GET /jobs/{id}.
 */

let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime();
}, 120_000);

afterAll(async () => {
  await t?.close();
});

const sim = (provider: ProviderId): SimulatorBase => {
  const s = t.runtime.simulators[provider];
  if (!s) throw new Error(`no simulator for ${provider}`);
  return s;
};

/** The steps a successful flow records for a provider, as its declared capabilities say. */
function expectedSteps(provider: ProviderId): string[] {
  const caps = providerDefinition(provider).capabilities;
  const steps = ['validate:SUCCEEDED', 'create:STARTED', 'create:SUCCEEDED'];
  if (caps.snapshot.supported) steps.push('snapshot:STARTED', 'snapshot:SUCCEEDED');
  if (!caps.scale.supported) steps.push('scale:SKIPPED');
  else if (caps.scale.requiresState?.includes('stopped'))
    steps.push(
      'scale-stop:STARTED',
      'scale-stop:SUCCEEDED',
      'scale:STARTED',
      'scale:SUCCEEDED',
      'scale-start:STARTED',
      'scale-start:SUCCEEDED',
    );
  else steps.push('scale:STARTED', 'scale:SUCCEEDED');
  return steps;
}

function expectedAudit(provider: ProviderId): string[] {
  const caps = providerDefinition(provider).capabilities;
  const actions = ['create:ok'];
  if (caps.snapshot.supported) actions.push('snapshot:ok');
  if (caps.scale.supported) {
    if (caps.scale.requiresState?.includes('stopped')) actions.push('stop:ok', 'scale:ok', 'start:ok');
    else actions.push('scale:ok');
  }
  return actions;
}

/** The one instance a successful job made: recorded in the job, running, and the only one of its name. */
async function expectProvisioned(view: JobView, request: Record<string, unknown>): Promise<string> {
  const provider = request.provider as ProviderId;
  const results = Object.values(view.job.results);
  expect(results).toHaveLength(1);
  const result = results[0]!;
  expect(result).toMatchObject({ status: 'SUCCEEDED', provider });
  const instanceId = result.instanceId!;
  expect(instanceId).toBeTruthy();
  expect(Object.keys(view.job.results)).toEqual([instanceId]);
  if (request.snapshot) expect((result.detail as { snapshotId?: string }).snapshotId).toBeTruthy();

  const target = targetFor(request);
  const instance = await (await providerFor(target)).get(instanceId);
  expect(instance.state).toBe('running');
  const def = providerDefinition(provider);
  const expectedType = request.scaleTo && def.capabilities.scale.supported ? request.scaleTo : request.type;
  expect(instance.type).toBe(expectedType);
  const twins = await instancesNamed(target, request.name as string);
  expect(twins.map((i) => i.id)).toEqual([instanceId]);
  return instanceId;
}

describe.each(PROVIDER_IDS.map((p) => [p]))('happy path on %s', (provider) => {
  it('provisions, snapshots and scales as the provider declares, and records every step', async () => {
    const request = requestFor(provider, sim(provider), { name: `e2e-${provider}-happy` });
    const jobId = await provision(t.runtime, request);
    const view = await waitForJob(t.runtime, jobId);

    expect(view.job.status, JSON.stringify(view.job.error)).toBe('SUCCEEDED');
    expect(stepLine(view.job)).toEqual(expectedSteps(provider));
    const caps = providerDefinition(provider).capabilities;
    const validate = view.job.steps[0]!.detail as { scalePlan: { mode: string } };
    expect(validate.scalePlan.mode).toBe(
      !caps.scale.supported
        ? 'skip'
        : caps.scale.requiresState?.includes('stopped')
          ? 'stop-first'
          : 'direct',
    );
    if (!caps.scale.supported) {
      const skipped = view.job.steps.find((s) => s.status === 'SKIPPED')!;
      expect((skipped.detail as { reason: string }).reason).toMatch(
        new RegExp(`^${provider} cannot change an instance's type`),
      );
    }
    expect(view.job.error).toBeUndefined();
    expect(auditLine(view)).toEqual(expectedAudit(provider));
    await expectCompleteAudit(view);
    await expectProvisioned(view, request);
  });
});

describe('redelivery', () => {
  it('answers the same webhook again with the same job and never builds a second instance', async () => {
    const request = requestFor('exoscale', sim('exoscale'), { name: 'e2e-redelivery' });
    const id = webhookId('redelivery');
    const jobId = await provision(t.runtime, request, id);
    // While the first delivery runs, and again after it ended.
    const again = await sendWebhook(t.runtime, request, { id });
    expect(again.status, again.text).toBe(202);
    expect(again.json).toEqual({ jobId, statusUrl: `/jobs/${jobId}` });
    const view = await waitForJob(t.runtime, jobId);
    const late = await sendWebhook(t.runtime, request, { id });
    expect(late.status, late.text).toBe(202);
    expect((late.json as { jobId: string }).jobId).toBe(jobId);

    expect(view.job.status).toBe('SUCCEEDED');
    expect(t.runtime.engine.listExecutions().filter((e) => e.name === jobId)).toHaveLength(1);
    expect(auditLine(view).filter((a) => a.startsWith('create:'))).toEqual(['create:ok']);
    await expectCompleteAudit(view);
    await expectProvisioned(view, request);
  });

  it('refuses the same webhook id with a different body (409) and starts nothing for it', async () => {
    const request = requestFor('exoscale', sim('exoscale'), { name: 'e2e-reused-id' });
    const id = webhookId('reused');
    const jobId = await provision(t.runtime, request, id);
    const conflict = await sendWebhook(t.runtime, { ...request, name: 'e2e-reused-id-other' }, { id });
    expect(conflict.status, conflict.text).toBe(409);
    expect(conflict.json).toEqual({
      error: { code: 'webhook-id-reused', message: expect.stringMatching(/different body/) },
    });

    const view = await waitForJob(t.runtime, jobId);
    expect(view.job.status).toBe('SUCCEEDED');
    expect((view.job.request as { name: string }).name).toBe('e2e-reused-id');
    expect(await liveInstancesNamed(targetFor(request), 'e2e-reused-id-other')).toEqual([]);
    expect(t.runtime.engine.listExecutions().filter((e) => e.name === jobId)).toHaveLength(1);
  });
});

describe.each(PROVIDER_IDS.map((p) => [p]))('provider storms on %s', (provider) => {
  it.each([
    ['5xx', 'serverErrors', 503],
    ['429', 'rateLimited', 429],
  ] as const)(
    'a %s storm at the provider is ridden out: SUCCEEDED, one instance',
    async (label, fault, status) => {
      const s = sim(provider);
      const request = requestFor(provider, s, { name: `e2e-${provider}-storm-${label}` });
      const since = Date.now();
      s.faults.retryAfterSeconds = 1;
      // More than one call's own retries absorb (4 attempts), so the workflow's Retry is needed too.
      s.faults[fault] = 6;
      const jobId = await provision(t.runtime, request);
      const view = await waitForJob(t.runtime, jobId);

      expect(s.faults[fault]).toBe(0);
      expect(s.requestLog.filter((r) => r.at >= since && r.status === status).length).toBeGreaterThanOrEqual(
        6,
      );
      expect(view.job.status, JSON.stringify(view.job.error)).toBe('SUCCEEDED');
      expect(stepLine(view.job)).toEqual(expectedSteps(provider));
      await expectCompleteAudit(view);
      await expectProvisioned(view, request);
    },
  );
});

describe('a provider operation that fails during create', () => {
  it.each(['delete', 'keep'] as const)(
    'fails the job with an actionable reason and compensates (onFailure %s)',
    async (onFailure) => {
      const s = sim('exoscale');
      const name = `e2e-opfail-${onFailure}`;
      const request = requestFor('exoscale', s, { name, onFailure });
      s.faults.failOperations = 1;
      const jobId = await provision(t.runtime, request);
      const view = await waitForJob(t.runtime, jobId);

      expect(s.faults.failOperations).toBe(0);
      expect(view.job.status).toBe('FAILED');
      expect(view.job.error?.code).toBe('ProviderOperationFailedError');
      expect(view.job.error?.message).toMatch(
        /^create failed at exoscale: .+ — the provider reported the operation as failed/,
      );
      const steps = stepLine(view.job);
      expect(steps.slice(0, 2)).toEqual(['validate:SUCCEEDED', 'create:STARTED']);
      expect(steps).not.toContain('create:SUCCEEDED');
      await expectCompleteAudit(view);

      const compensation = view.job.steps.filter((st) => st.name === 'compensate');
      expect(compensation.length).toBeGreaterThan(0);
      const decision = (compensation[0]!.detail as { decision: string }).decision;
      const left = await liveInstancesNamed(targetFor(request), name);
      if (onFailure === 'keep') {
        expect(decision).toBe('kept');
        expect(auditLine(view)).toEqual(['create:ok']);
        expect(left.length).toBeLessThanOrEqual(1);
      } else {
        expect(left).toEqual([]);
        // The simulator leaves the failed instance behind or not; either way fleetflow settled it.
        expect(['delete', 'nothing-to-delete', 'already-gone']).toContain(decision);
        if (decision === 'delete') {
          expect(auditLine(view)).toEqual(['create:ok', 'delete:ok']);
          expect(stepLine(view.job).slice(-2)).toEqual(['compensate:STARTED', 'compensate:SUCCEEDED']);
        }
      }
    },
  );
});

describe('an operation that never finishes', () => {
  it('hits the (scaled) deadline: FAILED with DeadlineExceeded, the half-built instance deleted', async () => {
    const s = sim('exoscale');
    const name = 'e2e-stuck';
    const request = requestFor('exoscale', s, { name });
    s.faults.stuckOperations = 1;
    const jobId = await provision(t.runtime, request);
    const view = await waitForJob(t.runtime, jobId, 120_000);

    expect(view.job.status).toBe('FAILED');
    expect(view.job.error?.code).toBe('DeadlineExceeded');
    expect(view.job.error?.message).toMatch(
      /^create did not finish by .+ — the provider did not finish in time/,
    );
    const compensation = view.job.steps.filter((st) => st.name === 'compensate');
    expect(compensation.length).toBeGreaterThan(0);
    await expectCompleteAudit(view);
    expect(await liveInstancesNamed(targetFor(request), name)).toEqual([]);
  }, 150_000);
});

describe.each(PROVIDER_IDS.map((p) => [p]))('the instance vanishing mid-flow on %s', (provider) => {
  it('fails the job (InstanceVanished or not-found), never SUCCEEDED', async () => {
    const s = sim(provider);
    const name = `e2e-${provider}-vanish`;
    const request = requestFor(provider, s, { name });
    const id = webhookId('vanish');
    const jobId = jobIdFor(id);
    let deleted: string | undefined;
    // Someone else deletes the instance while fleetflow waits on the first step after create.
    t.hooks.beforePoll.set(jobId, async (event) => {
      if (deleted || event.wait.step === 'create' || !event.wait.instanceId) return;
      deleted = event.wait.instanceId;
      const adapter = await providerFor(targetFor(request));
      await adapter.delete(deleted);
      await waitUntilGone(provider, deleted);
    });
    await provision(t.runtime, request, id);
    const view = await waitForJob(t.runtime, jobId);
    t.hooks.beforePoll.delete(jobId);

    expect(deleted).toBeTruthy();
    expect(view.job.status).toBe('FAILED');
    expect(['InstanceVanished', 'ProviderNotFoundError']).toContain(view.job.error?.code);
    expect(view.job.error?.message).toMatch(new RegExp(deleted!));
    await expectCompleteAudit(view);
    expect(await liveInstancesNamed(targetFor(request), name)).toEqual([]);
    const compensation = view.job.steps.find((st) => st.name === 'compensate');
    expect(compensation?.detail).toMatchObject({ decision: 'already-gone', instanceId: deleted });
  });

  async function waitUntilGone(provider: ProviderId, id: string): Promise<void> {
    const adapter = await providerFor({
      provider,
      account: 'default',
      location: sim(provider).defaultLocation,
    });
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const state = await adapter.get(id).then(
        (i) => i.state,
        () => 'gone',
      );
      if (state === 'gone' || state === 'deleted') return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${provider} instance ${id} was not deleted`);
  }
});

describe.each(PROVIDER_IDS.map((p) => [p]))(
  'a create handler crashing after the provider call on %s',
  (provider) => {
    it('is retried (Lambda.Unknown), replays the create, and ends SUCCEEDED with one instance', async () => {
      const s = sim(provider);
      const request = requestFor(provider, s, { name: `e2e-${provider}-crash` });
      const id = webhookId('crash');
      const jobId = jobIdFor(id);
      const calls: number[] = [];
      t.hooks.afterCreate.set(jobId, (_event, _result, call) => {
        calls.push(call);
        if (call === 1)
          throw new LambdaCrash('the function crashed after the provider call, before its answer');
      });
      await provision(t.runtime, request, id);
      const view = await waitForJob(t.runtime, jobId);
      t.hooks.afterCreate.delete(jobId);

      expect(calls).toEqual([1, 2]);
      expect(view.job.status, JSON.stringify(view.job.error)).toBe('SUCCEEDED');
      // Both attempts are in the step log, and the second one carries the first one's operation.
      const [first, ...rest] = expectedSteps(provider);
      expect(stepLine(view.job)).toEqual([first, 'create:STARTED', ...rest]);
      const starts = view.job.steps.filter((st) => st.name === 'create' && st.status === 'STARTED');
      expect(new Set(starts.map((st) => (st.detail as { operationId: string }).operationId)).size).toBe(1);
      // One create at the provider: the intent and its outcome, written once, before the crash.
      expect(auditLine(view)).toEqual(expectedAudit(provider));
      await expectCompleteAudit(view);
      await expectProvisioned(view, request);
    });
  },
);

describe('bad input over HTTP', () => {
  const good = () => requestFor('exoscale', sim('exoscale'), { name: 'e2e-bad-input' });
  const big = () => ({ ...good(), userData: 'x'.repeat(70 * 1024) });
  const cases: Array<[string, number, string, () => Parameters<typeof sendWebhook>]> = [
    ['unsigned', 401, 'missing-headers', () => [t.runtime, good(), { unsigned: true }]],
    [
      'signed with another secret',
      401,
      'no-matching-signature',
      () => [t.runtime, good(), { secret: generateSecret() }],
    ],
    [
      'a stale timestamp',
      401,
      'timestamp-too-old',
      () => [t.runtime, good(), { timestamp: Math.floor(Date.now() / 1000) - 600 }],
    ],
    [
      'a timestamp far in the future',
      401,
      'timestamp-in-future',
      () => [t.runtime, good(), { timestamp: Math.floor(Date.now() / 1000) + 600 }],
    ],
    [
      'a garbled signature',
      401,
      'malformed-signature',
      () => [t.runtime, good(), { headers: { 'webhook-signature': 'v1,not-base64!' } }],
    ],
    [
      'signed without a webhook-id',
      400,
      'missing-webhook-id',
      () => [t.runtime, good(), { headers: { 'webhook-id': '' } }],
    ],
    ['an oversized body', 413, 'payload-too-large', () => [t.runtime, big()]],
    [
      'malformed JSON',
      400,
      'malformed-json',
      () => [t.runtime, undefined, { raw: '{"provider":"exoscale",' }],
    ],
    ['an unknown provider', 422, 'invalid-body', () => [t.runtime, { ...good(), provider: 'aws' }]],
    ['a missing zone', 422, 'invalid-body', () => [t.runtime, (({ zone: _z, ...rest }) => rest)(good())]],
    ['a bad name', 422, 'invalid-body', () => [t.runtime, { ...good(), name: '-bad name!' }]],
    ['an unknown field', 422, 'invalid-body', () => [t.runtime, { ...good(), flavour: 'x' }]],
  ];

  it.each(cases)(
    '%s → %i %s, no execution, no job, no secret in the answer',
    async (_label, status, code, args) => {
      const sfn = new SFNClient({
        endpoint: t.runtime.urls.sfn,
        region: 'us-east-1',
        credentials: t.runtime.credentials,
      });
      const listExecutions = async () =>
        (
          await sfn.send(
            new ListExecutionsCommand({ stateMachineArn: t.runtime.engine.stateMachineArn('provision') }),
          )
        ).executions ?? [];
      const jobsBefore = ((await httpGet(t.runtime, '/jobs?limit=200')).json as { items: unknown[] }).items
        .length;
      const executionsBefore = (await listExecutions()).length;

      const [runtime, body, options] = args();
      const res = await sendWebhook(runtime, body, options);

      expect(res.status, res.text).toBe(status);
      expect(res.json).toEqual({ error: { code, message: expect.any(String) } });
      const message = (res.json as { error: { message: string } }).error.message;
      expect(message.length).toBeGreaterThan(10);
      if (code === 'invalid-body') expect(message).toMatch(/provider|zone|name|flavour/);
      expect(res.text).not.toContain(t.runtime.webhookSecret.replace(/^whsec_/, ''));
      const signature = res.sent['webhook-signature'];
      if (signature)
        for (const part of signature.split(/[ ,]/)) if (part.length > 8) expect(res.text).not.toContain(part);

      expect((await listExecutions()).length).toBe(executionsBefore);
      expect(((await httpGet(t.runtime, '/jobs?limit=200')).json as { items: unknown[] }).items.length).toBe(
        jobsBefore,
      );
      sfn.destroy();
    },
  );
});
