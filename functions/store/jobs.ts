import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { redactText, redactValue } from '../shared/redact.ts';
import { canonicalJson } from './canonical-json.ts';
import { isConditionalCheckFailed, isItemTooLarge } from './dynamo.ts';
import {
  ExecutionConflictError,
  IllegalTransitionError,
  JobConflictError,
  JobNotFoundError,
  StoreValidationError,
} from './errors.ts';
import { decodeCursor, encodeCursor, type Page, type PageOptions, pageSize } from './pages.ts';
import { type NewResult, type ResultCounts, ResultStore, type TargetResult } from './results.ts';
import {
  assertFragmentSize,
  assertItemSize,
  type ErrorInfo,
  errorInfoSchema,
  identifier,
  isoTimestamp,
  type JsonValue,
  jsonValue,
  parseOrThrow,
  type Trigger,
  triggerSchema,
} from './schemas.ts';
import { JOB_RECORD_TYPE, JOBS_BY_STATUS, JOBS_BY_TIME, jobItemsTableFor } from './tables.ts';

export const JOB_STATUSES = [
  'QUEUED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'PARTIAL',
  'CANCELLED',
  'INTERRUPTED',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The only status changes a job may make; terminal statuses have none. */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  QUEUED: ['RUNNING', 'CANCELLED', 'FAILED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'PARTIAL', 'CANCELLED', 'INTERRUPTED'],
  SUCCEEDED: [],
  FAILED: [],
  PARTIAL: [],
  CANCELLED: [],
  INTERRUPTED: [],
};

export function isTerminal(status: JobStatus): boolean {
  return JOB_TRANSITIONS[status].length === 0;
}

export const STEP_STATUSES = ['STARTED', 'SUCCEEDED', 'FAILED', 'SKIPPED'] as const;
export { TARGET_RESULT_STATUSES, type TargetResult } from './results.ts';

/** A step is a line of the job's log; it is appended, never edited (a step that ends is appended again). */
export interface JobStep {
  name: string;
  status: (typeof STEP_STATUSES)[number];
  startedAt: string;
  endedAt?: string;
  detail?: JsonValue;
}

export interface Job {
  jobId: string;
  kind: string;
  trigger: Trigger;
  status: JobStatus;
  /** The request that created the job, secrets redacted. */
  request: JsonValue;
  steps: JobStep[];
  /**
   * The job's per-target results by status, counted from its result items when it ended (absent
   * while it runs). The results themselves are items of their own: `JobStore.results`.
   */
  counts?: ResultCounts;
  executionArn?: string;
  error?: ErrorInfo;
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
}

/**
 * A job as `GET /jobs/{id}` and `fleetflow jobs show` give it: with its first page of results
 * keyed by target id (at most `RESULTS_IN_VIEW`), and a cursor to the next page when there are more.
 */
export interface JobWithResults extends Job {
  results: Record<string, TargetResult>;
  resultsCursor?: string;
}

/** Results a job view carries; the rest are read page by page. */
export const RESULTS_IN_VIEW = 100;

export interface NewJob {
  jobId: string;
  kind: string;
  trigger: Trigger;
  request: unknown;
  createdAt?: string;
}

const newJobSchema = z.strictObject({
  jobId: identifier,
  kind: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'a lower-case word such as provision or power-schedule'),
  trigger: triggerSchema,
  request: jsonValue,
  createdAt: isoTimestamp.optional(),
});

const stepSchema = z.strictObject({
  name: z.string().min(1).max(128),
  status: z.enum(STEP_STATUSES),
  startedAt: isoTimestamp,
  endedAt: isoTimestamp.optional(),
  detail: jsonValue.optional(),
});

const countsSchema = z.strictObject({
  total: z.number().int().min(0),
  succeeded: z.number().int().min(0),
  failed: z.number().int().min(0),
  skipped: z.number().int().min(0),
  pending: z.number().int().min(0),
});

