import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as instanceAction } from '../../functions/handlers/instance-action.ts';
import { handler as instanceCreate } from '../../functions/handlers/instance-create.ts';
import type { ComputeProvider, CreateInstanceSpec } from '../../functions/providers/port.ts';
import { providerFor, type Target } from '../../functions/runtime/accounts.ts';
import { audited } from '../../functions/runtime/audited.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { payloadHash } from '../../functions/store/idempotency.ts';
import type { Trigger } from '../../functions/store/schemas.ts';
import type { SimulatorBase } from '../../sim/kit/index.ts';
import { CONTRACT_FIXTURES } from '../contract/fixtures.ts';
import { requestFor, targetFor } from '../e2e/support/flow.ts';
import { startTestRuntime, type TestRuntime } from '../e2e/support/runtime.ts';

/**
 * A step whose process died between its provider call and its record (a kill -9, a Lambda timeout)
 * runs again when its execution resumes. Each case builds exactly what such a death leaves behind —
 * the step's claim still in progress, its audit intent with or without an outcome, the provider
 * effect done or not — then runs the real handler again, and counts what reached the provider.
 */
let rt: TestRuntime;
let sim: SimulatorBase;
let provider: ComputeProvider;
let target: Target;
const trigger: Trigger = { type: 'webhook', actor: 'crash-test' };

beforeAll(async () => {
  rt = await startTestRuntime({ providers: ['exoscale'] });
  sim = rt.runtime.simulators.exoscale!;
  target = targetFor(requestFor('exoscale', sim));
  provider = await providerFor(target);
});
afterAll(async () => {
  await rt?.close();
});

let n = 0;
/** A job (so results can be recorded) and its create spec. */
async function newJob(): Promise<{ jobId: string; spec: CreateInstanceSpec }> {
  const jobId = `prov-replay-${++n}-${Date.now()}`;
  await stores().jobs.create({ jobId, kind: 'provision', trigger, request: { test: n } });
  const fixture = CONTRACT_FIXTURES.exoscale.createSpec;
  const spec = {
    name: `replay-${n}`,
    type: fixture.type,
    template: fixture.template,
    labels: { 'fleetflow-job': jobId },
    idempotencyKey: jobId,
  };
  return { jobId, spec };
}

/** The claim a dead attempt left: in progress, its holder gone (expired at once, as a restart does). */
async function deadClaim(key: string, payload: unknown): Promise<void> {
  const { idempotency } = stores();
  expect(await idempotency.begin(key, payloadHash(payload))).toEqual({ state: 'started' });
  for await (const claim of idempotency.inProgress())
    if (claim.id === key) expect(await idempotency.expireInProgress(claim)).toBe(true);
}

const intent = (jobId: string, action: string, instanceId: string | undefined, parameters: unknown) =>
  stores().audit.append({
    kind: 'intent',
    jobId,
    trigger,
    provider: target.provider,
    account: target.account,
    location: target.location,
    ...(instanceId && { instanceId }),
    action,
    parameters,
  });

/** Successful provider mutations since `from` whose path ends as given. */
const sent = (from: number, method: string, suffix: RegExp) =>
  sim
    .mutations()
    .slice(from)
    .filter((m) => m.method === method && suffix.test(m.path));

