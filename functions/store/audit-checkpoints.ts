import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_CHAIN, markerPartition } from './audit-chains.ts';
import { type AuditKeyring, type AuditKeySource, sameDigest } from './audit-keys.ts';
import { isConditionalCheckFailed } from './dynamo.ts';
import { AuditAppendConflictError } from './errors.ts';
import { assertItemSize } from './schemas.ts';

/**
 * Signed checkpoints, in the manner of CloudTrail's digest files: each one records the head (seq +
 * hash) of every chain that changed since the one before, names that one (its seq and signature),
 * and is signed with the checkpoint key. They form their own chain (`~checkpoint`, seq 0, 1, …).
 * A chain whose head a checkpoint recorded can no longer lose its newest events, vanish, or be
 * re-hashed without `verify` seeing it.
 *
 * Written when a job ends (its chains) and periodically (every chain marked as changed since the
 * last checkpoint). The first checkpoint ever ADOPTS every chain already in the table, including
 * chains written before chains were keyed, so from then on those are anchored too.
 */

export const CHECKPOINT_REASONS = ['adopt', 'periodic', 'job-end'] as const;
export type CheckpointReason = (typeof CHECKPOINT_REASONS)[number];

export interface CheckpointHead {
  chain: string;
  seq: number;
  hash: string;
  /** When the head event was written (the writer's clock). */
  at: string;
}

export interface Checkpoint {
  chain: typeof CHECKPOINT_CHAIN;
  seq: number;
  kind: 'checkpoint';
  reason: CheckpointReason;
  /** The job whose end this checkpoint marks. */
  jobId?: string;
  at: string;
  /** The checkpoint before this one; absent on checkpoint 0. */
  prev?: { seq: number; signature: string };
  heads: CheckpointHead[];
  keyId: string;
  signature: string;
}

/** Heads per checkpoint item: 400 long chain names still fit DynamoDB's 400 KB with room to spare. */
export const HEADS_PER_CHECKPOINT = 400;
/** How far the clocks of the machines that write events may disagree. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** How often the periodic checkpoint runs (the local timer and the AWS schedule). */
export const CHECKPOINT_INTERVAL_MS = 5 * 60_000;

/** What the checkpoint writer needs to know about chains (AuditLog implements it). */
export interface HeadReader {
  head(chain: string): Promise<CheckpointHead | undefined>;
  /** Every event chain's head, by a full scan: only for the first (adopting) checkpoint. */
  allHeads(): Promise<CheckpointHead[]>;
  /** Jobs (chain groups) marked as changed in the hour partitions given. */
  markedJobs(partitions: string[]): Promise<string[]>;
  /** The chains of a job that hold events (`thorough`: every possible sub-chain probed). */
  chainsOfJob(jobId: string, thorough?: boolean): Promise<string[]>;
}

