import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as loadPage } from '../../functions/handlers/schedule-page.ts';
import { handler as poll } from '../../functions/handlers/schedule-poll.ts';
import { type Instance, PROVIDER_IDS, type ProviderId } from '../../functions/providers/port.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { expandPage } from '../../functions/schedule/work.ts';
import { configFor, type Fleet, LABELLED, runSchedule, seed, startFleet, stateOf } from './support/fleet.ts';

const office = (targets: unknown[], extra: Record<string, unknown> = {}) => ({
  timezone: 'Europe/Zurich',
  periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', stop: '18:00' }],
  targets,
  ...extra,
});

/** Every provider: labels where it has them, a name prefix where it does not. */
const targetsFor = (prefix: string, labels: Record<string, string>) =>
  PROVIDER_IDS.map((provider) =>
    LABELLED.includes(provider) ? { provider, labels } : { provider, namePrefix: `${prefix}-` },
  );

describe('power-schedule workflow across all five simulators', () => {
  let fleet: Fleet;
  const seeded = {} as Record<ProviderId, Instance[]>;
  /** The real page loader, made to fail for one provider's pages when a test says so. */
  const fault: { losePagesOf?: ProviderId } = {};
  const pageLoader = async (event: unknown) => {
    const page = (await loadPage(event)) as { items: Array<{ target: { provider: ProviderId } }> };
    if (fault.losePagesOf && page.items[0]?.target.provider === fault.losePagesOf)
      throw new Error('injected: the page could not be loaded');
    return page;
  };

  beforeAll(async () => {
    fleet = await startFleet({ handlerOverrides: { 'functions/handlers/schedule-page.ts': pageLoader } });
    for (const p of PROVIDER_IDS)
      seeded[p] = await seed(p, fleet.targets[p], 2, { prefix: 'dev', labels: () => ({ env: 'dev' }) });
  }, 180_000);
  afterAll(async () => fleet?.close());

  it('dry run: records the plan, changes nothing', async () => {
    const config = configFor(fleet.runtime, { office: office(targetsFor('dev', { env: 'dev' })) });
    const before = PROVIDER_IDS.map((p) => fleet.runtime.simulators[p]!.mutations().length);
    const { job } = await runSchedule(fleet, config, 'office', 'stop', { dryRun: true });
    expect(job.status).toBe('SUCCEEDED');
    const after = PROVIDER_IDS.map((p) => fleet.runtime.simulators[p]!.mutations().length);
    expect(after).toEqual(before);
    for (const p of PROVIDER_IDS) {
      for (const i of seeded[p])
        expect(job.results[i.id]).toMatchObject({
          status: 'SKIPPED',
          detail: { dryRun: true, would: 'stop' },
        });
    }
  }, 120_000);

  it('stops everything selected on every provider, verifies it, and records each instance', async () => {
    const config = configFor(fleet.runtime, { office: office(targetsFor('dev', { env: 'dev' })) });
    const { job, status } = await runSchedule(fleet, config, 'office', 'stop');
    expect(status).toBe('SUCCEEDED');
    expect(job.status).toBe('SUCCEEDED');
    for (const p of PROVIDER_IDS) {
      for (const i of seeded[p]) {
        expect(job.results[i.id]).toMatchObject({ status: 'SUCCEEDED', provider: p });
        expect(await stateOf(fleet.targets[p], i.id)).toBe('stopped');
      }
    }
    // A second run finds them stopped and does nothing.
    const again = await runSchedule(fleet, config, 'office', 'stop');
    expect(again.job.status).toBe('SUCCEEDED');
    for (const p of PROVIDER_IDS)
      for (const i of seeded[p])
        expect(again.job.results[i.id]).toMatchObject({
          status: 'SKIPPED',
          detail: { reason: 'already stopped' },
        });
  }, 180_000);

  it('one failing instance: the others are done, the job is PARTIAL with a reason, the next run retries it', async () => {
    const config = configFor(fleet.runtime, { office: office(targetsFor('dev', { env: 'dev' })) });
    const sim = fleet.runtime.simulators.gcore!;
    sim.faults.failOperations = 1;
    const { job, status } = await runSchedule(fleet, config, 'office', 'start');
    expect(status).toBe('SUCCEEDED');
    expect(job.status).toBe('PARTIAL');
    const failed = Object.entries(job.results).filter(([, r]) => r.status === 'FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0]![1].error?.message).toMatch(/./);
    const done = Object.values(job.results).filter((r) => r.status === 'SUCCEEDED');
    expect(done).toHaveLength(PROVIDER_IDS.length * 2 - 1);
    const retry = await runSchedule(fleet, config, 'office', 'start');
    expect(retry.job.status).toBe('SUCCEEDED');
    expect(retry.job.results[failed[0]![0]]).toMatchObject({ status: 'SUCCEEDED' });
  }, 180_000);

  it('a page that cannot run: its instances fail as never acted on, the others are done, the next run does them', async () => {
    const config = configFor(fleet.runtime, { office: office(targetsFor('dev', { env: 'dev' })) });
    const gcore = fleet.runtime.simulators.gcore!;
    const before = gcore.mutations().length;
    fault.losePagesOf = 'gcore';
    try {
      const { job, status } = await runSchedule(fleet, config, 'office', 'stop');
      expect(status).toBe('SUCCEEDED');
      expect(job.status).toBe('PARTIAL');
      for (const p of PROVIDER_IDS)
        for (const i of seeded[p])
          expect(job.results[i.id]).toMatchObject(
            p === 'gcore'
              ? {
                  status: 'FAILED',
                  error: { code: 'NotActedOn', message: expect.stringMatching(/never made/) },
                }
              : { status: 'SUCCEEDED' },
          );
      expect(gcore.mutations().length).toBe(before);
      for (const i of seeded.gcore) expect(await stateOf(fleet.targets.gcore, i.id)).toBe('running');
    } finally {
      delete fault.losePagesOf;
    }
    const retry = await runSchedule(fleet, config, 'office', 'stop');
    expect(retry.job.status).toBe('SUCCEEDED');
    for (const i of seeded.gcore) expect(retry.job.results[i.id]).toMatchObject({ status: 'SUCCEEDED' });
  }, 180_000);

  it('a look sleeps what its Wait state left of the time the previous look set, at most one Wait-second', async () => {
    const config = configFor(fleet.runtime, { office: office(targetsFor('dev', { env: 'dev' })) });
    const { job } = await runSchedule(fleet, config, 'office', 'start');
    expect(job.status).toBe('SUCCEEDED');
    const page = 't0g0p0';
    const body = await stores().jobs.results.getWorkPage(job.jobId, page);
    const sim = fleet.runtime.simulators[expandPage(body).at(0)!.target.provider]!;
    const look = async (lookAt: number) => {
      const from = sim.requestLog.length;
      const out = await poll({
        jobId: job.jobId,
        action: 'start',
        pages: [page],
        tick: 1,
        lookAt: new Date(lookAt).toISOString(),
      });
      expect(out).toMatchObject({ done: true, pending: 0 });
      return sim.requestLog.slice(from).map((r) => r.at);
    };
    const scale = process.env.FLEETFLOW_TIME_SCALE;
    // At full time scale a Wait-second is a real second: 300 ms left are slept before listing.
    process.env.FLEETFLOW_TIME_SCALE = '1';
    try {
      const soon = Date.now() + 300;
      const listed = await look(soon);
      expect(listed.length).toBeGreaterThan(0);
      for (const t of listed) expect(t).toBeGreaterThanOrEqual(soon - 1);
      // A time far off (a clock that jumped, a tampered input) holds the look one Wait-second at most.
      const began = Date.now();
      const late = await look(began + 3_600_000);
      expect(late.length).toBeGreaterThan(0);
      for (const t of late) expect(t).toBeLessThan(began + 30_000);
    } finally {
      if (scale === undefined) delete process.env.FLEETFLOW_TIME_SCALE;
      else process.env.FLEETFLOW_TIME_SCALE = scale;
    }
  }, 180_000);
});
