import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExecutionConflictError,
  IllegalTransitionError,
  JobConflictError,
  JobNotFoundError,
  StoreValidationError,
} from '../../../functions/store/errors.ts';
import { JOB_STATUSES, JOB_TRANSITIONS, type JobStatus, JobStore } from '../../../functions/store/jobs.ts';
import { freshTables, type TestTables } from '../../support/dynamo-servers.ts';
import { newJobId, type StoreContext, trigger } from './context.ts';

/** The path from QUEUED to each status, through legal transitions only. */
const PATH: Record<JobStatus, JobStatus[]> = {
  QUEUED: [],
  RUNNING: ['RUNNING'],
  SUCCEEDED: ['RUNNING', 'SUCCEEDED'],
  FAILED: ['FAILED'],
  PARTIAL: ['RUNNING', 'PARTIAL'],
  CANCELLED: ['CANCELLED'],
  INTERRUPTED: ['RUNNING', 'INTERRUPTED'],
};

export function jobsContract(ctx: StoreContext): void {
  describe('JobStore', () => {
    let jobs: JobStore;
    beforeAll(() => {
      jobs = new JobStore(ctx.dynamo.doc, ctx.names.jobs);
    });

    async function jobIn(status: JobStatus, tag = 'path'): Promise<string> {
      const jobId = newJobId(tag);
      await jobs.create({ jobId, kind: 'remediate', trigger, request: {} });
      await jobs.setExecutionArn(jobId, `arn:aws:states:us-east-1:123456789012:execution:fleetflow:${jobId}`);
      for (const step of PATH[status]) await jobs.transition(jobId, step);
      return jobId;
    }

    it('creates a QUEUED job with its request redacted, and the same create again returns it unchanged', async () => {
      const jobId = newJobId('create');
      const request = {
        instance: { name: 'web-1' },
        apiKey: 'EXO-very-secret-key',
        auth: { password: 'hunter22' },
      };
      const created = await jobs.create({ jobId, kind: 'provision', trigger, request });

      expect(created).toMatchObject({ jobId, kind: 'provision', status: 'QUEUED', steps: [] });
      expect(created.request).toEqual({
        instance: { name: 'web-1' },
        apiKey: '[REDACTED]',
        auth: { password: '[REDACTED]' },
      });
      expect(created.createdAt).toBe(created.updatedAt);
      expect(await jobs.get(jobId)).toEqual(created);
      expect(await jobs.create({ jobId, kind: 'provision', trigger, request })).toEqual(created);
    });

    it('refuses a create with the same id but another request, leaving the job as it was', async () => {
      const jobId = newJobId('conflict');
      const created = await jobs.create({ jobId, kind: 'provision', trigger, request: { size: 'small' } });

      await expect(
        jobs.create({ jobId, kind: 'provision', trigger, request: { size: 'large' } }),
      ).rejects.toThrow(JobConflictError);
      expect(await jobs.get(jobId)).toEqual(created);
    });

    it('runs a whole lifecycle: execution, steps, per-target results, end state', async () => {
      const jobId = newJobId('life');
      await jobs.create({ jobId, kind: 'power-schedule', trigger, request: { schedule: 'office-hours' } });
      const arn = `arn:aws:states:us-east-1:123456789012:execution:power:${jobId}`;
      await jobs.setExecutionArn(jobId, arn);
      const running = await jobs.transition(jobId, 'RUNNING');
      expect(running).toMatchObject({ status: 'RUNNING', executionArn: arn });
      expect(running.endedAt).toBeUndefined();

      const started = { name: 'stop', status: 'STARTED' as const, startedAt: '2026-11-01T18:00:00.000Z' };
      await jobs.appendStep(jobId, started);
      const done = {
        ...started,
        status: 'SUCCEEDED' as const,
        endedAt: '2026-11-01T18:00:05Z',
        detail: { n: 2 },
      };
      await jobs.appendStep(jobId, done);
      await jobs.appendStep(jobId, done); // a retried Lambda
      await jobs.recordResult(jobId, 'exoscale:ch-gva-2:i-1', { status: 'SUCCEEDED', instanceId: 'i-1' });
      await jobs.recordResult(jobId, 'gcore:ed-1:i-2', {
        status: 'FAILED',
        instanceId: 'i-2',
        error: { code: 'ProviderUnavailable', message: 'HTTP 503 with token=abcdef123456' },
      });
      const ended = await jobs.transition(jobId, 'PARTIAL', {
        error: { code: 'SomeTargetsFailed', message: '1 of 2 targets failed' },
      });

      expect(ended.status).toBe('PARTIAL');
      expect(ended.endedAt).toBe(ended.updatedAt);
      expect(ended.steps).toEqual([started, { ...done, endedAt: '2026-11-01T18:00:05.000Z' }]);
      // Counted from the result items when the job ended.
      expect(ended.counts).toEqual({ total: 2, succeeded: 1, failed: 1, skipped: 0, pending: 0 });
      const { items } = await jobs.results.page(jobId);
      expect(items.map((r) => r.target)).toEqual(['exoscale:ch-gva-2:i-1', 'gcore:ed-1:i-2']);
      expect(items[1]?.error?.message).toBe('HTTP 503 with token=[REDACTED]');
      expect(ended.error).toEqual({ code: 'SomeTargetsFailed', message: '1 of 2 targets failed' });
      expect(await jobs.get(jobId)).toEqual(ended);
      const view = await jobs.view(jobId);
      expect(view).toMatchObject({ ...ended, results: { 'gcore:ed-1:i-2': { status: 'FAILED' } } });
      expect(view?.resultsCursor).toBeUndefined();
      // Repeating the transition the job already made is a no-op, not an error.
      expect(await jobs.transition(jobId, 'PARTIAL')).toEqual(ended);
    });

    it('never marks a job RUNNING without an execution behind it', async () => {
      const jobId = newJobId('noexec');
      await jobs.create({ jobId, kind: 'provision', trigger, request: {} });

      const error = await jobs.transition(jobId, 'RUNNING').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IllegalTransitionError);
      expect((error as Error).message).toContain('no execution attached');
      expect((await jobs.get(jobId))?.status).toBe('QUEUED');

      const running = await jobs.transition(jobId, 'RUNNING', { executionArn: 'arn:exec:1' });
      expect(running).toMatchObject({ status: 'RUNNING', executionArn: 'arn:exec:1' });
    });

    it('binds one execution only', async () => {
      const jobId = newJobId('arn');
      await jobs.create({ jobId, kind: 'provision', trigger, request: {} });
      await jobs.setExecutionArn(jobId, 'arn:exec:a');
      await jobs.setExecutionArn(jobId, 'arn:exec:a');

      await expect(jobs.setExecutionArn(jobId, 'arn:exec:b')).rejects.toThrow(ExecutionConflictError);
      await expect(jobs.transition(jobId, 'RUNNING', { executionArn: 'arn:exec:b' })).rejects.toThrow(
        ExecutionConflictError,
      );
      expect(await jobs.get(jobId)).toMatchObject({ status: 'QUEUED', executionArn: 'arn:exec:a' });
    });

    it.each(JOB_STATUSES)('from %s allows exactly the listed transitions', async (from) => {
      const jobIds = await Promise.all(JOB_STATUSES.map(() => jobIn(from)));
      await Promise.all(
        JOB_STATUSES.map(async (to, i) => {
          const jobId = jobIds[i]!;
          const attempt = jobs.transition(jobId, to);
          if (JOB_TRANSITIONS[from].includes(to)) {
            expect((await attempt).status).toBe(to);
          } else if (from === to) {
            expect((await attempt).status).toBe(to); // idempotent repeat
          } else {
            await expect(attempt).rejects.toThrow(IllegalTransitionError);
            expect((await jobs.get(jobId))?.status).toBe(from);
          }
        }),
      );
    });

    it('lets exactly one of several racing end states win', async () => {
      const jobId = await jobIn('RUNNING', 'race');
      const ends: JobStatus[] = ['SUCCEEDED', 'FAILED', 'PARTIAL', 'CANCELLED', 'INTERRUPTED'];
      const settled = await Promise.allSettled(ends.map((to) => jobs.transition(jobId, to)));

      const winners = settled.filter((s) => s.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const s of settled)
        if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(IllegalTransitionError);
      expect((await jobs.get(jobId))?.status).toBe(winners[0]?.value.status);
    });

    it('reports a missing job with a typed error', async () => {
      await expect(jobs.transition('no-such-job', 'FAILED')).rejects.toThrow(JobNotFoundError);
      await expect(jobs.recordResult('no-such-job', 't', { status: 'SKIPPED' })).rejects.toThrow(
        JobNotFoundError,
      );
      await expect(
        jobs.appendStep('no-such-job', { name: 'x', status: 'STARTED', startedAt: new Date().toISOString() }),
      ).rejects.toThrow(JobNotFoundError);
      await expect(jobs.require('no-such-job')).rejects.toThrow(JobNotFoundError);
      expect(await jobs.get('no-such-job')).toBeUndefined();
    });

    describe('bad input changes nothing', () => {
      it('rejects an invalid job before writing', async () => {
        const jobId = newJobId('invalid');
        const bad = [
          { jobId, kind: 'Provision!', trigger, request: {} },
          { jobId, kind: 'provision', trigger: { type: 'webhook' }, request: {} },
          { jobId, kind: 'provision', trigger, request: { n: Number.NaN } },
          { jobId, kind: 'provision', trigger, request: {}, createdAt: 'yesterday' },
          { jobId: 'has space', kind: 'provision', trigger, request: {} },
          { jobId, kind: 'provision', trigger, request: {}, extra: true },
        ];
        for (const input of bad) {
          await expect(jobs.create(input as never)).rejects.toThrow(StoreValidationError);
        }
        expect(await jobs.get(jobId)).toBeUndefined();
      });

      it('rejects a job over 400 KB before writing', async () => {
        const jobId = newJobId('huge');
        const request = { userData: 'x'.repeat(410 * 1024) };
        const error = await jobs
          .create({ jobId, kind: 'provision', trigger, request })
          .catch((e: unknown) => e);

        expect(error).toBeInstanceOf(StoreValidationError);
        expect((error as Error).message).toMatch(/item limit/);
        const raw = await ctx.dynamo.doc.send(new GetCommand({ TableName: ctx.names.jobs, Key: { jobId } }));
        expect(raw.Item).toBeUndefined();
      });

      it('rejects an oversized or invalid step and result, leaving the job as it was', async () => {
        const jobId = await jobIn('RUNNING', 'badstep');
        const before = await jobs.require(jobId);
        const at = new Date().toISOString();

        await expect(
          jobs.appendStep(jobId, {
            name: 'snap',
            status: 'STARTED',
            startedAt: at,
            detail: 'y'.repeat(20_000),
          }),
        ).rejects.toThrow(StoreValidationError);
        await expect(
          jobs.appendStep(jobId, { name: 'snap', status: 'DONE' as never, startedAt: at }),
        ).rejects.toThrow(StoreValidationError);
        await expect(
          jobs.recordResult(jobId, 'i-1', { status: 'SUCCEEDED', detail: 'z'.repeat(20_000) }),
        ).rejects.toThrow(StoreValidationError);
        await expect(jobs.transition(jobId, 'DONE' as JobStatus)).rejects.toThrow(StoreValidationError);
        expect(await jobs.require(jobId)).toEqual(before);
      });

      it('maps a job that grows past the item limit to StoreValidationError, with the last step not written', async () => {
        const jobId = await jobIn('RUNNING', 'grow');
        const detail = 'd'.repeat(15_000);
        let appended = 0;
        let failure: unknown;
        for (let i = 0; i < 40 && !failure; i++) {
          const startedAt = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
          try {
            await jobs.appendStep(jobId, { name: `step-${i}`, status: 'SUCCEEDED', startedAt, detail });
            appended++;
          } catch (error) {
            failure = error;
          }
        }
        expect(failure).toBeInstanceOf(StoreValidationError);
        expect(appended).toBeGreaterThan(20);
        expect((await jobs.require(jobId)).steps).toHaveLength(appended);
      });
    });

    describe('listing', () => {
      let listed: JobStore;
      let tables: TestTables | undefined;
      const ids: string[] = [];
      afterAll(() => tables?.dynamo.destroy());
      beforeAll(async () => {
        // Own tables: the by-time index spans every job, so counts must not see other tests' jobs.
        tables = await freshTables(ctx.server, 'list');
        let tick = Date.UTC(2026, 10, 1);
        const clock = () => {
          tick += 1000; // one second apart, so the by-time order is known
          return new Date(tick);
        };
        listed = new JobStore(tables.dynamo.doc, tables.names.jobs, { now: clock });
        for (let i = 0; i < 25; i++) {
          const jobId = `list-${String(i).padStart(2, '0')}`;
          ids.push(jobId);
          await listed.create({ jobId, kind: 'power-schedule', trigger, request: { i } });
        }
        for (const jobId of ids.slice(0, 9))
          await listed.transition(jobId, 'RUNNING', { executionArn: `arn:${jobId}` });
      });

      it('pages through jobs by time, newest first, with cursors', async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await listed.list({}, { limit: 7, ...(cursor ? { cursor } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(7);
          seen.push(...page.items.map((j) => j.jobId));
          cursor = page.cursor;
          pages++;
        } while (cursor);

        expect(pages).toBeGreaterThanOrEqual(4);
        expect(seen).toEqual([...ids].reverse());
      });

      it('lists by status, in both orders, and every page with listAll', async () => {
        const running = [];
        for await (const job of listed.listAll({ status: 'RUNNING' }, { pageSize: 2 }))
          running.push(job.jobId);
        expect(running).toEqual(ids.slice(0, 9).reverse());

        const oldestQueued = await listed.list({ status: 'QUEUED', order: 'oldest' }, { limit: 3 });
        expect(oldestQueued.items.map((j) => j.jobId)).toEqual(ids.slice(9, 12));
        expect(oldestQueued.cursor).toBeDefined();

        const all = [];
        for await (const job of listed.listAll({}, { pageSize: 4 })) all.push(job.jobId);
        expect(all).toHaveLength(25);
        expect((await listed.list({ status: 'FAILED' })).items).toEqual([]);
      });

      it('rejects a garbage cursor and a bad limit', async () => {
        await expect(listed.list({}, { cursor: 'not-a-cursor' })).rejects.toThrow(StoreValidationError);
        await expect(listed.list({}, { limit: 0 })).rejects.toThrow(StoreValidationError);
        await expect(listed.list({ status: 'DONE' as JobStatus })).rejects.toThrow(StoreValidationError);
      });
    });
  });
}
