import { type DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { redactValue } from '../providers/http/redact.ts';
import { sha256Canonical } from './canonical-json.ts';
import { isConditionalCheckFailed, isItemTooLarge } from './dynamo.ts';
import { AuditAppendConflictError, StoreValidationError } from './errors.ts';
import { decodeCursor, encodeCursor, type Page, type PageOptions, pageSize } from './pages.ts';
import {
  assertItemSize,
  identifier,
  isoTimestamp,
  type JsonValue,
  jsonValue,
  parseOrThrow,
  type Trigger,
  triggerSchema,
} from './schemas.ts';
import { AUDIT_BY_INSTANCE } from './tables.ts';

/**
 * The audit trail: append-only, hash-chained events.
 *
 * Chains: ONE CHAIN PER JOB — the chain id is the job id. Everything fleetflow does at a provider
 * happens inside a job, a job's events are mostly written one after another by its own workflow
 * (so appends rarely contend), and "verify this job" is one Query. Events are also indexed by
 * instance (GSI byInstance), and verifying an instance verifies every chain that touched it.
 *
 * Rule: event n of a chain stores `seq = n` and `prevHash` = the `hash` of event n-1 (64 zeros for
 * event 0); `hash` = SHA-256 of the canonical JSON of every stored attribute except `hash` itself.
 * An append is a PutItem conditioned on `attribute_not_exists(chain)`, so an event is never
 * overwritten and two writers can never both take seq n; the loser re-reads the head and retries.
 * No TransactWriteItems, so dynalite runs it too.
 *
 * What the chain cannot see on its own: an attacker with write access who rewrites an event AND
 * every later event of its chain, or who removes the newest events. Both need an anchor kept
 * elsewhere (e.g. the head hash signed and stored away from the table); see docs/data-model.md.
 */

export const GENESIS_HASH = '0'.repeat(64);
export const AUDIT_KINDS = ['intent', 'outcome', 'note'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export interface AuditEvent {
  chain: string;
  seq: number;
  /** intent: before a provider mutation; outcome: after it (points at its intent); note: anything else. */
  kind: AuditKind;
  jobId: string;
  trigger: Trigger;
  provider?: string;
  account?: string;
  location?: string;
  instanceId?: string;
  action: string;
  /** Redacted. */
  parameters?: JsonValue;
  /** Redacted. */
  result?: JsonValue;
  providerRequestId?: string;
  /** On an outcome: the seq of the intent it closes. */
  intentSeq?: number;
  at: string;
  prevHash: string;
  hash: string;
}

export interface AuditEventInput {
  kind: AuditKind;
  jobId: string;
  trigger: Trigger;
  provider?: string;
  account?: string;
  location?: string;
  instanceId?: string;
  action: string;
  parameters?: unknown;
  result?: unknown;
  providerRequestId?: string;
  intentSeq?: number;
  at?: string;
}

const short = z.string().min(1).max(256);
const eventInputSchema = z
  .strictObject({
    kind: z.enum(AUDIT_KINDS),
    jobId: identifier,
    trigger: triggerSchema,
    provider: z.string().min(1).max(64).optional(),
    account: short.optional(),
    location: short.optional(),
    instanceId: short.optional(),
    action: z.string().min(1).max(128),
    parameters: jsonValue.optional(),
    result: jsonValue.optional(),
    providerRequestId: short.optional(),
    intentSeq: z.number().int().min(0).optional(),
    at: isoTimestamp.optional(),
  })
  .refine((e) => (e.kind === 'outcome') === (e.intentSeq !== undefined), {
    message: 'an outcome needs intentSeq (the intent it closes), and only an outcome has one',
    path: ['intentSeq'],
  });

export type BrokenReason = 'missing' | 'altered' | 'broken-link';

export interface BrokenLink {
  chain: string;
  seq: number;
  reason: BrokenReason;
  detail: string;
}

export interface PendingIntent {
  chain: string;
  seq: number;
  action: string;
  instanceId?: string;
  provider?: string;
  at: string;
}

export interface VerifyReport {
  /** False as soon as one link is broken. */
  ok: boolean;
  /** Events checked. */
  checked: number;
  /** Chains walked. */
  chains: number;
  /** The first broken link, chains in name order and events in seq order. */
  firstBroken?: BrokenLink;
  /** Intents with no outcome: in flight, or a crash between the provider call and its outcome. */
  pendingIntents: PendingIntent[];
}

/** One job's chain, every chain that touched an instance, or (neither) every chain. */
export interface VerifyScope {
  jobId?: string;
  instanceId?: string;
}

export interface AuditLogOptions {
  now?: () => Date;
  /** Conditional-put attempts before giving up on a contended chain. */
  maxAttempts?: number;
}

export class AuditLog {
  readonly #now: () => Date;
  readonly #maxAttempts: number;
  /** Last head this instance saw per chain: sequential appends then cost one write, no read. */
  readonly #heads = new Map<string, { seq: number; hash: string }>();
  /** The last queued append per chain in this process. */
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    options: AuditLogOptions = {},
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#maxAttempts = options.maxAttempts ?? 100;
  }

  /**
   * Appends one event at the head of its job's chain and returns it as stored. Appends to one
   * chain from this process go one after another: concurrent ones (a fleet run's acts) would
   * otherwise race for the same seq and burn conditional-put retries; other writers are still
   * handled by the condition.
   */
  append(input: AuditEventInput): Promise<AuditEvent> {
    const chain = input.jobId;
    const run = (this.#tails.get(chain) ?? Promise.resolve()).then(() => this.#append(input));
    const tail = run.catch(() => undefined);
    this.#tails.set(chain, tail);
    void tail.then(() => {
      if (this.#tails.get(chain) === tail) this.#tails.delete(chain);
    });
    return run;
  }

  async #append(input: AuditEventInput): Promise<AuditEvent> {
    const parsed = parseOrThrow(eventInputSchema, input, 'audit event');
    const chain = parsed.jobId;
    const content = {
      ...parsed,
      at: parsed.at ?? this.#now().toISOString(),
      ...(parsed.parameters !== undefined ? { parameters: redactValue(parsed.parameters) } : {}),
      ...(parsed.result !== undefined ? { result: redactValue(parsed.result) } : {}),
    };
    let lastConflict: unknown;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const head = this.#heads.get(chain) ?? (await this.#readHead(chain));
      const unsigned = {
        ...content,
        chain,
        seq: head ? head.seq + 1 : 0,
        prevHash: head ? head.hash : GENESIS_HASH,
      };
      const event = { ...unsigned, hash: sha256Canonical(unsigned) } as AuditEvent;
      assertItemSize(event as unknown as Record<string, unknown>, `audit event for job ${chain}`);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: event,
            ConditionExpression: 'attribute_not_exists(chain)',
          }),
        );
        this.#heads.set(chain, { seq: event.seq, hash: event.hash });
        return event;
      } catch (error) {
        if (isItemTooLarge(error)) {
          throw new StoreValidationError(
            `audit event for job ${chain} is over DynamoDB's item size limit`,
            [],
            {
              cause: error,
            },
          );
        }
        if (!isConditionalCheckFailed(error)) throw error;
        // Another writer took this seq: forget the head, back off a little (full jitter), re-read.
        lastConflict = error;
        this.#heads.delete(chain);
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    }
    throw new AuditAppendConflictError(chain, this.#maxAttempts, { cause: lastConflict });
  }

  /** Appends the outcome of an intent: same job, trigger, provider, account, location, instance, action. */
  async appendOutcome(
    intent: AuditEvent,
    outcome: { result?: unknown; providerRequestId?: string; at?: string; trigger?: Trigger },
  ): Promise<AuditEvent> {
    if (intent.kind !== 'intent')
      throw new StoreValidationError(`event ${intent.chain}#${intent.seq} is not an intent`);
    const {
      chain: _c,
      seq,
      prevHash: _p,
      hash: _h,
      at: _a,
      kind: _k,
      parameters: _params,
      result: _r,
      ...same
    } = intent;
    return this.append({ ...same, ...outcome, kind: 'outcome', intentSeq: seq });
  }

  /** A job's events, newest first, one page at a time. */
  async byJob(
    jobId: string,
    page: PageOptions & { order?: 'newest' | 'oldest' } = {},
  ): Promise<Page<AuditEvent>> {
    const { Items, LastEvaluatedKey } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'chain = :chain',
        ExpressionAttributeValues: { ':chain': jobId },
        ScanIndexForward: page.order === 'oldest',
        Limit: pageSize(page.limit),
        ExclusiveStartKey: decodeCursor(page.cursor),
        ConsistentRead: true,
      }),
    );
    const cursor = encodeCursor(LastEvaluatedKey);
    return { items: (Items ?? []) as AuditEvent[], ...(cursor ? { cursor } : {}) };
  }

  /** An instance's events across all jobs, newest first, one page at a time. */
  async byInstance(instanceId: string, page: PageOptions = {}): Promise<Page<AuditEvent>> {
    const { Items, LastEvaluatedKey } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: AUDIT_BY_INSTANCE,
        KeyConditionExpression: 'instanceId = :id',
        ExpressionAttributeValues: { ':id': instanceId },
        ScanIndexForward: false,
        Limit: pageSize(page.limit),
        ExclusiveStartKey: decodeCursor(page.cursor),
      }),
    );
    const cursor = encodeCursor(LastEvaluatedKey);
    return { items: (Items ?? []) as AuditEvent[], ...(cursor ? { cursor } : {}) };
  }

  /** Every event of a chain in seq order (consistent reads), page after page. */
  async *chainEvents(chain: string): AsyncGenerator<Record<string, unknown>> {
    let cursor: string | undefined;
    do {
      const page = await this.byJob(chain, { order: 'oldest', limit: 500, ...(cursor ? { cursor } : {}) });
      yield* page.items as unknown as Array<Record<string, unknown>>;
      cursor = page.cursor;
    } while (cursor);
  }

  /** Intents of a job with no outcome pointing at them, oldest first. */
  async pendingIntents(jobId: string): Promise<PendingIntent[]> {
    const open = new Map<number, PendingIntent>();
    for await (const event of this.chainEvents(jobId)) collectIntent(open, event);
    return [...open.values()];
  }

  /**
   * Walks the chains in scope — one job's, every chain that touched an instance, or all — and
   * reports the first broken link: an altered event (hash mismatch), a removed one (seq gap) or a
   * reordered/replaced one (hash or prevHash mismatch).
   */
  async verify(scope: VerifyScope = {}): Promise<VerifyReport> {
    const chains = await this.#chainsIn(scope);
    const report: VerifyReport = { ok: true, checked: 0, chains: 0, pendingIntents: [] };
    for (const chain of chains) {
      report.chains++;
      const open = new Map<number, PendingIntent>();
      let expectedSeq = 0;
      let prevHash = GENESIS_HASH;
      for await (const event of this.chainEvents(chain)) {
        report.checked++;
        collectIntent(open, event);
        const broken = checkLink(chain, event, expectedSeq, prevHash);
        if (broken) {
          report.ok = false;
          report.firstBroken = broken;
          report.pendingIntents.push(...open.values());
          return report;
        }
        prevHash = event.hash as string;
        expectedSeq++;
      }
      report.pendingIntents.push(...open.values());
    }
    return report;
  }

  async #readHead(chain: string): Promise<{ seq: number; hash: string } | undefined> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'chain = :chain',
        ExpressionAttributeValues: { ':chain': chain },
        ProjectionExpression: 'seq, #hash',
        ExpressionAttributeNames: { '#hash': 'hash' },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const head = Items?.[0];
    return head ? { seq: head.seq as number, hash: head.hash as string } : undefined;
  }

  async #chainsIn(scope: VerifyScope): Promise<string[]> {
    if (scope.jobId !== undefined && scope.instanceId !== undefined) {
      throw new StoreValidationError('verify one job or one instance, not both');
    }
    if (scope.jobId !== undefined) return [scope.jobId];
    const chains = new Set<string>();
    let start: Record<string, unknown> | undefined;
    do {
      const { Items, LastEvaluatedKey } =
        scope.instanceId !== undefined
          ? await this.doc.send(
              new QueryCommand({
                TableName: this.tableName,
                IndexName: AUDIT_BY_INSTANCE,
                KeyConditionExpression: 'instanceId = :id',
                ExpressionAttributeValues: { ':id': scope.instanceId },
                ProjectionExpression: 'chain',
                ExclusiveStartKey: start,
              }),
            )
          : await this.doc.send(
              new ScanCommand({
                TableName: this.tableName,
                ProjectionExpression: 'chain',
                ExclusiveStartKey: start,
              }),
            );
      for (const item of Items ?? []) chains.add(item.chain as string);
      start = LastEvaluatedKey;
    } while (start);
    return [...chains].sort();
  }
}

