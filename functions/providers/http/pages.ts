import { inParallel } from '../../shared/in-parallel.ts';

/**
 * Every page of a paged listing. The first page says how many items there are and how many a
 * page holds (the server may cap the size asked for); the remaining pages are then fetched a few
 * at a time instead of one after another, so a listing of n pages takes about 1 + (n - 1) / 4
 * round trips rather than n (two for a listing of up to five pages). The account's pacing still holds the rate. A reply without a total is walked
 * page by page until a short or empty page.
 */
export interface PageWalk<P> {
  /** Fetches page `index` (0-based); `size` is how many items the first page held (for offset paging). */
  fetch(index: number, size: number): Promise<P>;
  /** How many items a page holds. */
  count(page: P): number;
  /** The total across all pages, where the reply says it. */
  total(page: P): number | undefined;
  /** Pages never fetched beyond this many. */
  maxPages: number;
  /** The page size asked for: without a total, a first page shorter than this is the only one. */
  asked?: number;
  /** Without a total: true when a page repeats the one before (a server that ignores paging) and ends the walk. */
  repeats?: (page: P, before: P) => boolean;
  /** Pages fetched at once after the first. Default 4. */
  concurrency?: number;
}

/** The pages in order, the first included. */
export async function allPages<P>(walk: PageWalk<P>): Promise<P[]> {
  const first = await walk.fetch(0, 0);
  const size = walk.count(first);
  const total = walk.total(first);
  if (size === 0 || (total !== undefined ? size >= total : size < (walk.asked ?? 0))) return [first];
  if (total === undefined) {
    const pages = [first];
    for (let index = 1; index < walk.maxPages; index++) {
      const page = await walk.fetch(index, size);
      if (walk.repeats?.(page, pages.at(-1)!)) break;
      pages.push(page);
      if (walk.count(page) < size) break;
    }
    return pages;
  }
  const pages: P[] = [first];
  const rest = Array.from({ length: Math.min(walk.maxPages, Math.ceil(total / size)) - 1 }, (_, i) => i + 1);
  await inParallel(rest, walk.concurrency ?? 4, async (index) => {
    pages[index] = await walk.fetch(index, size);
  });
  return pages;
}
