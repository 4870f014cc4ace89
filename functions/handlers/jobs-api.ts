import { logger } from '../log.ts';
import { stores } from '../runtime/stores.ts';
import { isStoreUnavailable } from '../store/dynamo.ts';
import { StoreValidationError } from '../store/errors.ts';
import { JOB_STATUSES, type JobStatus } from '../store/jobs.ts';
import { TARGET_RESULT_STATUSES, type TargetResultStatus } from '../store/results.ts';
import { type HttpApiEvent, type HttpApiResult, json, problem } from '../webhooks/http-event.ts';

const log = logger.child({ handler: 'jobs-api' });

/**
 * GET /jobs/{id}: a job with its counts, steps, first page of results (`results` by target,
 * `resultsCursor` when there are more), audit events and any intent without an outcome.
 * GET /jobs/{id}/results?status=&limit=&cursor=: one page of a job's results, in target order.
 * GET /jobs?status=&limit=&cursor=: one page of jobs, newest first.
 */
export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  try {
    const { jobs, audit } = stores();
    const id = event.pathParameters?.id;
    const q = event.queryStringParameters ?? {};
    if (id && event.routeKey.endsWith('/{id}/results')) {
      const limit = q.limit ? Number(q.limit) : 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        return problem(400, 'invalid-limit', 'limit must be 1-1000');
      if (q.status && !TARGET_RESULT_STATUSES.includes(q.status as TargetResultStatus))
        return problem(400, 'invalid-status', `status must be one of ${TARGET_RESULT_STATUSES.join(', ')}`);
      if (!(await jobs.get(id))) return problem(404, 'job-not-found', `no job ${id}`);
      const page = await jobs.results.page(id, q.status ? { status: q.status as TargetResultStatus } : {}, {
        limit,
        ...(q.cursor && { cursor: q.cursor }),
      });
      return json(200, page);
    }
    if (id) {
      const job = await jobs.view(id);
      if (!job) return problem(404, 'job-not-found', `no job ${id}`);
      const [events, pendingIntents] = await Promise.all([
        audit.byJob(id, { limit: 200, order: 'oldest' }),
        audit.pendingIntents(id),
      ]);
      return json(200, { job, audit: events.items, pendingIntents });
    }
    if (q.status && !JOB_STATUSES.includes(q.status as JobStatus)) {
      return problem(400, 'invalid-status', `status must be one of ${JOB_STATUSES.join(', ')}`);
    }
    const limit = q.limit ? Number(q.limit) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200)
      return problem(400, 'invalid-limit', 'limit must be 1-200');
    const page = await jobs.list(q.status ? { status: q.status as JobStatus } : {}, {
      limit,
      ...(q.cursor && { cursor: q.cursor }),
    });
    return json(200, page);
  } catch (error) {
    if (error instanceof StoreValidationError) return problem(400, 'invalid-query', error.message);
    if (isStoreUnavailable(error)) {
      log.error('jobs store unavailable', {
        error: (error as Error).name,
        message: (error as Error).message,
      });
      return problem(503, 'store-unavailable', 'the job store cannot be read now; try again later', {
        'retry-after': '10',
      });
    }
    log.error('jobs api failed', { error: (error as Error).name, message: (error as Error).message });
    return problem(500, 'internal-error', 'internal error');
  }
}
