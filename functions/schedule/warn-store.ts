import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { createDynamo, isConditionalCheckFailed } from '../store/dynamo.ts';
import { assertItemSize } from '../store/schemas.ts';
import { tableNamesFromEnv } from '../store/tables.ts';
import type { WarnedInstance } from './warn.ts';

/**
 * One record per notice: which instances a warning group listed, for whom, about which stop.
 * A snooze link names its group (not the instances: a link stays short), so clicking it acts on
 * exactly what the notice listed. Kept in the idempotency table under
 * `warning#<kind>#<name>#<stop epoch>#<group>`, expiring a day after the stop (the links expire
 * at the stop). `sent` makes the notice once-only: a retried warn run skips a sent group and
 * resends one whose send a crash cut short (the receiver dedupes by the stable webhook id).
 */

export interface WarningRecord {
  kind: 's' | 'p';
  name: string;
  /** The stop, epoch seconds. */
  stopAt: number;
  group: string;
  owner?: string;
  /** The instances the notice listed; absent when they were too many (`wholeSchedule`). */
  instances: WarnedInstance[];
  /** The group was too big to list: its links act on the whole schedule. */
  wholeSchedule?: boolean;
  /** The timezone times are shown in (the schedule's; UTC for a policy). */
  timezone: string;
  /** When the instances would be stopped next after this stop (the schedule's next stop edge; for a policy, its next sweep). */
  nextStopAt?: number;
  /** What the schedule does with a running instance once an override ends (manualStart). */
  afterOverride: 'next-stop' | 'hourly-check';
  sent: boolean;
  createdAt: string;
}

/** Above this many instances a group's links act on the whole schedule instead. */
export const MAX_GROUP_INSTANCES = 500;

export function warningKey(r: Pick<WarningRecord, 'kind' | 'name' | 'stopAt' | 'group'>): string {
  return `warning#${r.kind}#${r.name}#${r.stopAt}#${r.group}`;
}

export class WarningStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Stores the record unless it exists; returns the stored one either way. */
  async open(record: Omit<WarningRecord, 'sent' | 'createdAt'>): Promise<WarningRecord> {
    const item = {
      id: warningKey(record),
      ...record,
      sent: false,
      createdAt: new Date().toISOString(),
      expiresAt: record.stopAt + 86_400,
    };
    assertItemSize(item, `warning ${item.id}`);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
      return toRecord(item);
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.get(record);
      if (!existing) throw error;
      return existing;
    }
  }

  async get(
    key: Pick<WarningRecord, 'kind' | 'name' | 'stopAt' | 'group'>,
  ): Promise<WarningRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { id: warningKey(key) }, ConsistentRead: true }),
    );
    return Item ? toRecord(Item) : undefined;
  }

  async markSent(key: Pick<WarningRecord, 'kind' | 'name' | 'stopAt' | 'group'>): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id: warningKey(key) },
        UpdateExpression: 'SET sent = :t',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':t': true },
      }),
    );
  }
}

function toRecord(item: Record<string, unknown>): WarningRecord {
  const { id: _id, expiresAt: _e, ...rest } = item;
  return rest as unknown as WarningRecord;
}

let built: { key: string; store: WarningStore } | undefined;

/** The warning records of this process, on the idempotency table the data layer's variables name. */
export function warningStore(env: NodeJS.ProcessEnv = process.env): WarningStore {
  const table = tableNamesFromEnv(env).idempotency;
  const key = JSON.stringify([table, env.AWS_ENDPOINT_URL_DYNAMODB ?? '']);
  if (built?.key !== key) {
    const { doc } = createDynamo(
      env.AWS_ENDPOINT_URL_DYNAMODB ? { endpoint: env.AWS_ENDPOINT_URL_DYNAMODB } : {},
    );
    built = { key, store: new WarningStore(doc, table) };
  }
  return built.store;
}

/**
 * A policy's pending stop of one instance: warned at `warnedAt`, to be stopped by the first sweep
 * at or after `dueAt` unless snoozed. Expires a sweep after it fell due, so an instance a later
 * sweep finds idle again is warned afresh.
 */
export interface PendingStop {
  warnedAt: number;
  dueAt: number;
  group: string;
}

export class PendingStops {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(key: string): Promise<PendingStop | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { id: `pending-stop#${key}` }, ConsistentRead: true }),
    );
    if (!Item || (typeof Item.expiresAt === 'number' && Item.expiresAt * 1000 < Date.now())) return undefined;
    return { warnedAt: Item.warnedAt as number, dueAt: Item.dueAt as number, group: Item.group as string };
  }

  async put(key: string, stop: PendingStop, expiresAt: number): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { id: `pending-stop#${key}`, ...stop, expiresAt } }),
    );
  }

  async clear(key: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { id: `pending-stop#${key}` } }));
  }
}

let builtPending: { key: string; store: PendingStops } | undefined;

export function pendingStops(env: NodeJS.ProcessEnv = process.env): PendingStops {
  const table = tableNamesFromEnv(env).idempotency;
  const key = JSON.stringify([table, env.AWS_ENDPOINT_URL_DYNAMODB ?? '']);
  if (builtPending?.key !== key) {
    const { doc } = createDynamo(
      env.AWS_ENDPOINT_URL_DYNAMODB ? { endpoint: env.AWS_ENDPOINT_URL_DYNAMODB } : {},
    );
    builtPending = { key, store: new PendingStops(doc, table) };
  }
  return builtPending.store;
}