/** The first problem with one event given what the chain so far says it must be, if any. */
function checkLink(
  chain: string,
  event: Record<string, unknown>,
  expectedSeq: number,
  prevHash: string,
): BrokenLink | undefined {
  const seq = event.seq as number;
  if (seq !== expectedSeq) {
    return {
      chain,
      seq: expectedSeq,
      reason: 'missing',
      detail:
        seq === expectedSeq + 1
          ? `event ${expectedSeq} is missing`
          : `events ${expectedSeq}..${seq - 1} are missing`,
    };
  }
  const { hash, ...unsigned } = event;
  let actual: string;
  try {
    actual = sha256Canonical(unsigned);
  } catch {
    actual = 'unhashable';
  }
  if (hash !== actual) {
    return { chain, seq, reason: 'altered', detail: 'the stored hash does not match the event content' };
  }
  if (event.prevHash !== prevHash) {
    return {
      chain,
      seq,
      reason: 'broken-link',
      detail: `prevHash does not match the hash of event ${seq - 1} (removed, replaced or reordered)`,
    };
  }
  return undefined;
}

function collectIntent(open: Map<number, PendingIntent>, event: Record<string, unknown>): void {
  const e = event as unknown as AuditEvent;
  if (e.kind === 'intent') {
    open.set(e.seq, {
      chain: e.chain,
      seq: e.seq,
      action: e.action,
      at: e.at,
      ...(e.instanceId ? { instanceId: e.instanceId } : {}),
      ...(e.provider ? { provider: e.provider } : {}),
    });
  } else if (e.kind === 'outcome' && e.intentSeq !== undefined) {
    open.delete(e.intentSeq);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