async function runningInstance(): Promise<string> {
  const { jobId, spec } = await newJob();
  const op = await provider.create({ ...spec, idempotencyKey: `${jobId}-setup` });
  const id = op.instanceId ?? (op.status === 'succeeded' ? op.resourceId : undefined);
  expect(id).toBeTruthy();
  for (let i = 0; i < 200; i++) {
    if ((await provider.get(id!)).state === 'running') return id!;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the setup instance never ran');
}

describe('a step cut between its provider call and its record, run again', () => {
  it('create, applied but not recorded: looked up by its idempotency key, no second instance, the intent closed', async () => {
    const { jobId, spec } = await newJob();
    await deadClaim(`${jobId}:create`, { target, spec, hash: payloadHash(spec) });
    await intent(jobId, 'create', undefined, spec);
    await provider.create(spec); // what the dead attempt did
    const from = sim.mutations().length;

    const progress = (await instanceCreate({ jobId, trigger, target, spec })) as { instanceId?: string };

    expect(sent(from, 'POST', /\/instance$/)).toEqual([]);
    const mine = (await provider.list({ labels: { 'fleetflow-job': jobId } })).filter(
      (i) => i.state !== 'deleted',
    );
    expect(mine).toHaveLength(1);
    expect(progress.instanceId).toBe(mine[0]!.id);
    expect(await stores().audit.pendingIntents(jobId)).toEqual([]);
    const events = await actions(jobId);
    expect(events.map((e) => e.kind)).toEqual(['intent', 'outcome']);
    expect(events[1]!.result).toMatchObject({
      status: 'succeeded',
      reconciled: expect.stringMatching(/idempotency key/),
    });
    // The instance is on the job as soon as its id is known.
    const results = await stores().jobs.results.get(jobId, [mine[0]!.id]);
    expect(results.get(mine[0]!.id)).toMatchObject({ status: 'PENDING', instanceId: mine[0]!.id });
  });

  it('create, claimed but never sent (no intent): sent once, as usual', async () => {
    const { jobId, spec } = await newJob();
    await deadClaim(`${jobId}:create`, { target, spec, hash: payloadHash(spec) });
    const from = sim.mutations().length;

    await instanceCreate({ jobId, trigger, target, spec });

    expect(sent(from, 'POST', /\/instance$/)).toHaveLength(1);
    expect(await stores().audit.pendingIntents(jobId)).toEqual([]);
  });

  it('stop, sent but not recorded: the instance is stopping, so it is not sent again; the intent closed', async () => {
    const instanceId = await runningInstance();
    const { jobId } = await newJob();
    await deadClaim(`${jobId}:scale-stop`, { action: 'stop', instanceId, params: {} });
    await intent(jobId, 'stop', instanceId, {});
    await provider.stop(instanceId);
    const from = sim.mutations().length;

    const progress = await instanceAction({
      jobId,
      trigger,
      target,
      step: 'scale-stop',
      action: 'stop',
      instanceId,
    });

    expect(sent(from, 'PUT', /:stop$|\/stop$/)).toEqual([]);
    expect(progress).toMatchObject({ step: 'scale-stop', untilState: 'stopped' });
    const events = await actions(jobId);
    expect(events.map((e) => e.kind)).toEqual(['intent', 'outcome']);
    expect(events[1]!.result).toMatchObject({ reconciled: expect.stringMatching(/provider shows it done/) });
  });

  it('stop, recorded but its claim not completed: the recorded operation is the answer, nothing sent', async () => {
    const instanceId = await runningInstance();
    const { jobId } = await newJob();
    await deadClaim(`${jobId}:scale-stop`, { action: 'stop', instanceId, params: {} });
    const done = await audited({ jobId, trigger, target }, 'stop', instanceId, {}, () =>
      provider.stop(instanceId),
    );
    const from = sim.mutations().length;

    const progress = (await instanceAction({
      jobId,
      trigger,
      target,
      step: 'scale-stop',
      action: 'stop',
      instanceId,
    })) as { op: { id: string } };

    expect(sim.mutations().slice(from)).toEqual([]);
    expect(progress.op.id).toBe(done.id);
    expect(await actions(jobId)).toHaveLength(2);
  });

  it('stop, failed and recorded but its claim not released: tried again once, a new intent with its outcome', async () => {
    const instanceId = await runningInstance();
    const { jobId } = await newJob();
    await deadClaim(`${jobId}:scale-stop`, { action: 'stop', instanceId, params: {} });
    const refused = Object.assign(new Error('busy'), { name: 'ProviderConflictError' });
    await expect(
      audited({ jobId, trigger, target }, 'stop', instanceId, {}, () => Promise.reject(refused)),
    ).rejects.toThrow('busy');
    const from = sim.mutations().length;

    await instanceAction({ jobId, trigger, target, step: 'scale-stop', action: 'stop', instanceId });

    expect(sent(from, 'PUT', /:stop$|\/stop$/)).toHaveLength(1);
    const events = await actions(jobId);
    expect(events.map((e) => e.kind)).toEqual(['intent', 'outcome', 'intent', 'outcome']);
    expect(await stores().audit.pendingIntents(jobId)).toEqual([]);
  });

  it('start, sent but not recorded and not yet visible: sent again (at most one reached the provider before)', async () => {
    const instanceId = await runningInstance();
    await provider.stop(instanceId);
    for (let i = 0; i < 200 && (await provider.get(instanceId)).state !== 'stopped'; i++)
      await new Promise((r) => setTimeout(r, 20));
    const { jobId } = await newJob();
    await deadClaim(`${jobId}:scale-start`, { action: 'start', instanceId, params: {} });
    await intent(jobId, 'start', instanceId, {}); // the intent was written, the call never went out
    const from = sim.mutations().length;

    await instanceAction({ jobId, trigger, target, step: 'scale-start', action: 'start', instanceId });

    expect(sent(from, 'PUT', /:start$|\/start$/)).toHaveLength(1);
    const events = await actions(jobId);
    expect(events.map((e) => e.kind)).toEqual(['intent', 'outcome']);
    expect(events[1]!.result).toMatchObject({ reconciled: expect.stringMatching(/sent again/) });
  });
});

/** The job's intents and outcomes in order (the notes that link a job's chains are not actions). */
async function actions(jobId: string) {
  return (await stores().audit.byJob(jobId, { order: 'oldest' })).items.filter((e) => e.kind !== 'note');
}
