import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { sha256Canonical } from './canonical-json.ts';
import { isConditionalCheckFailed, isItemTooLarge } from './dynamo.ts';
import { IdempotencyInProgressError, IdempotencyMismatchError, StoreValidationError } from './errors.ts';
import { assertItemSize, jsonValue, parseOrThrow } from './schemas.ts';

/**
 * Idempotency records for the handlers that mutate providers (the same idea as Powertools'
 * idempotency utility, written for our tables and error types).
 *
 * begin()    claims the key with a conditional PutItem (INPROGRESS, with an in-progress expiry so
 *            a crashed invocation does not hold the key forever);
 * complete() stores the result (COMPLETED), which later begin() calls replay;
 * fail()     deletes an in-progress record so a retry runs the work again.
 *
 * A claim whose holder died (a crash, a killed Lambda) blocks duplicates until its in-progress
 * expiry; the next begin() then takes it over and is told so (`cutShort`), because the dead holder
 * may have done part of the work: a handler that acts on a provider looks before acting again.
 *
 * Expiry is enforced by the conditions, not by DynamoDB TTL (which deletes "within days" and
 * which dynalite does not run); the TTL attribute only keeps the table small on AWS.
 */

export type IdempotencyStatus = 'INPROGRESS' | 'COMPLETED';

/**
 * `started`: the caller holds the key now. `cutShort` says an earlier holder began the same work
 * (same payload) and never finished it: its effect may or may not have happened.
 */
export type BeginResult<T = unknown> =
  | { state: 'started'; cutShort?: { startedAt: string } }
  | { state: 'replay'; result: T };

/** An in-progress claim, as listed for recovery. */
export interface InProgressClaim {
  id: string;
  createdAt?: string;
  inProgressExpiresAt: number;
}

export interface IdempotencyTimes {
  /** How long a COMPLETED record is replayed (and the TTL of any record). Default 1 hour. */
  expiresInSeconds?: number;
  /** How long an INPROGRESS claim blocks duplicates before a new invocation may take over. Default 5 minutes. */
  inProgressMs?: number;
}

