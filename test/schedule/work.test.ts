import { describe, expect, it } from 'vitest';
import type { RunItem, Tier } from '../../functions/schedule/plan.ts';
import {
  cutIntoPages,
  expandPage,
  PAGE_MAX_BYTES,
  PAGE_MAX_INSTANCES,
} from '../../functions/schedule/work.ts';

const item = (n: number, location = 'ch-gva-2', extra: Partial<RunItem> = {}): RunItem => ({
  target: { provider: 'exoscale', account: 'default', location },
  instanceId: `00000000-0000-4000-a000-${String(n).padStart(12, '0')}`,
  state: 'running',
  ...extra,
});

describe('work pages', () => {
  it('cuts each account of each tier into bounded pages and carries only their keys', () => {
    const tiers: Tier[] = [
      {
        tier: 2,
        groups: [
          {
            provider: 'exoscale',
            account: 'default',
            maxConcurrency: 30,
            items: Array.from({ length: 1234 }, (_, n) => item(n, n % 2 ? 'ch-gva-2' : 'de-fra-1')),
          },
        ],
      },
      {
        tier: 1,
        groups: [
          { provider: 'exoscale', account: 'default', maxConcurrency: 30, items: [item(5000)] },
          {
            provider: 'gcore',
            account: 'ops',
            maxConcurrency: 6,
            items: [{ ...item(6000), target: { provider: 'gcore', account: 'ops', location: '1/76' } }],
          },
        ],
      },
    ];
    const { tiers: work, pages } = cutIntoPages(tiers);
    expect(work).toEqual([
      {
        tier: 2,
        groups: [
          {
            provider: 'exoscale',
            account: 'default',
            pages: ['t0g0p0', 't0g0p1', 't0g0p2'],
            concurrency: 30,
            instances: 1234,
          },
        ],
      },
      {
        tier: 1,
        groups: [
          { provider: 'exoscale', account: 'default', pages: ['t1g0p0'], concurrency: 30, instances: 1 },
          { provider: 'gcore', account: 'ops', pages: ['t1g1p0'], concurrency: 6, instances: 1 },
        ],
      },
    ]);
    // What the workflow carries does not grow with the instances.
    expect(JSON.stringify(work).length).toBeLessThan(1000);
    for (const [, body] of pages) {
      const expanded = expandPage(body);
      expect(expanded.length).toBeLessThanOrEqual(PAGE_MAX_INSTANCES);
      expect(Buffer.byteLength(JSON.stringify({ items: expanded }))).toBeLessThanOrEqual(
        PAGE_MAX_BYTES + 100,
      );
      expect(body.targets.length).toBeLessThanOrEqual(2); // each target once per page
    }
    const back = pages.slice(0, 3).flatMap(([, body]) => expandPage(body));
    expect(back).toEqual(tiers[0]!.groups[0]!.items);
  });

  it('keeps a stop’s savings with each instance, and bounds a page by bytes too', () => {
    const longIds = Array.from({ length: 500 }, (_, n) => ({
      ...item(n, 'ch-gva-2', { hoursSaved: 14, saved: 7 }),
      instanceId: `vm-${'x'.repeat(300)}-${n}`,
    }));
    const { pages } = cutIntoPages([
      { tier: 1, groups: [{ provider: 'exoscale', account: 'default', maxConcurrency: 6, items: longIds }] },
    ]);
    expect(pages.length).toBeGreaterThan(1);
    const back = pages.flatMap(([, body]) => expandPage(body));
    expect(back).toEqual(longIds);
  });

  it('refuses a malformed page rather than guessing', () => {
    expect(() => expandPage(undefined)).toThrow(TypeError);
    expect(() => expandPage({ targets: [], items: [['i-1', 'running', 0]] })).toThrow(/bad item/);
    expect(() =>
      expandPage({ targets: [{ provider: 'aws', account: 'a', location: 'x' }], items: [] }),
    ).toThrow(/bad target/);
    expect(() =>
      expandPage({
        targets: [{ provider: 'exoscale', account: 'a', location: 'x' }],
        items: [['i-1', 'asleep', 0]],
      }),
    ).toThrow(/bad item/);
  });
});
