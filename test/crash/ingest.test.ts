import { afterAll, describe, expect, it } from 'vitest';
import type { ProviderId } from '../../functions/providers/port.ts';
import { jobIdFor } from '../../functions/provisioning/start.ts';
import { runCli } from '../support/cli.ts';
import { provisionRequest, Rig, sleep } from './support/rig.ts';

/**
 * 200 distinct deliveries at once and a kill -9 while they are being accepted (the moment that used
 * to brick the data folder: indexes half-written, jobs QUEUED with no execution, claims left in
 * progress). The restart comes up, the sender re-sends what it got no 2xx for, and every delivery
 * ends SUCCEEDED with exactly one instance; the audit trail verifies.
 */
const DELIVERIES = 200;
let rig: Rig | undefined;
afterAll(async () => {
  await rig?.close();
});

describe('kill -9 while 200 deliveries are being accepted', () => {
  it('restart and redelivery: 200 jobs SUCCEEDED, 200 instances, audit verify ok', async () => {
    const providers: ProviderId[] = ['exoscale', 'gcore'];
    rig = await Rig.create({ providers, fleetSize: 0 });
    const r = rig;
    const deliveries = Array.from({ length: DELIVERIES }, (_, i) => {
      const provider = providers[i % providers.length]!;
      const name = `burst-${i}`;
      // A plain create: the burst is about acceptance, not about the flow's later steps.
      const body = provisionRequest(provider, r.sims[provider]!, name, { createOnly: true });
      return { id: `msg_burst_${i}`, provider, name, body };
    });
    const answered = new Map<string, number>();
    await r.start();

    // All at once; the kill lands once a first few have been accepted, while most are in flight.
    const burst = Promise.all(
      deliveries.map(async (d) => answered.set(d.id, (await r.deliver(d.id, d.body)).status)),
    );
    for (let i = 0; i < 600 && [...answered.values()].filter((s) => s === 202).length < 10; i++)
      await sleep(25);
    await r.kill();
    await burst;
    const before = [...answered.values()];
    expect(before.filter((s) => s >= 500)).toEqual([]); // a cut connection (0) at worst, never a 5xx
    expect(before.filter((s) => s === 202).length).toBeLessThan(DELIVERIES);

    const restart = await r.start();
    expect(restart.readyMs).toBeGreaterThan(0);
    // The sender re-sends everything it has no 2xx for, and retries the documented 409.
    for (let round = 0; round < 30; round++) {
      const pending = deliveries.filter((d) => answered.get(d.id) !== 202);
      if (pending.length === 0) break;
      await Promise.all(
        pending.map(async (d) => {
          const status = (await r.deliver(d.id, d.body)).status;
          expect([202, 409]).toContain(status);
          answered.set(d.id, status);
        }),
      );
      await sleep(500);
    }
    expect(deliveries.filter((d) => answered.get(d.id) !== 202)).toEqual([]);

    const jobs = await r.settle(
      deliveries.map((d) => jobIdFor(d.id)),
      600_000,
    );
    expect(
      jobs.filter((j) => j.status !== 'SUCCEEDED').map((j) => `${j.jobId} ${j.status} ${j.error?.message}`),
    ).toEqual([]);
    let instances = 0;
    for (const d of deliveries) {
      const found = await r.instancesOf(d.provider, jobIdFor(d.id), d.name);
      expect(found, d.id).toHaveLength(1);
      instances += found.length;
    }
    expect(instances).toBe(DELIVERIES);
    const verify = await runCli('audit', 'verify', '--data-dir', r.dataDir, '--json');
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, pendingIntents: [] });
  }, 900_000);
});
