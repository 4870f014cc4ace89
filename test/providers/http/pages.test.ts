import { describe, expect, it } from 'vitest';
import { allPages } from '../../../functions/providers/http/pages.ts';

interface Page {
  items: number[];
  total?: number;
}

/** A paged listing of `n` items, `cap` per page whatever is asked, with or without a total. */
function listing(n: number, cap: number, withTotal = true) {
  const calls: number[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const fetch = async (index: number): Promise<Page> => {
    calls.push(index);
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    const items = Array.from(
      { length: Math.max(0, Math.min(cap, n - index * cap)) },
      (_, i) => index * cap + i,
    );
    return { items, ...(withTotal && { total: n }) };
  };
  return { fetch, calls, mostInFlight: () => mostInFlight };
}

const walk = (l: ReturnType<typeof listing>, extra: Record<string, unknown> = {}) =>
  allPages<Page>({
    fetch: l.fetch,
    count: (p) => p.items.length,
    total: (p) => p.total,
    maxPages: 1_000,
    ...extra,
  });

describe('every page of a listing', () => {
  it('fetches the pages the first one announces, a few at once, and returns them in order', async () => {
    const l = listing(23, 5);
    const pages = await walk(l, { concurrency: 2 });
    expect(pages.flatMap((p) => p.items)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(l.calls[0]).toBe(0);
    expect([...l.calls].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(l.mostInFlight()).toBe(2);
  });

  it('uses the size the server answered with, not the size asked for', async () => {
    const l = listing(12, 4);
    const pages = await walk(l, { asked: 100 });
    expect(pages).toHaveLength(3);
    expect(pages.flatMap((p) => p.items)).toHaveLength(12);
  });

  it('stops at the first page when it holds everything, or when nothing is there', async () => {
    const all = listing(7, 100);
    expect(await walk(all)).toHaveLength(1);
    expect(all.calls).toEqual([0]);
    const none = listing(0, 100);
    expect((await walk(none)).flatMap((p) => p.items)).toEqual([]);
    expect(none.calls).toEqual([0]);
  });

  it('without a total, walks page by page until a short page', async () => {
    const l = listing(23, 5, false);
    const pages = await walk(l, { asked: 5 });
    expect(pages.flatMap((p) => p.items)).toHaveLength(23);
    expect(l.calls).toEqual([0, 1, 2, 3, 4]);
    expect(l.mostInFlight()).toBe(1);
    // A first page shorter than asked is the only one.
    const short = listing(3, 5, false);
    expect(await walk(short, { asked: 10 })).toHaveLength(1);
    expect(short.calls).toEqual([0]);
  });

  it('without a total, a page repeating the one before ends the walk (a server that ignores paging)', async () => {
    const calls: number[] = [];
    const pages = await allPages<Page>({
      fetch: async (index) => {
        calls.push(index);
        return { items: [1, 2, 3] };
      },
      count: (p) => p.items.length,
      total: () => undefined,
      maxPages: 1_000,
      repeats: (page, before) => page.items[0] === before.items[0],
    });
    expect(pages).toHaveLength(1);
    expect(calls).toEqual([0, 1]);
  });

  it('never fetches more than maxPages', async () => {
    const l = listing(1_000, 10);
    const pages = await walk(l, { maxPages: 7 });
    expect(pages).toHaveLength(7);
    expect(l.calls).toHaveLength(7);
  });
});