export class Checkpoints {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly key: AuditKeySource,
    private readonly reader: HeadReader,
    private readonly now: () => Date,
  ) {}

  /** The keyring checkpoints are signed and verified with. */
  keyring(): Promise<AuditKeyring> {
    return this.key();
  }

  /**
   * The periodic checkpoint: every chain marked as changed since the last checkpoint (minus the
   * clock skew) whose head is past what the checkpoints of that window recorded. The very first
   * checkpoint adopts every chain in the table. Writes nothing when nothing changed.
   */
  async periodic(): Promise<Checkpoint[]> {
    await this.key(); // no key, no scan
    const latest = await this.latest();
    if (!latest) return this.#write('adopt', await this.reader.allHeads(), undefined, true);
    const since = Date.parse(latest.at) - CLOCK_SKEW_MS;
    const partitions: string[] = [];
    const hour = 3_600_000;
    for (let t = Math.floor(since / hour) * hour; t <= this.now().getTime(); t += hour) {
      partitions.push(markerPartition(new Date(t).toISOString()));
    }
    const chains: string[] = [];
    for (const job of await this.reader.markedJobs(partitions))
      chains.push(...(await this.reader.chainsOfJob(job, true)));
    // What the checkpoints of that window already recorded need not be recorded again.
    const recorded = new Map<string, number>();
    const sinceIso = new Date(since).toISOString();
    for await (const cp of this.from(await this.firstSeqSince(sinceIso, latest))) {
      for (const h of cp.heads) recorded.set(h.chain, Math.max(h.seq, recorded.get(h.chain) ?? -1));
    }
    const heads = await this.#heads(chains);
    return this.#write(
      'periodic',
      heads.filter((h) => h.seq > (recorded.get(h.chain) ?? -1)),
    );
  }

  /**
   * The checkpoint at a job's end: the head of each chain its root chain names (quick, while the
   * job's workflow is finishing); the periodic checkpoint probes for any its root does not name.
   */
  async forJob(jobId: string): Promise<Checkpoint[]> {
    await this.key();
    if (!(await this.latest())) await this.periodic(); // adopt first, so the job's end is not the genesis
    return this.#write('job-end', await this.#heads(await this.reader.chainsOfJob(jobId, false)), jobId);
  }

  async latest(): Promise<Checkpoint | undefined> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'chain = :c',
        ExpressionAttributeValues: { ':c': CHECKPOINT_CHAIN },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return Items?.[0] as Checkpoint | undefined;
  }

  async get(seq: number): Promise<Checkpoint | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { chain: CHECKPOINT_CHAIN, seq },
        ConsistentRead: true,
      }),
    );
    return Item as Checkpoint | undefined;
  }

  /** Checkpoints from `fromSeq` on, in order, page after page. */
  async *from(fromSeq = 0): AsyncGenerator<Checkpoint> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'chain = :c AND seq >= :s',
          ExpressionAttributeValues: { ':c': CHECKPOINT_CHAIN, ':s': fromSeq },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      yield* (page.Items ?? []) as Checkpoint[];
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /**
   * The seq of the first checkpoint written at or after `at` (minus the clock skew), found by
   * bisection (checkpoint times never go back): a scoped verify reads only from there.
   */
  async firstSeqSince(at: string, latest?: Checkpoint): Promise<number> {
    latest ??= await this.latest();
    if (!latest) return 0;
    const target = new Date(Date.parse(at) - CLOCK_SKEW_MS).toISOString();
    let lo = 0;
    let hi = latest.seq;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const cp = await this.get(mid);
      if (cp && cp.at >= target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  async #heads(chains: string[]): Promise<CheckpointHead[]> {
    const heads: CheckpointHead[] = [];
    // A few at a time: a big job has 33 chains, a busy hour a few thousand.
    for (let i = 0; i < chains.length; i += 16) {
      const found = await Promise.all(chains.slice(i, i + 16).map((c) => this.reader.head(c)));
      for (const h of found) if (h) heads.push(h);
    }
    return heads;
  }

  async #write(
    reason: CheckpointReason,
    heads: CheckpointHead[],
    jobId?: string,
    evenIfEmpty = false,
  ): Promise<Checkpoint[]> {
    if (heads.length === 0 && !evenIfEmpty) return [];
    const sorted = [...heads].sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0));
    const written: Checkpoint[] = [];
    for (let i = 0; i === 0 || i < sorted.length; i += HEADS_PER_CHECKPOINT) {
      written.push(await this.#writeOne(reason, sorted.slice(i, i + HEADS_PER_CHECKPOINT), jobId));
    }
    return written;
  }

  async #writeOne(reason: CheckpointReason, heads: CheckpointHead[], jobId?: string): Promise<Checkpoint> {
    const key = (await this.key()).current;
    let lastConflict: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      const latest = await this.latest();
      const now = this.now().toISOString();
      const unsigned = {
        chain: CHECKPOINT_CHAIN as typeof CHECKPOINT_CHAIN,
        seq: latest ? latest.seq + 1 : 0,
        kind: 'checkpoint' as const,
        reason,
        ...(jobId !== undefined && { jobId }),
        // Never before the previous one, so bisection by time stays sound.
        at: latest && latest.at > now ? latest.at : now,
        ...(latest && { prev: { seq: latest.seq, signature: latest.signature } }),
        heads,
        keyId: key.id,
      };
      const checkpoint: Checkpoint = { ...unsigned, signature: key.sign(unsigned) };
      assertItemSize(checkpoint as unknown as Record<string, unknown>, `checkpoint ${checkpoint.seq}`);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: checkpoint,
            ConditionExpression: 'attribute_not_exists(chain)',
          }),
        );
        return checkpoint;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        lastConflict = error; // another checkpoint took this seq: build on it
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 10 * 2 ** attempt)));
      }
    }
    throw new AuditAppendConflictError(CHECKPOINT_CHAIN, 20, { cause: lastConflict });
  }
}

/**
 * What is wrong with one checkpoint, if anything: its signature, and its link to the one before it
 * (`null`: it must be checkpoint 0; `undefined`: the one before was not read, the link is not checked).
 */
export function checkpointProblem(
  cp: Checkpoint,
  before: Checkpoint | null | undefined,
  ring: AuditKeyring,
): string | undefined {
  const { signature, ...unsigned } = cp;
  const key = ring.byId(cp.keyId);
  if (!key) return `signed with key ${cp.keyId}, which this verifier does not hold`;
  let actual: string;
  try {
    actual = key.sign(unsigned);
  } catch {
    return 'cannot be read as a checkpoint';
  }
  if (!sameDigest(signature, actual)) return 'its signature does not match its content';
  if (before === undefined) return undefined;
  if (before === null) {
    return cp.prev === undefined ? undefined : `names checkpoint ${cp.prev.seq} before it, which is gone`;
  }
  if (cp.prev?.seq !== before.seq || cp.prev.signature !== before.signature) {
    return `does not name checkpoint ${before.seq} as the one before it`;
  }
  return undefined;
}
