/**
 * Runs `run` on every item, at most `width` at once, started in item order. Each caller's width is
 * its own limit (a provider's rate, DynamoDB's batch throughput, a notifier's patience).
 */
export async function inParallel<T>(
  items: readonly T[],
  width: number,
  run: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await run(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
