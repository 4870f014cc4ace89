import { randomInt } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { redactValue } from '../shared/redact.ts';
import type { PendingIntent } from './audit-chains.ts';
import {
  AUDIT_KINDS,
  type AuditEvent,
  type AuditKind,
  chainsForJob,
  GENESIS_HASH,
  IntentTracker,
  isInternalChain,
  jobOfChain,
  LINK_ACTION,
  markerPartition,
  markerSeq,
  SUB_CHAINS,
} from './audit-chains.ts';
import { type CheckpointHead, Checkpoints, type HeadReader } from './audit-checkpoints.ts';
import { type AuditKeyring, type AuditKeySource, noAuditKey } from './audit-keys.ts';
import {
  type ChainReader,
  type VerifyOptions,
  type VerifyReport,
  type VerifyScope,
  verifyAudit,
} from './audit-verify.ts';
import { isConditionalCheckFailed, isItemTooLarge } from './dynamo.ts';
import { AuditAppendConflictError, StoreValidationError } from './errors.ts';
import {
  decodeCursor,
  decodeCursorObject,
  encodeCursor,
  type Page,
  type PageOptions,
  pageSize,
} from './pages.ts';
import {
  assertItemSize,
  identifier,
  isoTimestamp,
  jsonValue,
  parseOrThrow,
  type Trigger,
  triggerSchema,
} from './schemas.ts';
import { AUDIT_BY_INSTANCE } from './tables.ts';

export type { AuditEvent, AuditKind, PendingIntent } from './audit-chains.ts';
export { AUDIT_KINDS, GENESIS_HASH } from './audit-chains.ts';
export type {
  BrokenLink,
  BrokenReason,
  ChainReport,
  VerifyReport,
  VerifyScope,
} from './audit-verify.ts';

/**
 * The audit trail: append-only, hash-chained events, keyed and checkpointed.
 *
 * Chains: a job's events are spread over its ROOT chain (events with no instance, plus one note
 * linking each sub-chain) and up to SUB_CHAINS sub-chains, one lane per writing process, so a
 * fleet run's concurrent writers do not queue on one chain head; `byJob` merges them back in time
 * order and `byInstance` reads the instance index (audit-chains.ts has the layout).
 *
 * Rule: event n of a chain stores `seq = n` and `prevHash` = the `hash` of event n-1 (64 zeros for
 * event 0); `hash` = HMAC-SHA256, under the chain key named by `keyId`, of the canonical JSON of
 * every stored attribute except `hash` itself. Without the key a rewritten event cannot be given
 * a valid hash. An append is a PutItem conditioned on `attribute_not_exists(chain)`, so an event
 * is never overwritten and two writers can never both take seq n; the loser re-reads the head and
 * retries. No TransactWriteItems, so dynalite runs it too.
 *
 * What a chain cannot see on its own — its newest events removed, or the whole chain — is caught
 * by the signed checkpoints (audit-checkpoints.ts) and by `verify` (audit-verify.ts).
 */

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
  intentChain?: string;
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
    intentChain: z.string().min(1).max(300).optional(),
    at: isoTimestamp.optional(),
  })
  .refine((e) => (e.kind === 'outcome') === (e.intentSeq !== undefined), {
    message: 'an outcome needs intentSeq (the intent it closes), and only an outcome has one',
    path: ['intentSeq'],
  })
  .refine((e) => e.intentChain === undefined || e.intentSeq !== undefined, {
    message: 'only an outcome names the chain of its intent',
    path: ['intentChain'],
  });
type ParsedInput = z.output<typeof eventInputSchema>;

export interface AuditLogOptions {
  now?: () => Date;
  /** Conditional-put attempts before giving up on a contended chain. */
  maxAttempts?: number;
  /** The chain key: appends and verify need it; reads do not. */
  key?: AuditKeySource;
  /** The checkpoint key: writing checkpoints and verify need it. */
  checkpointKey?: AuditKeySource;
}

const PROJECT_HEAD = {
  ProjectionExpression: '#c, #s, #h, #a',
  ExpressionAttributeNames: { '#c': 'chain', '#s': 'seq', '#h': 'hash', '#a': 'at' },
};

