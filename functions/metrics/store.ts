import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../store/dynamo.ts';

/**
 * fleetflow's own samples of a provider's running counters (CloudStack's network counters, with
 * its `cpuused` beside them), one item per instance in the idempotency table under
 * `usage#<provider>#<account>#<location>#<id>`: a provider that keeps no history gives a rate
 * only between two readings, so each sweep leaves one.
 *
 * Bounded: at most MAX_POINTS, none older than KEEP_MS (the longest idle window and a margin),
 * each point three numbers. Expiring: the item's `expiresAt` (the table's TTL attribute) moves on
 * with each write, so an instance nobody samples any more leaves nothing behind. Concurrent
 * sweeps append with a version condition and re-read on a conflict: no sample is lost to a race.
 */

/** One reading: epoch milliseconds, CPU percent, and the counter's value (KiB) if reported. */
export interface CounterPoint {
  at: number;
  cpu?: number;
  kb?: number;
}

const PREFIX = 'usage#';
export const MAX_POINTS = 1000;
/** The longest idle window (7 days) and a day of margin. */
export const KEEP_MS = 8 * 86_400_000;

type Stored = [number, number | null, number | null];

export class UsageStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The points kept for an instance, oldest first (none when absent or expired). */
  async read(key: string): Promise<CounterPoint[]> {
    return (await this.load(key)).points;
  }

  /**
   * Adds a reading and returns every point kept, oldest first. A reading closer than
   * `minSpacingMs` to the last kept one is not stored (two sweeps a moment apart would make a
   * rate over a moment); the points are then returned as they were.
   */
  async record(key: string, point: CounterPoint, options: { minSpacingMs: number }): Promise<CounterPoint[]> {
    for (let attempt = 0; ; attempt++) {
      const { points, version } = await this.load(key);
      const last = points.at(-1);
      if (last && point.at - last.at < options.minSpacingMs) return points;
      const now = this.now();
      const kept = [...points, point].filter((p) => p.at >= now - KEEP_MS).slice(-MAX_POINTS);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              id: `${PREFIX}${key}`,
              points: kept.map((p): Stored => [p.at, p.cpu ?? null, p.kb ?? null]),
              version: version + 1,
              expiresAt: Math.floor((now + KEEP_MS) / 1000),
            },
            ConditionExpression: version === 0 ? 'attribute_not_exists(id)' : 'version = :v',
            ...(version === 0 ? {} : { ExpressionAttributeValues: { ':v': version } }),
          }),
        );
        return kept;
      } catch (error) {
        // Another sweep wrote in between: read its points and add ours to them.
        if (!isConditionalCheckFailed(error) || attempt >= 4) throw error;
      }
    }
  }

  private async load(key: string): Promise<{ points: CounterPoint[]; version: number }> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { id: `${PREFIX}${key}` }, ConsistentRead: true }),
    );
    if (!Item) return { points: [], version: 0 };
    const version = typeof Item.version === 'number' ? Item.version : 0;
    // Expired but not yet removed by TTL (which takes its time): as if absent, but the version stands.
    if (typeof Item.expiresAt === 'number' && Item.expiresAt * 1000 < this.now())
      return { points: [], version };
    const points = (Array.isArray(Item.points) ? (Item.points as Stored[]) : []).map(([at, cpu, kb]) => ({
      at,
      ...(cpu !== null && { cpu }),
      ...(kb !== null && { kb }),
    }));
    return { points, version };
  }
}

/** The store key of an instance: provider, account, location and id. */
export function usageKey(
  target: { provider: string; account: string; location: string },
  id: string,
): string {
  return `${target.provider}#${target.account}#${target.location}#${id}`;
}
