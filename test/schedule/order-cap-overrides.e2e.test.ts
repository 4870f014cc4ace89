import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '../../functions/providers/port.ts';
import { configFor, type Fleet, runSchedule, seed, startFleet, stateOf } from './support/fleet.ts';

const office = (targets: unknown[], extra: Record<string, unknown> = {}) => ({
  timezone: 'Europe/Zurich',
  periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', stop: '18:00' }],
  targets,
  ...extra,
});

describe('power-schedule: tiers, blast-radius cap, overrides (exoscale simulator, real workflow)', () => {
  let fleet: Fleet;
  let tier1: Instance[];
  let tier2: Instance[];

  beforeAll(async () => {
    fleet = await startFleet({ providers: ['exoscale'] });
    tier1 = await seed('exoscale', fleet.targets.exoscale, 2, {
      prefix: 'db',
      labels: () => ({ app: 'shop', 'fleetflow-tier': '1' }),
    });
    tier2 = await seed('exoscale', fleet.targets.exoscale, 3, {
      prefix: 'web',
      labels: () => ({ app: 'shop', 'fleetflow-tier': '2' }),
    });
  }, 120_000);
  afterAll(async () => fleet?.close());

  it('blast-radius cap: over the cap the run changes nothing and the job says why', async () => {
    const config = configFor(fleet.runtime, {
      shop: office([{ provider: 'exoscale', labels: { app: 'shop' } }], { maxActions: '50%' }),
    });
    const before = fleet.runtime.simulators.exoscale!.mutations().length;
    const { job, status } = await runSchedule(fleet, config, 'shop', 'stop');
    expect(status).toBe('FAILED');
    expect(job.status).toBe('FAILED');
    expect(job.error?.code).toBe('BlastRadiusExceeded');
    expect(fleet.runtime.simulators.exoscale!.mutations().length).toBe(before);
  }, 120_000);

  it('stop runs tier 2 before tier 1; start runs tier 1 to running before tier 2 starts', async () => {
    const config = configFor(fleet.runtime, {
      shop: office([{ provider: 'exoscale', labels: { app: 'shop' } }]),
    });
    const sim = fleet.runtime.simulators.exoscale!;
    const from = sim.requestLog.length;
    expect((await runSchedule(fleet, config, 'shop', 'stop')).job.status).toBe('SUCCEEDED');
    const stops = sim.requestLog.slice(from).filter((r) => r.mutation && r.path.includes(':stop'));
    expect(stops).toHaveLength(5);
    const lastTier2Stop = Math.max(
      ...stops.filter((r) => tier2.some((i) => r.path.includes(i.id))).map((r) => r.at),
    );
    const firstTier1Stop = Math.min(
      ...stops.filter((r) => tier1.some((i) => r.path.includes(i.id))).map((r) => r.at),
    );
    expect(lastTier2Stop).toBeLessThanOrEqual(firstTier1Stop);

    const mark = sim.requestLog.length;
    const started = await runSchedule(fleet, config, 'shop', 'start');
    expect(started.job.status).toBe('SUCCEEDED');
    const log = sim.requestLog.slice(mark);
    const firstTier2Start = log.findIndex(
      (r) => r.mutation && r.path.includes(':start') && tier2.some((i) => r.path.includes(i.id)),
    );
    const lastTier1Start = log.findLastIndex(
      (r) => r.mutation && r.path.includes(':start') && tier1.some((i) => r.path.includes(i.id)),
    );
    // Tier 1 was read back (one listing for the group) after its starts, before any tier-2 start…
    const readBack = log.findLastIndex(
      (r, idx) =>
        idx > lastTier1Start && idx < firstTier2Start && r.method === 'GET' && /\/instance$/.test(r.path),
    );
    expect(readBack).toBeGreaterThan(lastTier1Start);
    // …and every tier-1 instance was recorded running from that read before tier 2 began.
    for (const i of tier1) {
      const result = started.job.results[i.id]!;
      expect(result).toMatchObject({ status: 'SUCCEEDED', detail: { state: 'running' } });
      expect(Date.parse(result.at)).toBeLessThanOrEqual(log[firstTier2Start]!.at);
    }
    expect(firstTier2Start).toBeGreaterThan(0);
    for (const i of [...tier1, ...tier2]) expect(await stateOf(fleet.targets.exoscale, i.id)).toBe('running');
  }, 180_000);

  it('overrides: keep-running is honoured and audited, and expires by itself', async () => {
    const config = configFor(fleet.runtime, {
      shop: office([{ provider: 'exoscale', labels: { app: 'shop' } }]),
    });
    const kept = tier2[0]!;
    const until = new Date(Date.now() + 1500).toISOString();
    const res = await fetch(`${fleet.runtime.urls.http}/overrides`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${fleet.runtime.apiToken}` },
      body: JSON.stringify({
        kind: 'keep-running',
        scope: { schedule: 'shop', instanceId: kept.id },
        until,
        reason: 'demo tonight',
      }),
    });
    expect(res.status).toBe(201);
    const { override } = (await res.json()) as { override: { id: string } };
    const listed = (await (await fetch(`${fleet.runtime.urls.http}/overrides`)).json()) as {
      overrides: Array<{ id: string }>;
    };
    expect(listed.overrides.map((o) => o.id)).toContain(override.id);

    const first = await runSchedule(fleet, config, 'shop', 'stop');
    expect(first.job.results[kept.id]).toMatchObject({
      status: 'SKIPPED',
      detail: { reason: expect.stringContaining(`override ${override.id}`) },
    });
    expect(await stateOf(fleet.targets.exoscale, kept.id)).toBe('running');

    await new Promise((r) => setTimeout(r, Date.parse(until) - Date.now() + 50));
    const after = (await (await fetch(`${fleet.runtime.urls.http}/overrides`)).json()) as {
      overrides: unknown[];
    };
    expect(after.overrides).toEqual([]);
    const second = await runSchedule(fleet, config, 'shop', 'stop');
    expect(second.job.results[kept.id]).toMatchObject({ status: 'SUCCEEDED' });
    expect(await stateOf(fleet.targets.exoscale, kept.id)).toBe('stopped');

    const trail = await import('../../functions/runtime/stores.ts').then((m) =>
      m.stores().audit.byJob('overrides', { limit: 10, order: 'oldest' }),
    );
    expect(trail.items.map((e) => e.action)).toContain('override.set');
  }, 180_000);
});
