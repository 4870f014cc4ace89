import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The ONE definition of fleetflow's tables. The CDK data layer (infra/constructs/data-layer.ts), the
 * local runtime and the tests all build their tables from it, so a key schema cannot drift between
 * AWS and the embedded engine. Plain data only: no AWS SDK or CDK objects here.
 */

export type KeyType = 'S' | 'N';
export interface KeyAttribute {
  name: string;
  type: KeyType;
}
export interface IndexDefinition {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
}
export interface TableDefinition {
  id: TableId;
  /** Suffix of the physical name: `<prefix>-<suffix>`. */
  suffix: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  globalIndexes: IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry (DynamoDB TTL; enforced by conditions too). */
  ttlAttribute?: string;
  /** Append-only data that must survive a stack deletion. */
  protect: boolean;
  /** Short-lived data that must stay gone once deleted: no point-in-time recovery keeps a copy. */
  transient?: boolean;
}
export type TableId = 'jobs' | 'jobItems' | 'audit' | 'idempotency' | 'secrets';

/** GSI names, exported so queries and the construct use the same strings. */
export const JOBS_BY_STATUS = 'byStatus';
export const JOBS_BY_TIME = 'byTime';
export const AUDIT_BY_INSTANCE = 'byInstance';

/** Constant partition of the jobs-by-time index: every job carries it (see docs/data-model.md). */
export const JOB_RECORD_TYPE = 'job';

export const TABLES: Readonly<Record<TableId, TableDefinition>> = {
  jobs: {
    id: 'jobs',
    suffix: 'jobs',
    partitionKey: { name: 'jobId', type: 'S' },
    globalIndexes: [
      {
        indexName: JOBS_BY_STATUS,
        partitionKey: { name: 'status', type: 'S' },
        sortKey: { name: 'createdAt', type: 'S' },
      },
      {
        indexName: JOBS_BY_TIME,
        partitionKey: { name: 'recordType', type: 'S' },
        sortKey: { name: 'createdAt', type: 'S' },
      },
    ],
    protect: false,
  },
  jobItems: {
    id: 'jobItems',
    suffix: 'job-items',
    // What a job holds many of, one item each, so no job item grows with the fleet: its
    // per-target results (`r#<target>`) and the pages of work a run hands to its workflow
    // (`p#<page>`). One Query reads a job's results in order, page by page.
    partitionKey: { name: 'jobId', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [],
    protect: false,
  },
  audit: {
    id: 'audit',
    suffix: 'audit',
    // Chains per job (its root and its sub-chains `<job>#k`), checkpoints and change markers.
    partitionKey: { name: 'chain', type: 'S' },
    sortKey: { name: 'seq', type: 'N' },
    globalIndexes: [
      {
        indexName: AUDIT_BY_INSTANCE,
        partitionKey: { name: 'instanceId', type: 'S' },
        sortKey: { name: 'at', type: 'S' },
      },
    ],
    protect: true,
  },
  idempotency: {
    id: 'idempotency',
    suffix: 'idempotency',
    partitionKey: { name: 'id', type: 'S' },
    globalIndexes: [],
    ttlAttribute: 'expiresAt',
    protect: false,
  },
  // Sealed provisioning secrets, one item per job: ciphertext only, deleted when the job ends and
  // expiring by themselves (functions/secrets/store.ts).
  secrets: {
    id: 'secrets',
    suffix: 'secrets',
    partitionKey: { name: 'id', type: 'S' },
    globalIndexes: [],
    ttlAttribute: 'expiresAt',
    protect: false,
    transient: true,
  },
};

export const DEFAULT_TABLE_PREFIX = 'fleetflow';

export type TableNames = Record<TableId, string>;

/** Physical table names: `<prefix>-jobs`, `<prefix>-job-items`, `<prefix>-audit`, `<prefix>-idempotency`, `<prefix>-secrets`. */
export function tableNames(prefix: string = DEFAULT_TABLE_PREFIX): TableNames {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(prefix)) {
    throw new RangeError(`table prefix "${prefix}" must be 1-200 of A-Z a-z 0-9 _ . -`);
  }
  return Object.fromEntries(
    (Object.keys(TABLES) as TableId[]).map((id) => [id, `${prefix}-${TABLES[id].suffix}`]),
  ) as TableNames;
}

/** The job-items table that goes with a jobs table named by `tableNames` (`<prefix>-jobs`). */
export function jobItemsTableFor(jobsTable: string): string {
  const suffix = `-${TABLES.jobs.suffix}`;
  const prefix = jobsTable.endsWith(suffix) ? jobsTable.slice(0, -suffix.length) : jobsTable;
  return `${prefix}-${TABLES.jobItems.suffix}`;
}

/** Environment variables that carry the table names into Lambda functions. */
export const TABLE_ENV: Readonly<Record<TableId, string>> = {
  jobs: 'FLEETFLOW_JOBS_TABLE',
  jobItems: 'FLEETFLOW_JOB_ITEMS_TABLE',
  audit: 'FLEETFLOW_AUDIT_TABLE',
  idempotency: 'FLEETFLOW_IDEMPOTENCY_TABLE',
  secrets: 'FLEETFLOW_SECRETS_TABLE',
};

/** Table names from the environment (set by the data layer's `environment()`), else from a prefix. */
export function tableNamesFromEnv(env: NodeJS.ProcessEnv = process.env): TableNames {
  const fallback = tableNames(env.FLEETFLOW_TABLE_PREFIX || DEFAULT_TABLE_PREFIX);
  const jobs = env[TABLE_ENV.jobs] || fallback.jobs;
  return {
    jobs,
    // A jobs table named alone brings its items table with it.
    jobItems: env[TABLE_ENV.jobItems] || (env[TABLE_ENV.jobs] ? jobItemsTableFor(jobs) : fallback.jobItems),
    audit: env[TABLE_ENV.audit] || fallback.audit,
    idempotency: env[TABLE_ENV.idempotency] || fallback.idempotency,
    secrets: env[TABLE_ENV.secrets] || fallback.secrets,
  };
}

/** Every attribute used in a key of the table or one of its indexes, each once. */
export function keyAttributes(def: TableDefinition): KeyAttribute[] {
  const all = [
    def.partitionKey,
    def.sortKey,
    ...def.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  const seen = new Map<string, KeyAttribute>();
  for (const a of all) if (a && !seen.has(a.name)) seen.set(a.name, a);
  return [...seen.values()];
}

/** CreateTable input for one table (on-demand, every GSI projecting ALL). */
export function createTableInput(def: TableDefinition, tableName: string): CreateTableCommandInput {
  const keySchema = (pk: KeyAttribute, sk?: KeyAttribute) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes(def).map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    ...(def.globalIndexes.length > 0
      ? {
          GlobalSecondaryIndexes: def.globalIndexes.map((i) => ({
            IndexName: i.indexName,
            KeySchema: keySchema(i.partitionKey, i.sortKey),
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }
      : {}),
  };
}

/** CreateTable inputs for every table under one prefix. */
export function createTableInputs(names: TableNames): CreateTableCommandInput[] {
  return (Object.keys(TABLES) as TableId[]).map((id) => createTableInput(TABLES[id], names[id]));
}
