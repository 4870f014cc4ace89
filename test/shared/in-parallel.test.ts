import { describe, expect, it } from 'vitest';
import { inParallel } from '../../functions/shared/in-parallel.ts';

describe('inParallel', () => {
  it('runs every item once, at most `width` at once, started in item order', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await inParallel([10, 11, 12, 13, 14, 15, 16], 3, async (item, index) => {
      expect(item).toBe(10 + index);
      started.push(index);
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 2 + (index % 3)));
      running--;
    });
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(3);
  });

  it('does nothing for no items, and a failure rejects the whole', async () => {
    await expect(inParallel([], 4, async () => undefined)).resolves.toBeUndefined();
    await expect(
      inParallel([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('two');
      }),
    ).rejects.toThrow('two');
  });
});
