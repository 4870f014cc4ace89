import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { PROVIDER_IDS, type ProviderId } from '../functions/providers/port.ts';
import { jobIdFor } from '../functions/provisioning/start.ts';
import type { Job } from '../functions/store/jobs.ts';
import { provisionRequest, Rig, seeded, sleep } from '../test/crash/support/rig.ts';

/**
 * `npm run bench -- crash [--kills N] [--deliveries M] [--burst B] [--seed S]`: kill -9 the runtime
 * (a real `fleetflow start` child process, simulators in this process) and count what survives.
 *
 * 1. burst: B distinct deliveries at once (create only), killed once ten are accepted; restart;
 *    the sender re-sends until each has a 202.
 * 2. flows: M full provisionings (snapshot, scale with stop/start) over the five providers, killed N
 *    times at seeded moments; restart after each; re-send; wait until every job ends.
 *
 * Prints kills survived, jobs resumed/started/interrupted by the restarts, duplicates (a second
 * instance for one delivery) and orphans (an instance of a job that did not succeed), the audit
 * verdict, and the recovery time (a restart's time to ready, against a clean start's), then one
 * JSON line {"bench":"crash",…}. The bound is zero duplicates, zero orphans, every job SUCCEEDED.
 */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kills: { type: 'string', default: '5' },
      deliveries: { type: 'string', default: '10' },
      burst: { type: 'string', default: '200' },
      seed: { type: 'string', default: '20261130' },
    },
  });
  const kills = Number(values.kills);
  const flows = Number(values.deliveries);
  const burstSize = Number(values.burst);
  const random = seeded(Number(values.seed));
  const out = (line: string) => process.stdout.write(`${line}\n`);

  const rig = await Rig.create({ providers: [...PROVIDER_IDS], fleetSize: 0 });
  const restarts: Array<{ readyMs: number; recovery: Record<string, unknown> }> = [];
  const restart = async () => {
    const running = await rig.start();
    restarts.push({ readyMs: running.readyMs, recovery: running.recovery });
  };
  try {
    const clean = (await rig.start()).readyMs;
    out(`clean start: ready in ${clean} ms`);

    // ---- 1. a burst of deliveries, killed while they are accepted ------------------------------
    const burstProviders: ProviderId[] = ['exoscale', 'gcore'];
    const burst = Array.from({ length: burstSize }, (_, i) => {
      const provider = burstProviders[i % burstProviders.length]!;
      const name = `burst-${i}`;
      const body = provisionRequest(provider, rig.sims[provider]!, name, { createOnly: true });
      return { id: `msg_burst_${i}`, provider, name, body };
    });
    const answers = new Map<string, number>();
    const sending = Promise.all(
      burst.map(async (d) => answers.set(d.id, (await rig.deliver(d.id, d.body)).status)),
    );
    for (let i = 0; i < 600 && [...answers.values()].filter((s) => s === 202).length < 10; i++)
      await sleep(25);
    await rig.kill();
    await sending;
    const acceptedBeforeKill = [...answers.values()].filter((s) => s === 202).length;
    const fivexx = [...answers.values()].filter((s) => s >= 500).length;
    await restart();
    out(
      `burst: ${acceptedBeforeKill}/${burstSize} accepted before the kill; restart ready in ${restarts.at(-1)!.readyMs} ms`,
    );

    // ---- 2. full flows, killed at seeded moments -------------------------------------------------
    const full = Array.from({ length: flows }, (_, i) => {
      const provider = PROVIDER_IDS[i % PROVIDER_IDS.length]!;
      const name = `flow-${i}-${provider}`.replace(/[^a-z0-9-]/g, '-');
      return {
        id: `msg_flow_${i}`,
        provider,
        name,
        body: provisionRequest(provider, rig.sims[provider]!, name),
      };
    });
    const all = [...burst, ...full];
    const resend = async (list: typeof all) => {
      for (let round = 0; round < 40; round++) {
        const pending = list.filter((d) => answers.get(d.id) !== 202);
        if (pending.length === 0) return;
        await Promise.all(
          pending.map(async (d) => answers.set(d.id, (await rig.deliver(d.id, d.body)).status)),
        );
        if (pending.some((d) => answers.get(d.id) !== 202)) await sleep(500);
      }
    };
    const moments: number[] = [];
    for (let k = 0; k < kills; k++) {
      const sent = resend(all);
      const at = Math.floor(random() * 6_000);
      moments.push(at);
      await sleep(at);
      await rig.kill();
      await sent;
      await restart();
      out(
        `kill ${k + 1}/${kills} at ${at} ms; restart ready in ${restarts.at(-1)!.readyMs} ms: ${JSON.stringify(restarts.at(-1)!.recovery)}`,
      );
    }
    await resend(all);
    const unaccepted = all.filter((d) => answers.get(d.id) !== 202).length;

    // ---- what survived -------------------------------------------------------------------------
    const jobs: Job[] = await rig.settle(
      all.map((d) => jobIdFor(d.id)),
      900_000,
    );
    let duplicates = 0;
    let orphans = 0;
    for (const [i, d] of all.entries()) {
      const live = (await rig.instancesOf(d.provider, jobIdFor(d.id), d.name)).length;
      if (jobs[i]!.status === 'SUCCEEDED') duplicates += Math.max(0, live - 1);
      else orphans += live;
    }
    const verify = spawnSync(
      process.execPath,
      ['bin/fleetflow.mjs', 'audit', 'verify', '--data-dir', rig.dataDir, '--json'],
      { encoding: 'utf8' },
    );
    const audit = JSON.parse(verify.stdout || '{}') as { ok?: boolean; pendingIntents?: unknown[] };
    const sum = (key: string) => restarts.reduce((n, r) => n + (Number(r.recovery[key]) || 0), 0);
    const readies = restarts.map((r) => r.readyMs).sort((a, b) => a - b);
    const result = {
      kills: kills + 1,
      killsSurvived: restarts.length,
      deliveries: all.length,
      unaccepted,
      fivexx,
      succeeded: jobs.filter((j) => j.status === 'SUCCEEDED').length,
      failed: jobs.filter((j) => j.status !== 'SUCCEEDED').length,
      jobsResumed: sum('resumed'),
      jobsStarted: sum('started'),
      jobsClosed: sum('closed'),
      jobsInterrupted: sum('interrupted'),
      claimsExpired: sum('claimsExpired'),
      duplicates,
      orphans,
      auditOk: audit.ok === true,
      pendingIntents: audit.pendingIntents?.length ?? -1,
      cleanStartMs: clean,
      recoveryMedianMs: readies[Math.floor(readies.length / 2)] ?? 0,
      recoveryMaxMs: readies.at(-1) ?? 0,
      recoveryOverheadMs: Math.max(0, (readies[Math.floor(readies.length / 2)] ?? clean) - clean),
      killMomentsMs: moments,
    };
    out(
      `${result.killsSurvived}/${result.kills} kills survived; ${result.succeeded}/${result.deliveries} jobs SUCCEEDED; ` +
        `${result.jobsResumed} resumed, ${result.jobsStarted} started, ${result.jobsInterrupted} interrupted by restarts; ` +
        `${duplicates} duplicates, ${orphans} orphans (bound 0/0); audit ${result.auditOk ? 'ok' : 'BROKEN'}; ` +
        `restart ready in ${result.recoveryMedianMs} ms median (clean start ${clean} ms)`,
    );
    out(JSON.stringify({ bench: 'crash', ...result }));
  } finally {
    await rig.close();
  }
}