export interface IdempotencyOptions extends IdempotencyTimes {
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

const keySchema = z.string().min(1).max(1024);
const hashSchema = z.string().min(1).max(256);
const timesSchema = z.strictObject({
  expiresInSeconds: z
    .number()
    .int()
    .min(1)
    .max(366 * 24 * 3600)
    .optional(),
  inProgressMs: z
    .number()
    .int()
    .min(1)
    .max(24 * 3600 * 1000)
    .optional(),
});

interface StoredRecord {
  id: string;
  status: IdempotencyStatus;
  payloadHash: string;
  expiresAt: number;
  inProgressExpiresAt?: number;
  createdAt?: string;
  result?: unknown;
}

/** SHA-256 of the canonical JSON of a payload: equal payloads, equal hashes, whatever the key order. */
export function payloadHash(payload: unknown): string {
  try {
    return sha256Canonical(payload);
  } catch (error) {
    throw new StoreValidationError(`payload cannot be hashed: ${(error as Error).message}`, [], {
      cause: error,
    });
  }
}

export class Idempotency {
  readonly #now: () => number;
  readonly #defaults: Required<IdempotencyTimes>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    options: IdempotencyOptions = {},
  ) {
    const { now, ...defaults } = options;
    this.#now = now ?? Date.now;
    const times = parseOrThrow(timesSchema, defaults, 'idempotency options');
    this.#defaults = {
      expiresInSeconds: times.expiresInSeconds ?? 3600,
      inProgressMs: times.inProgressMs ?? 300_000,
    };
  }

  /**
   * Claims `key` for a payload. Returns `started` (do the work, then complete or fail) or `replay`
   * with the stored result. Throws IdempotencyMismatchError when the key was used with another
   * payload, IdempotencyInProgressError when another invocation holds it.
   */
  async begin<T = unknown>(key: string, hash: string, times: IdempotencyTimes = {}): Promise<BeginResult<T>> {
    parseOrThrow(keySchema, key, 'idempotency key');
    parseOrThrow(hashSchema, hash, 'payload hash');
    const t = { ...this.#defaults, ...parseOrThrow(timesSchema, times, 'idempotency times') };
    // A record that vanishes between the failed put and the read (fail() or expiry elsewhere) is retried.
    for (let attempt = 0; attempt < 3; attempt++) {
      const nowMs = this.#now();
      const nowS = Math.floor(nowMs / 1000);
      try {
        const { Attributes: old } = await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              id: key,
              status: 'INPROGRESS',
              payloadHash: hash,
              expiresAt: nowS + t.expiresInSeconds,
              inProgressExpiresAt: nowMs + t.inProgressMs,
              createdAt: new Date(nowMs).toISOString(),
            },
            ConditionExpression:
              'attribute_not_exists(id) OR expiresAt < :nowS OR (#status = :inprogress AND inProgressExpiresAt < :nowMs)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':nowS': nowS, ':nowMs': nowMs, ':inprogress': 'INPROGRESS' },
            // The record this put replaced, if any: a dead holder's claim on the same work.
            ReturnValues: 'ALL_OLD',
          }),
        );
        const cut = old as Partial<StoredRecord> | undefined;
        if (cut?.status === 'INPROGRESS' && cut.payloadHash === hash && (cut.expiresAt ?? 0) >= nowS) {
          return { state: 'started', cutShort: { startedAt: String(cut.createdAt ?? '') } };
        }
        return { state: 'started' };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        const existing = await this.#live(key);
        if (!existing) continue;
        if (existing.payloadHash !== hash) throw new IdempotencyMismatchError(key, { cause: error });
        if (existing.status === 'COMPLETED') return { state: 'replay', result: existing.result as T };
        throw new IdempotencyInProgressError(key, { cause: error });
      }
    }
    throw new IdempotencyInProgressError(key);
  }

  /** Stores the result of a started key; begin() replays it until it expires. */
  async complete(
    key: string,
    result: unknown,
    times: Pick<IdempotencyTimes, 'expiresInSeconds'> = {},
  ): Promise<void> {
    parseOrThrow(keySchema, key, 'idempotency key');
    if (result !== undefined) parseOrThrow(jsonValue, result, 'idempotent result');
    const t = { ...this.#defaults, ...parseOrThrow(timesSchema, times, 'idempotency times') };
    const expiresAt = Math.floor(this.#now() / 1000) + t.expiresInSeconds;
    // The whole record must fit: key, hash and timestamps are small, the result is what grows.
    assertItemSize(
      { id: key, status: 'COMPLETED', payloadHash: 'x'.repeat(256), expiresAt, result },
      'result',
    );
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: key },
          UpdateExpression:
            result === undefined
              ? 'SET #status = :completed, expiresAt = :exp REMOVE inProgressExpiresAt, #result'
              : 'SET #status = :completed, expiresAt = :exp, #result = :result REMOVE inProgressExpiresAt',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: { '#status': 'status', '#result': 'result' },
          ExpressionAttributeValues: {
            ':completed': 'COMPLETED',
            ':exp': expiresAt,
            ...(result === undefined ? {} : { ':result': result }),
          },
        }),
      );
    } catch (error) {
      if (isItemTooLarge(error)) {
        throw new StoreValidationError(`result for ${key} is over DynamoDB's item size limit`, [], {
          cause: error,
        });
      }
      if (isConditionalCheckFailed(error)) {
        throw new StoreValidationError(
          `idempotency key ${key} was never begun (or was failed): nothing to complete`,
          [],
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  /** Releases a started key after a failure so that a retry runs the work again. A completed key is kept. */
  async fail(key: string): Promise<void> {
    parseOrThrow(keySchema, key, 'idempotency key');
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { id: key },
          ConditionExpression: '#status = :inprogress',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inprogress': 'INPROGRESS' },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error; // absent or completed: nothing to release
    }
  }

  /**
   * begin(), but a key another invocation holds is waited for (up to `waitMs`, polling) instead of
   * refused at once: concurrent copies of one request get the first copy's result. Still in
   * progress after the wait: IdempotencyInProgressError.
   */
  async beginOrWait<T = unknown>(
    key: string,
    hash: string,
    times: IdempotencyTimes = {},
    waitMs = 5_000,
  ): Promise<BeginResult<T>> {
    const deadline = this.#now() + waitMs;
    let pause = 20;
    for (;;) {
      try {
        return await this.begin<T>(key, hash, times);
      } catch (error) {
        if (!(error instanceof IdempotencyInProgressError) || this.#now() + pause > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 250);
    }
  }

  /**
   * begin → fn → complete, or fail and rethrow: the whole protocol for a handler.
   * The key names the operation (e.g. the webhook id), the payload is what must not change under it.
   * `fn` learns whether an earlier holder was cut short (see BeginResult), so it can look before acting.
   */
  async run<T>(
    key: string,
    payload: unknown,
    fn: (begun: { cutShort?: { startedAt: string } }) => Promise<T>,
    times: IdempotencyTimes = {},
  ): Promise<T> {
    const started = await this.begin<T>(key, payloadHash(payload), times);
    if (started.state === 'replay') return started.result;
    let result: T;
    try {
      result = await fn(started.cutShort ? { cutShort: started.cutShort } : {});
    } catch (error) {
      await this.fail(key);
      throw error;
    }
    await this.complete(key, result, times);
    return result;
  }

  /** Every in-progress claim, read from the records themselves (a Scan). For recovery and doctor. */
  async *inProgress(): AsyncGenerator<InProgressClaim> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          FilterExpression: '#status = :inprogress',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inprogress': 'INPROGRESS' },
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const r = item as StoredRecord;
        yield {
          id: r.id,
          ...(r.createdAt && { createdAt: r.createdAt }),
          inProgressExpiresAt: r.inProgressExpiresAt ?? 0,
        };
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /**
   * Ends the in-progress window of a claim whose holder is known to be dead (the process that held
   * it is gone), so the next begin() takes it over at once and is told it was cut short. Only the
   * claim as it was seen is touched: one that completed or changed since is left alone.
   */
  async expireInProgress(claim: InProgressClaim): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: claim.id },
          UpdateExpression: 'SET inProgressExpiresAt = :zero',
          ConditionExpression: '#status = :inprogress AND inProgressExpiresAt = :seen',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':zero': 0,
            ':inprogress': 'INPROGRESS',
            ':seen': claim.inProgressExpiresAt,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** The record unless it is absent or expired (TTL may not have removed it yet). */
  async #live(key: string): Promise<StoredRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { id: key }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const record = Item as StoredRecord;
    const nowMs = this.#now();
    if (record.expiresAt < Math.floor(nowMs / 1000)) return undefined;
    if (record.status === 'INPROGRESS' && (record.inProgressExpiresAt ?? 0) < nowMs) return undefined;
    return record;
  }
}
