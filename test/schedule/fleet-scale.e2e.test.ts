import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '../../functions/providers/port.ts';
import { providerFor } from '../../functions/runtime/accounts.ts';
import { POWER_SCHEDULE_PAGE_MACHINE } from '../../functions/schedule/run.ts';
import type { JobWithResults } from '../../functions/store/jobs.ts';
import type { StoredResult } from '../../functions/store/results.ts';
import { runCli } from '../support/cli.ts';
import { configFor, type Fleet, runSchedule, seedMany, startFleet } from './support/fleet.ts';

/**
 * A fleet the size that used to break a run (about 850 instances in one location filled a state
 * payload; a few thousand filled the job item): 3,000 instances at one provider and one location,
 * fast simulator settings, through the real workflow on the local engine. The run must succeed
 * with every payload under Step Functions' 262,144 bytes and every history under 25,000 events
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), and its results must
 * be readable page by page through the jobs API and the CLI.
 */
const FLEET = 3000;
const PAYLOAD_LIMIT = 262_144;
const HISTORY_LIMIT = 25_000;

describe('power-schedule at fleet scale: 3,000 instances in one location', () => {
  let fleet: Fleet;
  let seeded: Instance[];
  let stopped: { job: JobWithResults; status: string; executionArn: string };

  beforeAll(async () => {
    fleet = await startFleet({ providers: ['exoscale'] });
    seeded = await seedMany(fleet, 'exoscale', FLEET, {
      prefix: 'scale',
      labels: { team: 'scale' },
    });
    const config = configFor(
      fleet.runtime,
      {
        scale: {
          timezone: 'UTC',
          periods: [{ days: ['mon'], start: '08:00', stop: '18:00' }],
          targets: [{ provider: 'exoscale', labels: { team: 'scale' } }],
        },
      },
      {
        // The simulator has no rate limit here: let the run act 40 at a time.
        accounts: [
          {
            provider: 'exoscale',
            locations: [fleet.targets.exoscale.location],
            requestsPerSecond: 1000,
          },
        ],
      },
    );
    stopped = await runSchedule(fleet, config, 'scale', 'stop');
  }, 600_000);
  afterAll(async () => fleet?.close());

  it('stops every instance, verified by listing, and counts the results from their items', async () => {
    expect(stopped.status).toBe('SUCCEEDED');
    expect(stopped.job.status).toBe('SUCCEEDED');
    expect(stopped.job.counts).toEqual({ total: FLEET, succeeded: FLEET, failed: 0, skipped: 0, pending: 0 });
    const listed = await (await providerFor(fleet.targets.exoscale)).list({ labels: { team: 'scale' } });
    expect(listed).toHaveLength(FLEET);
    expect(listed.filter((i) => i.state === 'stopped')).toHaveLength(FLEET);
    // One provider call per instance, plus the listings.
    const sim = fleet.runtime.simulators.exoscale!;
    expect(sim.mutations().filter((r) => r.path.endsWith(':stop'))).toHaveLength(FLEET);
  });

  it('keeps every payload and every history bounded: pages as child executions', () => {
    const { engine } = fleet.runtime;
    const jobId = stopped.job.jobId;
    const pages = engine
      .listExecutions({ stateMachineArn: engine.stateMachineArn(POWER_SCHEDULE_PAGE_MACHINE) })
      .filter((e) => (JSON.parse(e.input) as { jobId?: string }).jobId === jobId);
    expect(pages.length).toBeGreaterThanOrEqual(FLEET / 500);
    expect(pages.every((p) => p.status === 'SUCCEEDED')).toBe(true);
    // The engine enforces both quotas; its counters say how close the run came.
    for (const arn of [stopped.executionArn, ...pages.map((p) => p.executionArn)]) {
      const record = engine.describeExecution(arn);
      expect(record.historyEventCount).toBeLessThan(HISTORY_LIMIT / 2);
      expect(record.maxPayloadBytes).toBeLessThan(PAYLOAD_LIMIT / 2);
    }
    // The parent's history does not grow with the fleet: a few events per page, not per instance.
    expect(engine.describeExecution(stopped.executionArn).historyEventCount).toBeLessThan(200);
  });

  it('pages the results through the jobs API: the job view, then cursor after cursor, filtered by status', async () => {
    const http = fleet.runtime.urls.http;
    const jobId = stopped.job.jobId;
    const view = (await (await fetch(`${http}/jobs/${jobId}`)).json()) as { job: JobWithResults };
    expect(Object.keys(view.job.results)).toHaveLength(100);
    expect(view.job.resultsCursor).toBeDefined();
    expect(view.job.counts?.succeeded).toBe(FLEET);

    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await fetch(
        `${http}/jobs/${jobId}/results?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: StoredResult[]; cursor?: string };
      for (const r of page.items) {
        expect(r).toMatchObject({ status: 'SUCCEEDED', provider: 'exoscale', detail: { state: 'stopped' } });
        seen.add(r.target);
      }
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect([...seen].sort()).toEqual(seeded.map((i) => i.id).sort());

    const failed = (await (await fetch(`${http}/jobs/${jobId}/results?status=FAILED`)).json()) as {
      items: unknown[];
    };
    expect(failed.items).toEqual([]);
    expect((await fetch(`${http}/jobs/${jobId}/results?status=DONE`)).status).toBe(400);
    expect((await fetch(`${http}/jobs/${jobId}/results?cursor=bogus`)).status).toBe(400);
    expect((await fetch(`${http}/jobs/no-such-job/results`)).status).toBe(404);
  });

  it('pages the results through the CLI: a page with a cursor to the next, or --all', async () => {
    const source = ['--endpoint', fleet.runtime.urls.dynamodb, '--data-dir', fleet.dataDir];
    const jobId = stopped.job.jobId;
    const first = await runCli('jobs', 'show', jobId, ...source, '--limit', '500', '--json');
    expect(first.code).toBe(0);
    const shown = JSON.parse(first.stdout) as { job: JobWithResults };
    expect(Object.keys(shown.job.results)).toHaveLength(500);
    const next = await runCli(
      'jobs',
      'show',
      jobId,
      ...source,
      '--limit',
      '500',
      '--cursor',
      shown.job.resultsCursor!,
      '--json',
    );
    const second = JSON.parse(next.stdout) as { job: JobWithResults };
    expect(Object.keys(second.job.results)).toHaveLength(500);
    expect(Object.keys(second.job.results).some((t) => t in shown.job.results)).toBe(false);

    const all = await runCli('jobs', 'show', jobId, ...source, '--status', 'SUCCEEDED', '--all', '--json');
    expect(Object.keys((JSON.parse(all.stdout) as { job: JobWithResults }).job.results)).toHaveLength(FLEET);

    const text = await runCli('jobs', 'show', jobId, ...source, '--limit', '20');
    expect(text.stdout).toContain(`counts     ${FLEET} results: ${FLEET} succeeded, 0 failed, 0 skipped`);
    expect(text.stdout).toMatch(/results \(20 shown, more follow\)/);
    expect(text.stdout).toMatch(new RegExp(`more: fleetflow jobs show ${jobId} --cursor \\S+`));
  });
});
