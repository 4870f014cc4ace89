import { SFNClient } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/config/load.ts';
import type { Instance, ProviderId } from '../../functions/providers/port.ts';
import { runName, scheduleRunInput, startScheduleRun } from '../../functions/schedule/run.ts';
import { stateMachineArn } from '../../local/engine/index.ts';
import { CONTRACT_FIXTURES } from '../contract/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { createRunning } from '../support/instances.ts';
import { KILLS, Rig, SEED, seeded, sleep } from './support/rig.ts';

/**
 * A schedule run and a remediation cut by kill -9 at seeded moments continue after each restart to
 * their end, with every provider action done exactly once (counted at the simulators, which
 * outlive the kills) and the audit trail intact.
 */
const WINDOW_MS = 5_000;
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

/** Running instances labelled team=crash (their own idempotency keys), made through the adapter. */
async function seed(r: Rig, provider: ProviderId, count: number): Promise<Instance[]> {
  return createRunning(
    r.adapter(provider),
    Array.from({ length: count }, (_, i) => ({
      ...CONTRACT_FIXTURES[provider].createSpec,
      name: `crash-${provider}-${i + 1}`,
      labels: { team: 'crash' },
      idempotencyKey: `seed-${provider}-${i + 1}`,
    })),
  );
}

/** Successful provider calls at a simulator whose path names the instance and ends with the verb. */
const calls = (r: Rig, provider: ProviderId, id: string, verb: RegExp) =>
  r.sims[provider]!.mutations().filter((m) => m.path.includes(id) && verb.test(m.path)).length;

/** Every successful mutation at a simulator that names the instance (in its path or its query). */
const mutationsOf = (r: Rig, provider: ProviderId, id: string) =>
  r.sims[provider]!.mutations().filter((m) => m.path.includes(id) || Object.values(m.query).includes(id));

/** Kills the runtime KILLS times at seeded moments while `trigger` (re-sent after each restart) runs. */
async function killWhile(r: Rig, trigger: () => Promise<unknown>): Promise<number[]> {
  const random = seeded(SEED);
  const moments: number[] = [];
  await r.start();
  for (let k = 0; k < KILLS; k++) {
    const sent = trigger().catch(() => undefined);
    const at = Math.floor(random() * WINDOW_MS);
    moments.push(at);
    await sleep(at);
    await r.kill();
    await sent;
    await r.start();
  }
  await trigger();
  return moments;
}

async function auditIntact(r: Rig): Promise<void> {
  const verify = await runCli('audit', 'verify', '--data-dir', r.dataDir, '--json');
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, pendingIntents: [] });
}

describe('kill -9 during a schedule run', () => {
  it(`survives ${KILLS} kills (seed ${SEED}): SUCCEEDED, every instance stopped with one stop each`, async () => {
    const providers: ProviderId[] = ['exoscale', 'gcore', 'exoscale-v1'];
    rig = await Rig.create({
      providers,
      fleetSize: 0,
      config: {
        schedules: {
          office: {
            timezone: 'UTC',
            periods: [
              { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', stop: '23:59' },
            ],
            targets: providers.map((provider) => ({ provider, labels: { team: 'crash' } })),
          },
        },
      },
    });
    const r = rig;
    const fleet = (
      await Promise.all(providers.map(async (p) => (await seed(r, p, 3)).map((i) => ({ p, i }))))
    ).flat();
    const madeCalls = new Map(fleet.map(({ p, i }) => [i.id, mutationsOf(r, p, i.id).length]));
    const config = loadConfigFile(r.configFile);
    const name = runName('office', 'stop', new Date(), true);
    const input = scheduleRunInput(config, 'office', 'stop', { trigger: { type: 'test', actor: 'crash' } });
    // The trigger is sent again after each restart, as EventBridge Scheduler retries: same name, same input.
    const trigger = async () => {
      const sfn = new SFNClient({ endpoint: r.running!.sfn, region: 'us-east-1', credentials: r.keyPair() });
      try {
        await startScheduleRun({ sfn, stateMachineArn: stateMachineArn('power-schedule'), input, name });
      } catch (error) {
        if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
      } finally {
        sfn.destroy();
      }
    };
    const moments = await killWhile(r, trigger);

    const [job] = await r.settle([name]);
    expect({ status: job!.status, error: job!.error }, `kills at ${moments.join(', ')} ms`).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
    });
    for (const { p, i } of fleet) {
      expect((await r.adapter(p).get(i.id)).state, `${p} ${i.id}`).toBe('stopped');
      // The run's stop is the only call that ever changed this instance: sent once, whatever the kills.
      expect(mutationsOf(r, p, i.id).length - madeCalls.get(i.id)!, `${p} ${i.id}`).toBe(1);
      expect(job!.results[i.id]).toMatchObject({ status: 'SUCCEEDED' });
    }
    await auditIntact(r);
  }, 900_000);
});

describe('kill -9 during a remediation', () => {
  it(`survives ${KILLS} kills (seed ${SEED}): SUCCEEDED, stop → scale → start done once each`, async () => {
    rig = await Rig.create({
      providers: ['exoscale'],
      fleetSize: 0,
      config: {
        policies: [
          {
            name: 'resize-unhealthy',
            mode: 'event',
            events: ['Instance Unhealthy'],
            filters: { labels: { team: 'crash' } },
            actions: ['stop', { scale: { to: CONTRACT_FIXTURES.exoscale.scaleTo } }, 'start'],
          },
        ],
      },
    });
    const r = rig;
    const [instance] = await seed(r, 'exoscale', 1);
    const sim = r.sims.exoscale!;
    const event = {
      source: 'fleetflow',
      'detail-type': 'Instance Unhealthy',
      detail: {
        provider: 'exoscale',
        account: 'default',
        location: sim.defaultLocation,
        instanceId: instance!.id,
        reason: 'crash test',
      },
    };
    let jobId: string | undefined;
    const trigger = async () => {
      const res = await fetch(`${r.http}/events`, {
        method: 'POST',
        body: JSON.stringify(event),
        headers: r.authorized(),
      });
      expect([202]).toContain(res.status);
      const answer = (await res.json()) as { jobs: Array<{ jobId: string }> };
      jobId ??= answer.jobs[0]?.jobId;
      expect(answer.jobs[0]?.jobId).toBe(jobId);
    };
    const moments = await killWhile(r, trigger);

    const [job] = await r.settle([jobId!]);
    expect({ status: job!.status, error: job!.error }, `kills at ${moments.join(', ')} ms`).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
    });
    const now = await r.adapter('exoscale').get(instance!.id);
    expect(now.state).toBe('running');
    expect(now.type).toBe(CONTRACT_FIXTURES.exoscale.scaleTo);
    for (const verb of [/:stop$|\/stop$/, /:scale$|\/scale$/, /:start$|\/start$/])
      expect(calls(r, 'exoscale', instance!.id, verb), String(verb)).toBe(1);
    await auditIntact(r);
  }, 900_000);
});