const transitionSchema = z.strictObject({
  error: errorInfoSchema.optional(),
  counts: countsSchema.optional(),
  executionArn: z.string().min(1).max(2048).optional(),
  at: isoTimestamp.optional(),
});

/** A step may take this much of the job's 400 KB; many of them must still fit. */
export const MAX_STEP_BYTES = 16 * 1024;
export { MAX_RESULT_BYTES } from './results.ts';

export interface JobStoreOptions {
  /** Clock, for tests that need distinct or fixed timestamps. */
  now?: () => Date;
}

export interface ListJobsQuery {
  /** Only jobs in this status (index byStatus); all jobs otherwise (index byTime). */
  status?: JobStatus;
  /** Newest first unless `oldest`. */
  order?: 'newest' | 'oldest';
}

/**
 * Jobs on DynamoDB: one item per job (status, steps, counts) in the jobs table, and what a job
 * holds many of (per-target results, work pages) as items of their own in the job-items table
 * (`results`). Every write is validated (zod, size) before it is sent and is safe to repeat:
 * create is idempotent by job id, a transition to the status a job already has is a no-op, a step
 * already appended is not appended twice, a target result overwrites itself.
 */
export class JobStore {
  readonly #now: () => Date;
  readonly tableName: string;
  /** The job's per-target results and work pages. */
  readonly results: ResultStore;

