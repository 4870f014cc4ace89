import { afterAll, describe, expect, it } from 'vitest';
import { PROVIDER_IDS } from '../../functions/providers/port.ts';
import { jobIdFor } from '../../functions/provisioning/start.ts';
import type { DoctorReport } from '../../local/store/doctor.ts';
import { runCli } from '../support/cli.ts';
import { KILLS, provisionRequest, Rig, SEED, seeded, sleep } from './support/rig.ts';

/**
 * kill -9 at any moment of provisioning, restart on the same folder, and every delivery still ends
 * SUCCEEDED with exactly one instance, nothing left behind, the audit trail intact. One delivery
 * per provider (each with its own shape of flow: snapshot, scale with stop/start, skipped scale),
 * the runtime killed KILLS times at seeded random moments while they run; after each restart the
 * sender re-sends what it has no 2xx for, as Standard Webhooks senders do.
 */
const WINDOW_MS = 6_000;
let rig: Rig | undefined;
afterAll(async () => {
  await rig?.close();
});

describe('kill -9 during provisioning', () => {
  it(`survives ${KILLS} kills (seed ${SEED}): every delivery SUCCEEDED, one instance each, audit intact`, async () => {
    rig = await Rig.create({ providers: [...PROVIDER_IDS] });
    const random = seeded(SEED);
    const deliveries = PROVIDER_IDS.map((provider, i) => {
      const name = `crash-${i}-${provider}`.replace(/[^a-z0-9-]/g, '-');
      return {
        id: `msg_crash_${i}`,
        provider,
        name,
        body: provisionRequest(provider, rig!.sims[provider]!, name),
      };
    });
    const accepted = new Set<string>();
    const send = async () => {
      for (const d of deliveries.filter((d) => !accepted.has(d.id))) {
        const answer = await rig!.deliver(d.id, d.body);
        if (answer.status === 202) accepted.add(d.id);
        // Never a 5xx: only the documented 409 (still being accepted) or a cut connection.
        expect([0, 202, 409]).toContain(answer.status);
      }
    };

    await rig.start();
    const moments: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const sending = send();
      const at = Math.floor(random() * WINDOW_MS);
      moments.push(at);
      await sleep(at);
      await rig.kill();
      await sending;
      // What the kill left, as doctor sees it: readable, and no RUNNING job without its journal.
      const doctor = await runCli('doctor', '--data-dir', rig.dataDir, '--json');
      const found = JSON.parse(doctor.stdout) as DoctorReport;
      expect({ damaged: found.damaged, errors: found.errors }).toEqual({ damaged: [], errors: [] });
      for (const job of found.jobs.unfinished.filter((j) => j.status === 'RUNNING'))
        expect(job.execution, job.jobId).not.toBe('gone');
      await rig.start(); // the restart always comes up
    }
    for (let attempt = 0; accepted.size < deliveries.length && attempt < 20; attempt++) {
      await send();
      if (accepted.size < deliveries.length) await sleep(500);
    }
    expect(accepted.size, `kills at ${moments.join(', ')} ms`).toBe(deliveries.length);

    const jobs = await rig.settle(deliveries.map((d) => jobIdFor(d.id)));
    for (const [i, d] of deliveries.entries()) {
      const job = jobs[i]!;
      expect({ provider: d.provider, status: job.status, error: job.error }).toEqual({
        provider: d.provider,
        status: 'SUCCEEDED',
        error: undefined,
      });
      const instances = await rig.instancesOf(d.provider, job.jobId, d.name);
      expect(
        instances.map((x) => x.id),
        `${d.provider}: one instance`,
      ).toHaveLength(1);
      expect(Object.keys(job.results)).toEqual([instances[0]!.id]);
    }
    // Every copy of every delivery again: the same jobs, nothing new.
    for (const d of deliveries)
      expect((await rig.deliver(d.id, d.body)).json).toEqual({
        jobId: jobIdFor(d.id),
        statusUrl: `/jobs/${jobIdFor(d.id)}`,
      });

    const verify = await runCli('audit', 'verify', '--data-dir', rig.dataDir, '--json');
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, pendingIntents: [] });
  }, 900_000);
});
