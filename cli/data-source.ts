import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { AuditLog } from '../functions/store/audit.ts';
import {
  createDynamo,
  type Dynamo,
  type DynamoConfig,
  ensureTables,
  localDynamoConfig,
} from '../functions/store/dynamo.ts';
import { JobStore } from '../functions/store/jobs.ts';
import { DEFAULT_TABLE_PREFIX, type TableNames, tableNames } from '../functions/store/tables.ts';
import { newKeyPair, readLocalKeyPair } from '../local/auth/data-folder.ts';
import { startDynalite } from '../local/store/dynalite.ts';
import { DATA_DIR_HELP, DEFAULT_DATA_DIR, ENDPOINTS_FILE, publishedEndpoints } from './running-start.ts';

export { DEFAULT_DATA_DIR, ENDPOINTS_FILE };

/**
 * Which DynamoDB a command reads, decided in one place:
 * 1. `--endpoint URL`: that server (on loopback: signed with the data folder's key pair, which a
 *    running start's dynalite requires, or a placeholder pair for another local server);
 * 2. `--table-prefix` / `--region`: a deployed stack, with the AWS SDK's usual configuration
 *    (environment, profile, SSO, role);
 * 3. otherwise the local data folder (`--data-dir`, default ./.fleetflow): the endpoint a running
 *    `fleetflow start` published in <data-dir>/endpoints.json if it answers (LevelDB admits one
 *    process per folder), signed with the key pair the start keeps in the folder; else the folder
 *    opened with an in-process dynalite that accepts a key pair made for this command only.
 */

/** dynalite's LevelDB folder inside the data folder. */
export const DYNAMO_FOLDER = 'dynamo';

export interface DataSourceOptions {
  dataDir?: string;
  tablePrefix?: string;
  region?: string;
  endpoint?: string;
}

export interface DataSource {
  dynamo: Dynamo;
  names: TableNames;
  jobs: JobStore;
  audit: AuditLog;
  /** Where the data comes from, for messages. */
  description: string;
  close(): Promise<void>;
}

/** No local data folder yet: nothing has run here. */
export class NoLocalDataError extends Error {
  override name = 'NoLocalDataError';
  readonly hint =
    'run `fleetflow start` first, pass --data-dir, or --table-prefix/--region for a deployed stack';
  constructor(readonly dataDir: string) {
    super(`no local data in ${dataDir}`);
  }
}

/** Adds --data-dir, --table-prefix, --region and --endpoint to a command. */
export function addDataSourceOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', DATA_DIR_HELP, DEFAULT_DATA_DIR)
    .option(
      '--table-prefix <prefix>',
      `deployed tables <prefix>-jobs|audit|idempotency (e.g. ${DEFAULT_TABLE_PREFIX})`,
    )
    .option('--region <region>', 'AWS region of the deployed tables')
    .option('--endpoint <url>', 'a DynamoDB endpoint to use instead');
}

export async function openDataSource(options: DataSourceOptions): Promise<DataSource> {
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  if (options.endpoint) {
    const loopback = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/?$/.test(options.endpoint);
    const folderPair = readLocalKeyPair(dataDir);
    const config: DynamoConfig = loopback
      ? { ...localDynamoConfig(options.endpoint), ...(folderPair && { credentials: folderPair }) }
      : { endpoint: options.endpoint, ...(options.region ? { region: options.region } : {}) };
    return wrap(createDynamo(config), tableNames(options.tablePrefix), options.endpoint, async () => {});
  }
  if (options.tablePrefix || options.region) {
    const prefix = options.tablePrefix ?? DEFAULT_TABLE_PREFIX;
    const dynamo = createDynamo(options.region ? { region: options.region } : {});
    return wrap(dynamo, tableNames(prefix), `DynamoDB tables ${prefix}-*`, async () => {});
  }

  const published = publishedEndpoints(dataDir);
  const pair = readLocalKeyPair(dataDir);
  if (published?.dynamodb && pair) {
    const dynamo = createDynamo({ ...localDynamoConfig(published.dynamodb), credentials: pair });
    if (await answers(dynamo)) {
      return wrap(
        dynamo,
        tableNames(published.tablePrefix),
        `fleetflow start at ${published.dynamodb}`,
        async () => {},
      );
    }
    dynamo.destroy(); // a stale file from a process that is gone: its folder is free again
  }
  const folder = join(dataDir, DYNAMO_FOLDER);
  if (!existsSync(folder)) throw new NoLocalDataError(dataDir);
  // Listening on loopback while the command runs: only this command can sign for it.
  const ownPair = newKeyPair();
  const local = await startDynalite({ path: folder, credentials: ownPair });
  const dynamo = createDynamo({ ...localDynamoConfig(local.endpoint), credentials: ownPair });
  const names = tableNames(published?.tablePrefix);
  try {
    await ensureTables(dynamo.client, names);
  } catch (error) {
    dynamo.destroy();
    await local.close();
    throw error;
  }
  return wrap(dynamo, names, folder, () => local.close());
}

/** Opens a data source, runs `fn`, and always closes it. */
export async function withDataSource<T>(
  options: DataSourceOptions,
  fn: (source: DataSource) => Promise<T>,
): Promise<T> {
  const source = await openDataSource(options);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

async function answers(dynamo: Dynamo): Promise<boolean> {
  try {
    await dynamo.client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(1500) });
    return true;
  } catch {
    return false;
  }
}

function wrap(dynamo: Dynamo, names: TableNames, description: string, stop: () => Promise<void>): DataSource {
  return {
    dynamo,
    names,
    jobs: new JobStore(dynamo.doc, names.jobs),
    audit: new AuditLog(dynamo.doc, names.audit),
    description,
    async close() {
      dynamo.destroy();
      await stop();
    },
  };
}
