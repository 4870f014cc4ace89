import { beforeAll, describe, expect, it } from 'vitest';
import { StoreValidationError } from '../../../functions/store/errors.ts';
import { JobStore } from '../../../functions/store/jobs.ts';
import type { NewResult } from '../../../functions/store/results.ts';
import { newJobId, type StoreContext, trigger } from './context.ts';

/** A job's results and work pages: items of their own, read page by page, counted, never in the job item. */
export function resultsContract(ctx: StoreContext): void {
  describe('ResultStore (job items)', () => {
    let jobs: JobStore;
    beforeAll(() => {
      jobs = new JobStore(ctx.dynamo.doc, ctx.names);
    });

    const STATUSES = ['SUCCEEDED', 'FAILED', 'SKIPPED'] as const;
    /** 1,234 results: more than a BatchWriteItem (25) or a page can take, far more than a job item could. */
    const many = (n: number): Array<[string, NewResult]> =>
      Array.from({ length: n }, (_, i) => [
        `i-${String(i).padStart(5, '0')}`,
        {
          status: STATUSES[i % 3]!,
          provider: 'exoscale',
          instanceId: `i-${i}`,
          detail: { note: 'x'.repeat(200) },
          ...(i % 3 === 1 && { error: { code: 'Boom', message: `token=secret-${i}` } }),
        },
      ]);

    it('records thousands of results in batches, pages through them in order and counts them', async () => {
      const jobId = newJobId('many');
      await jobs.create({ jobId, kind: 'power-schedule', trigger, request: {} });
      const results = many(1234);
      await jobs.recordResults(jobId, results);

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await jobs.results.page(jobId, {}, { limit: 300, ...(cursor && { cursor }) });
        expect(page.items.length).toBeLessThanOrEqual(300);
        seen.push(...page.items.map((r) => r.target));
        cursor = page.cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(5);
      expect(seen).toEqual(results.map(([t]) => t));
      expect(await jobs.results.counts(jobId)).toEqual({
        total: 1234,
        succeeded: 412,
        failed: 411,
        skipped: 411,
        pending: 0,
      });
      // Secrets in errors are redacted on the way in.
      const failed = await jobs.results.page(jobId, { status: 'FAILED' }, { limit: 2 });
      expect(failed.items.map((r) => r.status)).toEqual(['FAILED', 'FAILED']);
      expect(failed.items[0]?.error?.message).toBe('token=[REDACTED]');

      // The job item itself stays small: a view carries one page and a cursor to the rest.
      const view = await jobs.view(jobId);
      expect(Object.keys(view!.results)).toHaveLength(100);
      expect(view!.resultsCursor).toBeDefined();
    });

    it('filters by status across pages, however sparse the matches', async () => {
      const jobId = newJobId('sparse');
      await jobs.create({ jobId, kind: 'power-schedule', trigger, request: {} });
      const results = many(900).map(([t, r], i): [string, NewResult] => [
        t,
        { ...r, status: i % 300 === 299 ? 'FAILED' : 'SUCCEEDED' },
      ]);
      await jobs.recordResults(jobId, results);
      const failed = [];
      for await (const r of jobs.results.all(jobId, { status: 'FAILED' }, { pageSize: 2 }))
        failed.push(r.target);
      expect(failed).toEqual(['i-00299', 'i-00599', 'i-00899']);
    });

    it('never lets a late PENDING write undo a settled result', async () => {
      const jobId = newJobId('settled');
      await jobs.create({ jobId, kind: 'power-schedule', trigger, request: {} });
      const pending: NewResult = { status: 'PENDING', detail: { op: 'op-1' } };
      expect(await jobs.results.record(jobId, 'i-1', pending, { unlessSettled: true })).toBe(true);
      expect(await jobs.results.record(jobId, 'i-1', pending, { unlessSettled: true })).toBe(true);
      await jobs.results.record(jobId, 'i-1', { status: 'SUCCEEDED' });
      expect(await jobs.results.record(jobId, 'i-1', pending, { unlessSettled: true })).toBe(false);
      expect((await jobs.results.get(jobId, ['i-1', 'i-2'])).get('i-1')?.status).toBe('SUCCEEDED');
      expect((await jobs.results.get(jobId, ['i-2'])).size).toBe(0);
    });

    it('refuses bad results and foreign cursors, writing nothing', async () => {
      const jobId = newJobId('bad');
      const other = newJobId('other');
      for (const id of [jobId, other])
        await jobs.create({ jobId: id, kind: 'power-schedule', trigger, request: {} });
      await jobs.recordResults(other, many(3));
      const valid = many(30);
      const bad: Array<[string, NewResult]> = [...valid, ['i-bad', { status: 'DONE' as never }]];
      await expect(jobs.recordResults(jobId, bad)).rejects.toThrow(StoreValidationError);
      await expect(
        jobs.recordResults(jobId, [['i-big', { status: 'SUCCEEDED', detail: 'z'.repeat(20_000) }]]),
      ).rejects.toThrow(StoreValidationError);
      expect((await jobs.results.page(jobId)).items).toEqual([]);

      const otherPage = await jobs.results.page(other, {}, { limit: 1 });
      await expect(jobs.results.page(jobId, {}, { cursor: otherPage.cursor! })).rejects.toThrow(
        StoreValidationError,
      );
      await expect(jobs.results.page(jobId, {}, { cursor: 'not-a-cursor' })).rejects.toThrow(
        StoreValidationError,
      );
      await expect(jobs.recordResults('no-such-job', valid)).rejects.toThrow(/not found/);
    });

    it('keeps work pages apart from results, bounded in size', async () => {
      const jobId = newJobId('pages');
      await jobs.create({ jobId, kind: 'power-schedule', trigger, request: {} });
      await jobs.results.putWorkPages(jobId, [
        ['t0g0p0', { items: [1, 2, 3] }],
        ['t0g0p1', { items: [4] }],
      ]);
      expect(await jobs.results.getWorkPage(jobId, 't0g0p1')).toEqual({ items: [4] });
      expect(await jobs.results.getWorkPage(jobId, 't0g0p9')).toBeUndefined();
      expect((await jobs.results.page(jobId)).items).toEqual([]);
      expect((await jobs.results.counts(jobId)).total).toBe(0);
      await expect(
        jobs.results.putWorkPage(jobId, 't0g0p2', { items: 'p'.repeat(200 * 1024) }),
      ).rejects.toThrow(StoreValidationError);
      expect(await jobs.results.getWorkPage(jobId, 't0g0p2')).toBeUndefined();
    });
  });
}