export class AuditLog implements HeadReader, ChainReader {
  readonly checkpoints: Checkpoints;
  /** Appends written and conditional puts lost to another writer, since this log was made. */
  readonly stats = { appends: 0, conflicts: 0 };
  readonly #now: () => Date;
  readonly #maxAttempts: number;
  readonly #key: AuditKeySource;
  /** Last head this instance saw per chain: sequential appends then cost one write, no read. */
  readonly #heads = new Map<string, { seq: number; hash: string }>();
  /** The last queued append per chain in this process. */
  readonly #tails = new Map<string, Promise<unknown>>();
  /** `<marker partition>|<job>` already marked by this process. */
  readonly #marked = new Set<string>();
  /** Chains another process appended to lately: their head is read before each append. */
  readonly #shared = new Set<string>();
  #laneOffset = randomInt(SUB_CHAINS);

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    options: AuditLogOptions = {},
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#maxAttempts = options.maxAttempts ?? 100;
    this.#key = options.key ?? noAuditKey('chain', 'this audit log was opened to read only');
    this.checkpoints = new Checkpoints(
      doc,
      tableName,
      options.checkpointKey ?? noAuditKey('checkpoint', 'this audit log was opened to read only'),
      this,
      this.#now,
    );
  }

  /** The chain keyring (fails with AuditKeyError when this log has none). */
  keyring(): Promise<AuditKeyring> {
    return this.#key();
  }

  /**
   * Appends one event at the head of its chain (the job's root; for an event about an instance,
   * this process's lane of the job's sub-chains) and returns it as stored. Appends to one chain from this process go one after another: concurrent
   * ones would otherwise race for the same seq and burn conditional-put retries; other writers are
   * still handled by the condition.
   */
  async append(input: AuditEventInput): Promise<AuditEvent> {
    const parsed = parseOrThrow(eventInputSchema, input, 'audit event');
    // An event about an instance may go to any lane, and moves to another when it meets a writer.
    const movable = parsed.instanceId !== undefined;
    const chain = movable ? this.#lane(parsed.jobId) : parsed.jobId;
    return this.#enqueue(chain, () => this.#write(chain, parsed, movable));
  }

  /**
   * Appends the outcome of an intent, in the intent's own chain: same job, trigger, provider,
   * account, location, instance, action.
   */
  async appendOutcome(
    intent: AuditEvent,
    outcome: { result?: unknown; providerRequestId?: string; at?: string; trigger?: Trigger },
  ): Promise<AuditEvent> {
    if (intent.kind !== 'intent' || typeof intent.chain !== 'string')
      throw new StoreValidationError(`event ${intent.chain}#${intent.seq} is not an intent`);
    const {
      chain,
      seq,
      intentChain: _ic,
      prevHash: _p,
      hash: _h,
      keyId: _k,
      at: _a,
      kind: _kind,
      parameters: _params,
      result: _r,
      ...same
    } = intent;
    const parsed = parseOrThrow(
      eventInputSchema,
      { ...same, ...outcome, kind: 'outcome', intentSeq: seq },
      'audit event',
    );
    // Next to its intent when that chain is free; if another writer holds it, in this writer's lane.
    return this.#enqueue(chain, () => this.#write(chain, parsed, jobOfChain(chain) !== chain));
  }

  /**
   * The sub-chain for an instance event: this process's first lane of the job that has nothing
   * queued. Lanes start at a random offset per process, so concurrent writers (Lambda containers)
   * mostly write different chains, and one process's concurrent appends (the local runtime) never
   * queue behind each other.
   */
  #lane(jobId: string): string {
    for (let i = 0; i < SUB_CHAINS; i++) {
      const chain = `${jobId}#${(this.#laneOffset + i) % SUB_CHAINS}`;
      if (!this.#tails.has(chain)) return chain;
    }
    return `${jobId}#${(this.#laneOffset + this.stats.appends) % SUB_CHAINS}`;
  }

  #enqueue<T>(chain: string, run: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(chain) ?? Promise.resolve()).then(run);
    const tail = result.catch(() => undefined);
    this.#tails.set(chain, tail);
    void tail.then(() => {
      if (this.#tails.get(chain) === tail) this.#tails.delete(chain);
    });
    return result;
  }

  async #write(first: string, parsed: ParsedInput, movable = false): Promise<AuditEvent> {
    let chain = first;
    const key = (await this.#key()).current;
    let content: ParsedInput & { at: string } = {
      ...parsed,
      at: parsed.at ?? this.#now().toISOString(),
      ...(parsed.parameters !== undefined ? { parameters: redactValue(parsed.parameters) } : {}),
      ...(parsed.result !== undefined ? { result: redactValue(parsed.result) } : {}),
    };
    await this.#mark(parsed.jobId, content.at);
    let lastConflict: unknown;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const cached = this.#heads.get(chain);
      // Other processes write this chain too (it conflicted lately): a read costs less than a lost put.
      const head = cached && !this.#shared.has(chain) ? cached : await this.head(chain);
      if (cached && head && this.#shared.has(chain) && head.seq === cached.seq) this.#shared.delete(chain);
      const unsigned = {
        ...content,
        chain,
        seq: head ? head.seq + 1 : 0,
        prevHash: head ? head.hash : GENESIS_HASH,
        keyId: key.id,
      };
      const event = { ...unsigned, hash: key.sign(unsigned) } as AuditEvent;
      assertItemSize(event as unknown as Record<string, unknown>, `audit event for job ${parsed.jobId}`);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: event,
            ConditionExpression: 'attribute_not_exists(chain)',
          }),
        );
      } catch (error) {
        if (isItemTooLarge(error)) {
          throw new StoreValidationError(
            `audit event for job ${parsed.jobId} is over DynamoDB's item size limit`,
            [],
            { cause: error },
          );
        }
        if (!isConditionalCheckFailed(error)) throw error;
        // Another writer took this seq: forget the head, back off a little (full jitter), re-read.
        lastConflict = error;
        this.stats.conflicts++;
        this.#heads.delete(chain);
        if (this.#shared.size > 10_000) this.#shared.clear();
        this.#shared.add(chain);
        // Another process writes this lane: this process moves to another one, and so does this
        // event unless its chain is fixed (an outcome goes where its intent is). Staying would let
        // the other writer, whose head is cached, win every round.
        if (chain.startsWith(`${parsed.jobId}#`)) this.#laneOffset = randomInt(SUB_CHAINS);
        if (movable) {
          chain = this.#lane(parsed.jobId);
          // An outcome away from its intent says where the intent is.
          content = { ...content, ...(parsed.kind === 'outcome' && { intentChain: first }) };
          if (chain === first) content = { ...content, intentChain: undefined };
        }
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
        continue;
      }
      this.#heads.set(chain, { seq: event.seq, hash: event.hash });
      this.stats.appends++;
      if (event.seq === 0 && chain !== parsed.jobId) await this.#link(chain, event);
      return event;
    }
    throw new AuditAppendConflictError(chain, this.#maxAttempts, { cause: lastConflict });
  }

  /**
   * The writer that opened a sub-chain names it, with its first hash, in the job's root chain:
   * deleting the whole sub-chain then breaks a keyed link. Written after the sub-chain's first
   * event, so a link never names a chain that was never written. If this note fails, the event
   * itself stands (a retry would duplicate it); verify then reports the sub-chain as unlinked.
   */
  async #link(subChain: string, first: AuditEvent): Promise<void> {
    const note = parseOrThrow(
      eventInputSchema,
      {
        kind: 'note',
        jobId: first.jobId,
        trigger: first.trigger,
        action: LINK_ACTION,
        parameters: { chain: subChain, first: first.hash },
      },
      'audit link',
    );
    await this.#enqueue(first.jobId, () => this.#write(first.jobId, note)).catch(() => undefined);
  }

  /**
   * Marks a job (all its chains) as changed this hour, once per process, before its event is
   * written: the periodic checkpoint reads the heads of marked jobs' chains.
   */
  async #mark(jobId: string, at: string): Promise<void> {
    const partition = markerPartition(at);
    const seen = `${partition}|${jobId}`;
    if (this.#marked.has(seen)) return;
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { chain: partition, seq: markerSeq(jobId), name: jobId },
      }),
    );
    if (this.#marked.size > 10_000) this.#marked.clear();
    this.#marked.add(seen);
  }

  /**
   * A job's events across its chains, in time order (newest first unless `order: 'oldest'`), one
   * page at a time. The cursor keeps each chain's position, so a page never skips or repeats.
   */
  async byJob(
    jobId: string,
    page: PageOptions & { order?: 'newest' | 'oldest' } = {},
  ): Promise<Page<AuditEvent>> {
    const newest = page.order !== 'oldest';
    const limit = pageSize(page.limit);
    const state = page.cursor ? jobCursor(decodeCursorObject(page.cursor), jobId) : undefined;
    const chains = state?.chains ?? (await this.chainsOfJob(jobId, false));
    const positions = state?.positions ?? {};
    const lists = await Promise.all(
      chains.map(async (chain) => {
        const pos = positions[chain];
        const { Items } = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression:
              pos === undefined ? 'chain = :c' : `chain = :c AND seq ${newest ? '<' : '>'} :p`,
            ExpressionAttributeValues: { ':c': chain, ...(pos !== undefined && { ':p': pos }) },
            ScanIndexForward: !newest,
            Limit: limit,
            ConsistentRead: true,
          }),
        );
        const items = (Items ?? []) as AuditEvent[];
        return { chain, items, more: items.length === limit };
      }),
    );
    // k-way merge: each chain stays in seq order; across chains, by time (then chain name).
    const out: AuditEvent[] = [];
    const next = new Map(lists.map((l) => [l.chain, 0]));
    while (out.length < limit) {
      let best: { chain: string; event: AuditEvent } | undefined;
      for (const l of lists) {
        const event = l.items[next.get(l.chain)!];
        if (!event) continue;
        if (!best || earlier(event, best.event) !== newest) best = { chain: l.chain, event };
      }
      if (!best) break;
      out.push(best.event);
      next.set(best.chain, next.get(best.chain)! + 1);
    }
    const left = lists.filter((l) => l.more || next.get(l.chain)! < l.items.length);
    if (left.length === 0) return { items: out };
    const moved = { ...positions };
    for (const l of lists) {
      const used = next.get(l.chain)!;
      if (used > 0) moved[l.chain] = l.items[used - 1]!.seq;
    }
    const cursor = encodeCursor({
      job: jobId,
      chains: left.map((l) => l.chain),
      positions: Object.fromEntries(left.map((l) => [l.chain, moved[l.chain]])),
    });
    return { items: out, ...(cursor && { cursor }) };
  }

  /** Every event of a job, oldest first, across its chains. */
  async *jobEvents(jobId: string): AsyncGenerator<AuditEvent> {
    let cursor: string | undefined;
    do {
      const page = await this.byJob(jobId, { order: 'oldest', limit: 500, ...(cursor && { cursor }) });
      yield* page.items;
      cursor = page.cursor;
    } while (cursor);
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

  /** Every event of ONE chain in seq order (consistent reads), page after page. */
  async *chainEvents(chain: string): AsyncGenerator<Record<string, unknown>> {
    yield* this.#query({
      KeyConditionExpression: 'chain = :chain',
      ExpressionAttributeValues: { ':chain': chain },
      ConsistentRead: true,
    });
  }

  /** Intents of a job with no outcome pointing at them, oldest first. */
  async pendingIntents(jobId: string): Promise<PendingIntent[]> {
    const intents = new IntentTracker();
    for (const chain of await this.chainsOfJob(jobId, false)) {
      for await (const event of this.chainEvents(chain)) intents.add(event);
    }
    return intents.open();
  }

  /**
   * Walks the chains in scope — one job's, every chain that touched an instance, or all — and
   * checks each against the keys and the signed checkpoints; reports every broken chain.
   */
  verify(scope: VerifyScope = {}, options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyAudit(this, scope, options);
  }

  // ---- what checkpoints and verify read ------------------------------------------------------

  async head(chain: string): Promise<CheckpointHead | undefined> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#c = :chain',
        ExpressionAttributeValues: { ':chain': chain },
        ...PROJECT_HEAD,
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return Items?.[0] as CheckpointHead | undefined;
  }

  async allHeads(): Promise<CheckpointHead[]> {
    const heads = new Map<string, CheckpointHead>();
    for await (const item of this.#scan(PROJECT_HEAD)) {
      const h = item as unknown as CheckpointHead;
      if (isInternalChain(h.chain)) continue;
      const known = heads.get(h.chain);
      if (!known || known.seq < h.seq) heads.set(h.chain, h);
    }
    return [...heads.values()];
  }

  async markedJobs(partitions: string[]): Promise<string[]> {
    const chains = new Set<string>();
    for (const partition of partitions) {
      for await (const item of this.#query({
        KeyConditionExpression: 'chain = :p',
        ExpressionAttributeValues: { ':p': partition },
        ProjectionExpression: '#n',
        ExpressionAttributeNames: { '#n': 'name' },
      })) {
        chains.add(item.name as string);
      }
    }
    return [...chains].sort();
  }

  /**
   * The chains of a job that hold events. Quick (listing, a job's verify, its end's checkpoint): its
   * root chain and the sub-chains the root names — one small read. Thorough (the periodic
   * checkpoint): every possible sub-chain probed as well, which also finds one whose writer stopped
   * before naming it.
   */
  async chainsOfJob(jobId: string, thorough = true): Promise<string[]> {
    const found = new Set<string>();
    for await (const e of this.chainEvents(jobId)) {
      found.add(jobId);
      const p = e.parameters as { chain?: unknown } | undefined;
      if (e.action === LINK_ACTION && typeof p?.chain === 'string' && p.chain.startsWith(`${jobId}#`)) {
        found.add(p.chain);
      }
    }
    if (thorough) {
      const probed = await Promise.all(
        chainsForJob(jobId).map(async (chain) =>
          !found.has(chain) && (await this.head(chain)) ? chain : '',
        ),
      );
      for (const chain of probed) if (chain) found.add(chain);
    }
    return [...found];
  }

  async chainsOfInstance(instanceId: string): Promise<string[]> {
    const chains = new Set<string>();
    for await (const item of this.#query({
      IndexName: AUDIT_BY_INSTANCE,
      KeyConditionExpression: 'instanceId = :id',
      ExpressionAttributeValues: { ':id': instanceId },
      ProjectionExpression: 'chain',
    })) {
      chains.add(item.chain as string);
    }
    return [...chains].sort();
  }

  async allChains(): Promise<string[]> {
    const chains = new Set<string>();
    for await (const item of this.#scan({ ProjectionExpression: 'chain' })) {
      if (!isInternalChain(item.chain as string)) chains.add(item.chain as string);
    }
    return [...chains].sort();
  }

  async *#query(input: Omit<QueryCommandInput, 'TableName'>): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, ...input, ExclusiveStartKey: start }),
      );
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start);
  }

  async *#scan(input: {
    ProjectionExpression: string;
    ExpressionAttributeNames?: Record<string, string>;
  }): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({ TableName: this.tableName, ...input, ExclusiveStartKey: start }),
      );
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start);
  }
}

/** True when `a` comes before `b` in time (ties: by chain, then seq). */
function earlier(a: AuditEvent, b: AuditEvent): boolean {
  if (a.at !== b.at) return a.at < b.at;
  if (a.chain !== b.chain) return a.chain < b.chain;
  return a.seq < b.seq;
}

function jobCursor(
  raw: Record<string, unknown> | undefined,
  jobId: string,
): { chains: string[]; positions: Record<string, number> } {
  const parsed = z
    .object({
      job: z.literal(jobId),
      chains: z.array(z.string()).max(chainsForJob(jobId).length),
      positions: z.record(z.string(), z.number().int().min(0)),
    })
    .safeParse(raw);
  const allowed = new Set(chainsForJob(jobId));
  if (!parsed.success || !parsed.data.chains.every((c) => allowed.has(c))) {
    throw new StoreValidationError('invalid page cursor for this job');
  }
  return parsed.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
