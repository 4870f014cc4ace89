import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { inParallel } from '../shared/in-parallel.ts';
import { redactText, redactValue } from '../shared/redact.ts';
import { isConditionalCheckFailed } from './dynamo.ts';
import { StoreValidationError } from './errors.ts';
import { fragmentSizeBytes } from './item-size.ts';
import { decodeCursor, encodeCursor, type Page, type PageOptions, pageSize } from './pages.ts';
import {
  assertFragmentSize,
  type ErrorInfo,
  errorInfoSchema,
  isoTimestamp,
  type JsonValue,
  jsonValue,
  parseOrThrow,
} from './schemas.ts';

/**
 * What a job holds many of, one DynamoDB item each (table `jobItems`, key jobId + sk), so that no
 * job item, state payload or execution history grows with the fleet:
 * - per-target results (`r#<target>`): one per instance a job touched or skipped, read back
 *   page by page, counted by a Query when the job ends (never incremented: a retried or replayed
 *   step cannot skew a count);
 * - work pages (`p#<key>`): a bounded slice of a run's work (a schedule run's instances), written
 *   by the step that plans the work and read by the step that does it, so the workflow passes
 *   page keys around instead of the fleet.
 */

export const TARGET_RESULT_STATUSES = ['SUCCEEDED', 'FAILED', 'SKIPPED', 'PENDING'] as const;
export type TargetResultStatus = (typeof TARGET_RESULT_STATUSES)[number];

/** The outcome for one target (usually one instance) of a job. PENDING: acted on, not yet verified. */
export interface TargetResult {
  status: TargetResultStatus;
  at: string;
  provider?: string;
  instanceId?: string;
  detail?: JsonValue;
  error?: ErrorInfo;
}

/** A result with the target id it is kept under. */
export interface StoredResult extends TargetResult {
  target: string;
}

export type NewResult = Omit<TargetResult, 'at'> & { at?: string };

/** A job's results by status, derived from the result items. */
export interface ResultCounts {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  pending: number;
}

/** A result may take this much of its item; it used to share the job's 400 KB, the bound stays. */
export const MAX_RESULT_BYTES = 16 * 1024;
/** A work page stays well under DynamoDB's 400 KB item limit (and a state payload's 256 KB). */
export const MAX_WORK_PAGE_BYTES = 128 * 1024;

const RESULT_PREFIX = 'r#';
const PAGE_PREFIX = 'p#';
/** BatchWriteItem takes 25 items, BatchGetItem 100 keys (DynamoDB's limits). */
const BATCH_WRITE = 25;
const BATCH_GET = 100;
/** Batches in flight at once: enough to hide latency, few enough not to hog a small server. */
const PARALLEL_BATCHES = 4;
/** A filtered page reads at most this many Query pages before it answers with what it found. */
const MAX_FILTERED_READS = 20;
/** Tries of a batch whose items DynamoDB keeps handing back unprocessed (throttling). */
const MAX_BATCH_TRIES = 10;

const targetId = z.string().min(1).max(512);
const resultSchema = z.strictObject({
  status: z.enum(TARGET_RESULT_STATUSES),
  at: isoTimestamp.optional(),
  provider: z.string().min(1).max(64).optional(),
  instanceId: z.string().min(1).max(256).optional(),
  detail: jsonValue.optional(),
  error: errorInfoSchema.optional(),
});
const pageKey = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_.:#@/+=-]+$/, 'letters, digits and _ . : # @ / + = - only');

export interface ResultQuery {
  /** Only results in this status. */
  status?: TargetResultStatus;
}

