import { randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { PROVIDER_IDS } from '../providers/port.ts';
import type { AuditLog } from '../store/audit.ts';
import { parseOrThrow, type Trigger } from '../store/schemas.ts';
import { JOBS_BY_TIME } from '../store/tables.ts';

/**
 * Temporary exceptions to schedules: "keep running until T" and "skip the next stop/start".
 *
 * Storage: the jobs table, under keys `override#<id>` with `recordType = "override"`. The jobs
 * table's byTime index is partitioned by recordType, so listing overrides is one Query on that
 * index and never mixes with jobs (whose recordType is "job"); overrides carry no `status`, so
 * the byStatus index never sees them. No new table, no new grant for the workflow.
 *
 * Expiry: every override has `until`; after it, readers ignore it (an expired override is
 * simply not "active"), so nothing has to run for it to stop counting. `fleetflow override list
 * --all` still shows expired ones until they are cleared. Set and clear are audited on the
 * `overrides` chain of the audit trail.
 */

export const OVERRIDE_KINDS = ['keep-running', 'skip-next'] as const;
export const OVERRIDE_RECORD_TYPE = 'override';
const KEY_PREFIX = 'override#';
/** The audit chain that records every override set or cleared. */
export const OVERRIDES_CHAIN = 'overrides';

export const overrideScopeSchema = z
  .strictObject({
    schedule: z.string().min(1).max(48).optional(),
    provider: z.enum(PROVIDER_IDS).optional(),
    instanceId: z.string().min(1).max(256).optional(),
  })
  .refine((s) => s.schedule || s.instanceId, {
    message: 'an override names a schedule, an instance, or both',
  });

export const newOverrideSchema = z.strictObject({
  kind: z.enum(OVERRIDE_KINDS),
  scope: overrideScopeSchema,
  /** skip-next: which edge to skip. keep-running always blocks stops. */
  action: z.enum(['start', 'stop']).optional(),
  until: z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString()),
  reason: z.string().max(512).optional(),
});
export type NewOverride = z.input<typeof newOverrideSchema>;

export interface Override {
  id: string;
  kind: (typeof OVERRIDE_KINDS)[number];
  scope: { schedule?: string; provider?: string; instanceId?: string };
  action?: 'start' | 'stop';
  until: string;
  reason?: string;
  createdAt: string;
  createdBy: string;
}

export class OverrideNotFoundError extends Error {
  override name = 'OverrideNotFound';
}

export class OverrideStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly audit: AuditLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async set(input: NewOverride, trigger: Trigger): Promise<Override> {
    const parsed = parseOrThrow(newOverrideSchema, input, 'override');
    const at = this.now();
    if (Date.parse(parsed.until) <= at.getTime())
      throw new RangeError(`override until ${parsed.until} is already past`);
    const override: Override = {
      id: `ovr-${randomBytes(5).toString('hex')}`,
      kind: parsed.kind,
      scope: parsed.scope,
      ...(parsed.kind === 'skip-next' && { action: parsed.action ?? 'stop' }),
      until: parsed.until,
      ...(parsed.reason && { reason: parsed.reason }),
      createdAt: at.toISOString(),
      createdBy: trigger.actor,
    };
    await this.audit.append({
      kind: 'note',
      jobId: OVERRIDES_CHAIN,
      trigger,
      action: 'override.set',
      instanceId: override.scope.instanceId,
      parameters: override,
    });
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { jobId: `${KEY_PREFIX}${override.id}`, recordType: OVERRIDE_RECORD_TYPE, ...override },
        ConditionExpression: 'attribute_not_exists(jobId)',
      }),
    );
    return override;
  }

  /** Active overrides (until still ahead), or every stored one with `all`. */
  async list(options: { all?: boolean } = {}): Promise<Override[]> {
    const out: Override[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: JOBS_BY_TIME,
          KeyConditionExpression: 'recordType = :t',
          ExpressionAttributeValues: { ':t': OVERRIDE_RECORD_TYPE },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) out.push(toOverride(item));
      start = page.LastEvaluatedKey;
    } while (start);
    const now = this.now().toISOString();
    return options.all ? out : out.filter((o) => o.until > now);
  }

  async clear(id: string, trigger: Trigger): Promise<Override> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { jobId: `${KEY_PREFIX}${id}` },
        ConsistentRead: true,
      }),
    );
    if (!Item || Item.recordType !== OVERRIDE_RECORD_TYPE)
      throw new OverrideNotFoundError(`no override ${id}`);
    const override = toOverride(Item);
    await this.audit.append({
      kind: 'note',
      jobId: OVERRIDES_CHAIN,
      trigger,
      action: 'override.clear',
      instanceId: override.scope.instanceId,
      parameters: { id },
    });
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: { jobId: `${KEY_PREFIX}${id}` } }),
    );
    return override;
  }
}

function toOverride(item: Record<string, unknown>): Override {
  const { jobId: _k, recordType: _t, ...rest } = item;
  return rest as unknown as Override;
}

/** The override that keeps `instance` from `action` under `schedule` at `at`, if any. */
export function overrideFor(
  overrides: readonly Override[],
  args: { schedule: string; provider: string; instanceId: string; action: 'start' | 'stop'; at: Date },
): Override | undefined {
  const at = args.at.toISOString();
  return overrides.find((o) => {
    if (o.until <= at || o.createdAt > at) return false;
    if (o.scope.schedule && o.scope.schedule !== args.schedule) return false;
    if (o.scope.provider && o.scope.provider !== args.provider) return false;
    if (o.scope.instanceId && o.scope.instanceId !== args.instanceId) return false;
    if (o.kind === 'keep-running') return args.action === 'stop';
    return (o.action ?? 'stop') === args.action;
  });
}