  /** `tables`: the jobs table's name (its job-items table is named after it) or both names. */
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    tables: string | { jobs: string; jobItems: string },
    options: JobStoreOptions = {},
  ) {
    this.#now = options.now ?? (() => new Date());
    this.tableName = typeof tables === 'string' ? tables : tables.jobs;
    const items = typeof tables === 'string' ? jobItemsTableFor(tables) : tables.jobItems;
    this.results = new ResultStore(doc, items, { now: this.#now });
  }

  /** Creates a QUEUED job; the same create repeated returns the stored job unchanged. */
  async create(input: NewJob): Promise<Job> {
    const parsed = parseOrThrow(newJobSchema, input, 'job');
    const createdAt = parsed.createdAt ?? this.#now().toISOString();
    const job: Job = {
      jobId: parsed.jobId,
      kind: parsed.kind,
      trigger: parsed.trigger,
      status: 'QUEUED',
      request: redactValue(parsed.request),
      steps: [],
      createdAt,
      updatedAt: createdAt,
    };
    const item = { ...job, recordType: JOB_RECORD_TYPE };
    assertItemSize(item, `job ${job.jobId}`);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(jobId)',
        }),
      );
      return job;
    } catch (error) {
      if (isItemTooLarge(error)) throw tooLarge(job.jobId, error);
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.get(job.jobId);
      if (!existing) throw error;
      const same =
        existing.kind === job.kind &&
        canonicalJson(existing.request) === canonicalJson(job.request) &&
        canonicalJson(existing.trigger) === canonicalJson(job.trigger);
      if (!same) throw new JobConflictError(job.jobId, { cause: error });
      return existing;
    }
  }

  /** The job, read consistently, or undefined. */
  async get(jobId: string): Promise<Job | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { jobId }, ConsistentRead: true }),
    );
    return Item ? toJob(Item) : undefined;
  }

  /**
   * The job with its first page of results (what GET /jobs/{id} shows), or undefined. Jobs
   * written before results had items of their own show the results they kept inline.
   */
  async view(jobId: string, options: { results?: number } = {}): Promise<JobWithResults | undefined> {
    const [{ Item }, page] = await Promise.all([
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { jobId }, ConsistentRead: true })),
      this.results.page(jobId, {}, { limit: options.results ?? RESULTS_IN_VIEW }),
    ]);
    if (!Item) return undefined;
    const legacy = Item.results as Record<string, TargetResult> | undefined;
    if (page.items.length === 0 && legacy) return { ...toJob(Item), results: legacy };
    return {
      ...toJob(Item),
      results: Object.fromEntries(page.items.map(({ target, ...r }) => [target, r])),
      ...(page.cursor && { resultsCursor: page.cursor }),
    };
  }

  /** The job, or JobNotFoundError. */
  async require(jobId: string): Promise<Job> {
    const job = await this.get(jobId);
    if (!job) throw new JobNotFoundError(jobId);
    return job;
  }

  /**
   * Moves a job to `to` if JOB_TRANSITIONS allows it from the status it has *in the table*
   * (a ConditionExpression, so two racing writers cannot both win). RUNNING needs an execution:
   * pass `executionArn` or set it first, so no job is RUNNING without an execution behind it.
   * Terminal statuses set `endedAt` and `counts`, counted from the job's result items unless the
   * caller just counted them. Repeating the transition a job already made returns it as is.
   */
  async transition(
    jobId: string,
    to: JobStatus,
    options: { error?: ErrorInfo; executionArn?: string; at?: string; counts?: ResultCounts } = {},
  ): Promise<Job> {
    if (!JOB_STATUSES.includes(to)) throw new StoreValidationError(`unknown job status ${String(to)}`);
    const parsed = parseOrThrow(transitionSchema, options, 'transition');
    const at = parsed.at ?? this.#now().toISOString();
    const from = JOB_STATUSES.filter((s) => JOB_TRANSITIONS[s].includes(to));
    if (from.length === 0) {
      // Nothing leads to `to` (QUEUED): only a job already there is a (no-op) success.
      const current = await this.require(jobId);
      if (current.status === to) return current;
      throw new IllegalTransitionError(jobId, current.status, to);
    }

    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':to': to, ':at': at };
    const sets = ['#status = :to', 'updatedAt = :at'];
    const conditions = ['attribute_exists(jobId)'];
    from.forEach((s, i) => {
      values[`:from${i}`] = s;
    });
    conditions.push(`#status IN (${from.map((_, i) => `:from${i}`).join(', ')})`);
    if (isTerminal(to)) {
      sets.push('endedAt = :at', 'counts = :counts');
      values[':counts'] = parsed.counts ?? (await this.results.counts(jobId));
    }
    if (parsed.error) {
      names['#error'] = 'error';
      values[':error'] = { code: parsed.error.code, message: redactText(parsed.error.message) };
      sets.push('#error = :error');
    }
    if (parsed.executionArn) {
      values[':arn'] = parsed.executionArn;
      sets.push('executionArn = :arn');
      conditions.push('(attribute_not_exists(executionArn) OR executionArn = :arn)');
    } else if (to === 'RUNNING') {
      conditions.push('attribute_exists(executionArn)');
    }

    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toJob(Attributes ?? {});
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.get(jobId);
      if (!current) throw new JobNotFoundError(jobId, { cause: error });
      if (parsed.executionArn && current.executionArn && current.executionArn !== parsed.executionArn) {
        throw new ExecutionConflictError(jobId, current.executionArn, { cause: error });
      }
      if (current.status === to) return current;
      if (to === 'RUNNING' && current.status === 'QUEUED' && !current.executionArn) {
        throw new IllegalTransitionError(jobId, current.status, to, 'no execution attached', {
          cause: error,
        });
      }
      throw new IllegalTransitionError(
        jobId,
        current.status,
        to,
        isTerminal(current.status) ? 'the job has finished' : undefined,
        { cause: error },
      );
    }
  }

  /**
   * Puts a job that ended without ever having had an execution (FAILED or INTERRUPTED, no
   * executionArn: it was accepted, then cut before it started) back to QUEUED, so its trigger can
   * start it after all. The only way out of a terminal status, and only for a job that did nothing;
   * a step records why. Reopening a job that is QUEUED already is a no-op.
   */
  async reopen(jobId: string, reason: string): Promise<Job> {
    const at = this.#now().toISOString();
    const step: JobStep = {
      name: 'reopen',
      status: 'SUCCEEDED',
      startedAt: at,
      endedAt: at,
      detail: { reason },
    };
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression:
            'SET #status = :queued, updatedAt = :at, steps = list_append(if_not_exists(steps, :empty), :step) REMOVE endedAt, #error',
          ConditionExpression:
            'attribute_exists(jobId) AND #status IN (:failed, :interrupted) AND attribute_not_exists(executionArn)',
          ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
          ExpressionAttributeValues: {
            ':queued': 'QUEUED',
            ':failed': 'FAILED',
            ':interrupted': 'INTERRUPTED',
            ':at': at,
            ':empty': [],
            ':step': [step],
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toJob(Attributes ?? {});
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.get(jobId);
      if (!current) throw new JobNotFoundError(jobId, { cause: error });
      if (current.status === 'QUEUED') return current;
      throw new IllegalTransitionError(
        jobId,
        current.status,
        'QUEUED',
        'only a job that never started can be reopened',
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Unbinds an execution that no longer exists from a job that is still QUEUED (it never ran a
   * step), so the job can be started again under its name. Only the given execution is removed.
   */
  async forgetExecution(jobId: string, executionArn: string): Promise<Job> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: 'SET updatedAt = :at REMOVE executionArn',
          ConditionExpression: 'attribute_exists(jobId) AND #status = :queued AND executionArn = :arn',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':queued': 'QUEUED',
            ':arn': executionArn,
            ':at': this.#now().toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toJob(Attributes ?? {});
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.require(jobId);
      if (current.status === 'QUEUED' && current.executionArn === undefined) return current;
      throw new ExecutionConflictError(jobId, current.executionArn ?? '?', { cause: error });
    }
  }

  /**
   * Every job item, read from the items themselves (a consistent Scan), never through an index: an
   * index may disagree with its items after a crash of a store that writes them apart (dynalite).
   * For recovery and checks; one page at a time, so a damaged part fails only where it is.
   */
  async *scanItems(options: { statuses?: JobStatus[]; pageSize?: number } = {}): AsyncGenerator<Job> {
    const statuses = options.statuses ?? [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          Limit: options.pageSize ?? 100,
          FilterExpression: [
            'recordType = :job',
            ...(statuses.length ? [`#status IN (${statuses.map((_, i) => `:s${i}`).join(', ')})`] : []),
          ].join(' AND '),
          ...(statuses.length && { ExpressionAttributeNames: { '#status': 'status' } }),
          ExpressionAttributeValues: {
            ':job': JOB_RECORD_TYPE,
            ...Object.fromEntries(statuses.map((s, i) => [`:s${i}`, s])),
          },
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      yield* (page.Items ?? []).map(toJob);
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** Binds the job to its Step Functions execution; once set it never changes to another one. */
  async setExecutionArn(jobId: string, executionArn: string): Promise<Job> {
    const arn = parseOrThrow(z.string().min(1).max(2048), executionArn, 'execution ARN');
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: 'SET executionArn = :arn, updatedAt = :at',
          ConditionExpression:
            'attribute_exists(jobId) AND (attribute_not_exists(executionArn) OR executionArn = :arn)',
          ExpressionAttributeValues: { ':arn': arn, ':at': this.#now().toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toJob(Attributes ?? {});
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.get(jobId);
      if (!current) throw new JobNotFoundError(jobId, { cause: error });
      throw new ExecutionConflictError(jobId, current.executionArn ?? '?', { cause: error });
    }
  }

  /**
   * Appends a step with list_append. A step is identified by name, startedAt and status, so a
   * retried call does not append it twice (a string set of those keys guards the append).
   */
  async appendStep(jobId: string, step: JobStep): Promise<Job> {
    const parsed = parseOrThrow(stepSchema, step, 'job step');
    const stored: JobStep = {
      ...parsed,
      ...(parsed.detail !== undefined ? { detail: redactValue(parsed.detail) } : {}),
    };
    assertFragmentSize(stored, MAX_STEP_BYTES, `step ${stored.name}`);
    const stepKey = `${stored.name}|${stored.startedAt}|${stored.status}`;
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression:
            'SET steps = list_append(if_not_exists(steps, :empty), :step), updatedAt = :at ADD stepKeys :keys',
          ConditionExpression: 'attribute_exists(jobId) AND NOT contains(stepKeys, :key)',
          ExpressionAttributeValues: {
            ':empty': [],
            ':step': [stored],
            ':at': this.#now().toISOString(),
            ':keys': new Set([stepKey]),
            ':key': stepKey,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toJob(Attributes ?? {});
    } catch (error) {
      if (isItemTooLarge(error)) throw tooLarge(jobId, error);
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.get(jobId);
      if (!current) throw new JobNotFoundError(jobId, { cause: error });
      return current; // the step is already there: a retried call
    }
  }

  /** Records (or replaces) the result for one target of an existing job. */
  async recordResult(jobId: string, targetId: string, result: NewResult): Promise<void> {
    await this.#mustExist(jobId);
    await this.results.record(jobId, targetId, result);
  }

  /**
   * Records many targets' results (a fleet run's thousands of instances) in batches, each checked
   * like recordResult's before anything is written.
   */
  async recordResults(
    jobId: string,
    results: ReadonlyArray<readonly [targetId: string, result: NewResult]>,
  ): Promise<void> {
    await this.#mustExist(jobId);
    await this.results.recordMany(jobId, results);
  }

  async #mustExist(jobId: string): Promise<void> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { jobId }, ProjectionExpression: 'jobId' }),
    );
    if (!Item) throw new JobNotFoundError(jobId);
  }

  /** One page of jobs, by status or all, newest first by default. */
  async list(query: ListJobsQuery = {}, page: PageOptions = {}): Promise<Page<Job>> {
    const limit = pageSize(page.limit);
    if (query.status !== undefined && !JOB_STATUSES.includes(query.status)) {
      throw new StoreValidationError(`unknown job status ${String(query.status)}`);
    }
    const byStatus = query.status !== undefined;
    const pk = byStatus ? 'status' : 'recordType';
    const pkValue = byStatus ? query.status : JOB_RECORD_TYPE;
    const start = decodeCursor(page.cursor, ['jobId', pk, 'createdAt']);
    // A cursor of another listing (another status) would be refused by DynamoDB: refuse it here.
    if (start && start[pk] !== pkValue)
      throw new StoreValidationError('invalid page cursor (from another listing)');
    const { Items, LastEvaluatedKey } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: byStatus ? JOBS_BY_STATUS : JOBS_BY_TIME,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': pk },
        ExpressionAttributeValues: { ':pk': pkValue },
        ScanIndexForward: query.order === 'oldest',
        Limit: limit,
        ExclusiveStartKey: start,
      }),
    );
    const cursor = encodeCursor(LastEvaluatedKey);
    return { items: (Items ?? []).map(toJob), ...(cursor ? { cursor } : {}) };
  }

  /** Every matching job, page after page. */
  async *listAll(query: ListJobsQuery = {}, options: { pageSize?: number } = {}): AsyncGenerator<Job> {
    let cursor: string | undefined;
    do {
      const page = await this.list(query, { limit: options.pageSize ?? 100, ...(cursor ? { cursor } : {}) });
      yield* page.items;
      cursor = page.cursor;
    } while (cursor);
  }
}

function tooLarge(jobId: string, cause: unknown): StoreValidationError {
  return new StoreValidationError(
    `job ${jobId} would exceed DynamoDB's item size limit; nothing was written`,
    [],
    {
      cause,
    },
  );
}

/** The stored item without its index and bookkeeping attributes (nor results kept inline by older versions). */
function toJob(item: Record<string, unknown>): Job {
  const { recordType: _recordType, stepKeys: _stepKeys, results: _results, ...job } = item;
  return job as unknown as Job;
}