export class ResultStore {
  readonly #now: () => Date;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    options: { now?: () => Date } = {},
  ) {
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Records (or replaces) one target's result. `unlessSettled`: only if the target has no result
   * yet or a PENDING one, so a late write (a timed-out attempt still running) never undoes a
   * verified outcome; returns false when it was left alone.
   */
  async record(
    jobId: string,
    target: string,
    result: NewResult,
    options: { unlessSettled?: boolean } = {},
  ): Promise<boolean> {
    const item = this.#item(jobId, target, result, this.#now().toISOString());
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(options.unlessSettled && {
            ConditionExpression: 'attribute_not_exists(sk) OR #status = :pending',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':pending': 'PENDING' },
          }),
        }),
      );
      return true;
    } catch (error) {
      if (options.unlessSettled && isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Records many results with BatchWriteItem (25 per request, a few requests at a time, unprocessed
   * items retried with backoff). Every result is checked before anything is written.
   */
  async recordMany(jobId: string, results: ReadonlyArray<readonly [target: string, result: NewResult]>) {
    const at = this.#now().toISOString();
    const items = results.map(([target, result]) => this.#item(jobId, target, result, at));
    await this.#batchWrite(items);
  }

  /** The results of some targets (consistent reads); targets without one are absent. */
  async get(jobId: string, targets: readonly string[]): Promise<Map<string, StoredResult>> {
    const out = new Map<string, StoredResult>();
    const unique = [...new Set(targets)];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += BATCH_GET) chunks.push(unique.slice(i, i + BATCH_GET));
    await inParallel(chunks, PARALLEL_BATCHES, async (chunk) => {
      let keys: Array<Record<string, unknown>> = chunk.map((t) => ({ jobId, sk: `${RESULT_PREFIX}${t}` }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt, 'BatchGetItem');
        const { Responses, UnprocessedKeys } = await this.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of Responses?.[this.tableName] ?? []) {
          const r = toResult(item);
          out.set(r.target, r);
        }
        keys = (UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Array<Record<string, unknown>>;
      }
    });
    return out;
  }

  /**
   * One page of a job's results in target order. With a status filter a page may hold fewer than
   * `limit` results (even none) and still carry a cursor: follow it until it is absent.
   */
  async page(jobId: string, query: ResultQuery = {}, page: PageOptions = {}): Promise<Page<StoredResult>> {
    const limit = pageSize(page.limit);
    if (query.status !== undefined && !TARGET_RESULT_STATUSES.includes(query.status))
      throw new StoreValidationError(`unknown result status ${String(query.status)}`);
    const items: StoredResult[] = [];
    let start = decodeCursor(page.cursor);
    // A cursor only continues this job's results (it is the key of the last one read).
    if (
      start &&
      (start.jobId !== jobId ||
        !String(start.sk).startsWith(RESULT_PREFIX) ||
        Object.keys(start).length !== 2)
    )
      throw new StoreValidationError('invalid page cursor');
    for (let reads = 0; reads < (query.status ? MAX_FILTERED_READS : 1); reads++) {
      const { Items, LastEvaluatedKey } = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'jobId = :job AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: {
            ':job': jobId,
            ':prefix': RESULT_PREFIX,
            ...(query.status && { ':status': query.status }),
          },
          ...(query.status && {
            FilterExpression: '#status = :status',
            ExpressionAttributeNames: { '#status': 'status' },
          }),
          ConsistentRead: true,
          Limit: query.status ? Math.max(limit, 500) : limit - items.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of Items ?? []) {
        items.push(toResult(item));
        if (items.length === limit) {
          // Full: continue after the last result given, whatever the Query read past it.
          const last = items[items.length - 1]!;
          const more = LastEvaluatedKey !== undefined || item !== Items?.[Items.length - 1];
          const cursor = more ? encodeCursor({ jobId, sk: `${RESULT_PREFIX}${last.target}` }) : undefined;
          return { items, ...(cursor && { cursor }) };
        }
      }
      start = LastEvaluatedKey;
      if (!start) break;
    }
    const cursor = encodeCursor(start);
    return { items, ...(cursor && { cursor }) };
  }

  /** Every result of a job (or those in one status), page after page. */
  async *all(jobId: string, query: ResultQuery = {}, options: { pageSize?: number } = {}) {
    let cursor: string | undefined;
    do {
      const page = await this.page(jobId, query, {
        limit: options.pageSize ?? 500,
        ...(cursor && { cursor }),
      });
      yield* page.items;
      cursor = page.cursor;
    } while (cursor);
  }

  /** A job's results counted by status: one consistent Query over its result items. */
  async counts(jobId: string): Promise<ResultCounts> {
    const counts: ResultCounts = { total: 0, succeeded: 0, failed: 0, skipped: 0, pending: 0 };
    let start: Record<string, unknown> | undefined;
    do {
      const { Items, LastEvaluatedKey } = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'jobId = :job AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':job': jobId, ':prefix': RESULT_PREFIX },
          ExpressionAttributeNames: { '#status': 'status' },
          ProjectionExpression: '#status',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const { status } of Items ?? []) {
        counts.total++;
        const key = String(status).toLowerCase() as keyof ResultCounts;
        if (key in counts && key !== 'total') counts[key]++;
      }
      start = LastEvaluatedKey;
    } while (start);
    return counts;
  }

  /** Stores a page of work under `key` (replacing it): any JSON, at most MAX_WORK_PAGE_BYTES. */
  async putWorkPage(jobId: string, key: string, body: unknown): Promise<void> {
    await this.putWorkPages(jobId, [[key, body]]);
  }

  /** Stores several pages of work at once (checked before anything is written). */
  async putWorkPages(jobId: string, pages: ReadonlyArray<readonly [key: string, body: unknown]>) {
    const items = pages.map(([key, body]) => {
      const k = parseOrThrow(pageKey, key, 'work page key');
      const parsed = parseOrThrow(jsonValue, body, `work page ${k}`);
      assertFragmentSize(parsed, MAX_WORK_PAGE_BYTES, `work page ${k}`);
      return { jobId, sk: `${PAGE_PREFIX}${k}`, body: parsed };
    });
    await this.#batchWrite(items);
  }

  /** A page of work, read consistently, or undefined. */
  async getWorkPage(jobId: string, key: string): Promise<JsonValue | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { jobId, sk: `${PAGE_PREFIX}${key}` },
        ConsistentRead: true,
      }),
    );
    return Item?.body as JsonValue | undefined;
  }

  #item(jobId: string, target: string, result: NewResult, at: string): Record<string, unknown> {
    const id = parseOrThrow(targetId, target, 'target id');
    const parsed = parseOrThrow(resultSchema, result, `result for ${id}`);
    const stored: TargetResult = {
      ...parsed,
      at: parsed.at ?? at,
      ...(parsed.detail !== undefined ? { detail: redactValue(parsed.detail) } : {}),
      ...(parsed.error
        ? { error: { code: parsed.error.code, message: redactText(parsed.error.message) } }
        : {}),
    };
    assertFragmentSize(stored, MAX_RESULT_BYTES, `result for ${id}`);
    return { jobId, sk: `${RESULT_PREFIX}${id}`, target: id, ...stored };
  }

  async #batchWrite(items: Array<Record<string, unknown>>): Promise<void> {
    const chunks: Array<Array<Record<string, unknown>>> = [];
    for (let i = 0; i < items.length; i += BATCH_WRITE) chunks.push(items.slice(i, i + BATCH_WRITE));
    await inParallel(chunks, PARALLEL_BATCHES, async (chunk) => {
      let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt, 'BatchWriteItem');
        const { UnprocessedItems } = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    });
  }
}

/** Estimated size of a value once stored (for callers that cut work into pages). */
export function storedSize(value: unknown): number {
  return fragmentSizeBytes(value);
}

function toResult(item: Record<string, unknown>): StoredResult {
  const { jobId: _jobId, sk: _sk, ...result } = item;
  return result as unknown as StoredResult;
}

/** Unprocessed batch items mean throttling: wait (full jitter, capped) before the next try. */
function backoff(attempt: number, what: string): Promise<void> {
  if (attempt >= MAX_BATCH_TRIES)
    throw new Error(`${what}: items still unprocessed after ${MAX_BATCH_TRIES} tries (throttled)`);
  const ms = Math.random() * Math.min(2_000, 50 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
