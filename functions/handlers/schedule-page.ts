import * as z from 'zod';
import { taskHandler } from '../runtime/handler.ts';
import { stores } from '../runtime/stores.ts';
import { expandPage } from '../schedule/work.ts';

const input = z.object({
  jobId: z.string().min(1),
  page: z.string().min(1),
});

/** A page the plan did not store: the run cannot act on it (not retried by the workflow). */
export class WorkPageNotFoundError extends Error {
  override name = 'WorkPageNotFound';
}

/**
 * Loads one page of a schedule run's work (stored by the plan) as the act Map's items: at most
 * a few hundred instances, so the page's payload stays bounded whatever the fleet.
 */
export const handler = taskHandler('schedule-page', input, async ({ jobId, page }) => {
  const body = await stores().jobs.results.getWorkPage(jobId, page);
  if (body === undefined) throw new WorkPageNotFoundError(`job ${jobId} has no work page ${page}`);
  return { items: expandPage(body) };
});
