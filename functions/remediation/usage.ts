import { usageStore } from '../metrics/context.ts';
import { readUsage } from '../metrics/usage.ts';
import { providerFor, type Target } from '../runtime/accounts.ts';
import { inParallel } from '../shared/in-parallel.ts';
import { usageWindow } from './filters/idle.ts';
import { evaluateFilter, type Filter, type FilterResult, type Subject } from './filters/index.ts';

/** At most this many metric reads at once: they are provider calls, under its rate limit. */
const READ_CONCURRENCY = 4;

/**
 * Evaluates a filter on subjects, reading usage only where it can still change the outcome: the
 * filter is first evaluated without it (cheap conditions decide most instances), then each
 * subject it may still match gets its usage read (and, for counter providers, a sample stored when
 * `record` is set) and is evaluated again. No idle condition: no provider call at all.
 */
export async function evaluateWithUsage<T extends { target: Target; subject: Subject }>(
  filter: Filter,
  items: T[],
  options: { record: boolean; now?: number },
): Promise<Array<T & { result: FilterResult }>> {
  const evaluated = items.map((item) => ({
    ...item,
    result: evaluateFilter(filter, item.subject, options.now),
  }));
  const window = usageWindow(filter);
  if (window === undefined) return evaluated;
  const pending = evaluated.filter((e) => e.result.match !== false);
  await inParallel(pending, READ_CONCURRENCY, async (e) => {
    e.subject.usage = await readUsage({
      provider: await providerFor(e.target),
      target: e.target,
      instance: e.subject,
      windowSeconds: window,
      store: usageStore(),
      record: options.record,
      ...(options.now !== undefined && { now: options.now }),
    });
    e.result = evaluateFilter(filter, e.subject, options.now);
  });
  return evaluated;
}
