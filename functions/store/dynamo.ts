import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DIRECT_LINE_AUTH, DirectRequestHandler, directLineFor } from './direct.ts';
import { createTableInput, TABLES, type TableId, type TableNames } from './tables.ts';

/** Where DynamoDB is. Everything left out comes from the SDK's usual configuration (env, profile, role). */
export interface DynamoConfig {
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
}

/**
 * Settings for a local server, signing with the tests' key pair (local/local): DynamoDB Local takes
 * any, a dynalite started without a key pair of its own takes this one. `fleetflow start`'s dynalite
 * takes only its data folder's pair: override `credentials` for it.
 */
export function localDynamoConfig(endpoint: string): DynamoConfig {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}

export interface Dynamo {
  /** The low-level client, for table management. */
  client: DynamoDBClient;
  /** The document client every store uses. */
  doc: DynamoDBDocumentClient;
  /** Closes sockets so a process (or a test) can exit. */
  destroy(): void;
}

/** Builds the clients once; pass `doc` to JobStore, AuditLog and Idempotency. */
export function createDynamo(config: DynamoConfig = {}): Dynamo {
  const clientConfig: DynamoDBClientConfig = {};
  if (config.endpoint) clientConfig.endpoint = config.endpoint;
  if (config.region) clientConfig.region = config.region;
  if (config.credentials) clientConfig.credentials = config.credentials;
  if (config.maxAttempts) clientConfig.maxAttempts = config.maxAttempts;
  // A server in this process (the embedded runtime's dynalite) is reached without sockets or signatures.
  const line = directLineFor(config.endpoint);
  if (line) {
    clientConfig.requestHandler = new DirectRequestHandler(line) as DynamoDBClientConfig['requestHandler'];
    clientConfig.httpAuthSchemes = DIRECT_LINE_AUTH.schemes;
    clientConfig.httpAuthSchemeProvider = DIRECT_LINE_AUTH.provider;
  }
  const client = new DynamoDBClient(clientConfig);
  const doc = DynamoDBDocumentClient.from(client, {
    // Optional fields are left out rather than stored as NULL, which keeps the hashed audit form
    // identical to what is read back.
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return { client, doc, destroy: () => client.destroy() };
}

/**
 * Creates any missing table of the three and waits until each (and its indexes) is ACTIVE.
 * dynalite may report CREATING right after CreateTable even with createTableMs 0, hence the waiter.
 */
export async function ensureTables(
  client: DynamoDBClient,
  names: TableNames,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const ids = Object.keys(TABLES) as TableId[];
  await Promise.all(
    ids.map(async (id) => {
      // Described first: a table that is there is never created again (nor written to).
      try {
        await client.send(new DescribeTableCommand({ TableName: names[id] }));
        return;
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
      try {
        await client.send(new CreateTableCommand(createTableInput(TABLES[id], names[id])));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
    }),
  );
  await Promise.all(ids.map((id) => waitUntilActive(client, names[id], options.timeoutMs ?? 30_000)));
}

async function waitUntilActive(client: DynamoDBClient, tableName: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
      if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    } catch (error) {
      // Eventually consistent control plane: a table just created may not be described yet.
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`table ${tableName} did not become ACTIVE within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 500);
  }
}

/** True when the error is DynamoDB's refusal of a ConditionExpression. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** True when DynamoDB refused an item for exceeding its size limit. */
export function isItemTooLarge(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ValidationException' &&
    /item size|maximum allowed size/i.test(error.message)
  );
}

/**
 * True when DynamoDB failed on its side (a 5xx after the SDK's retries: InternalServerError,
 * ServiceUnavailable; locally also a damaged data file): the request was fine, the store could not
 * serve it now. HTTP handlers answer 503 for it rather than 500.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    error.name === 'InternalServerError' ||
    error.name === 'ServiceUnavailable' ||
    (typeof status === 'number' && status >= 500 && (error as { $fault?: string }).$fault === 'server')
  );
}
