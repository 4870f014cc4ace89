import { mkdirSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { guardAwsEndpoint, TEST_KEY_PAIR } from '../auth/aws-endpoint.ts';
import type { AwsKeyPair } from '../auth/sigv4.ts';

/**
 * dynalite in-process: the embedded DynamoDB of `fleetflow start`, the CLI and the tests.
 * Listens on 127.0.0.1 with a port the OS picks (its CLI would turn port 0 into 4567).
 * With `path` the tables persist in LevelDB under that folder (e.g. `.fleetflow/dynamo`);
 * LevelDB allows one process per folder, which is why `fleetflow start` publishes its endpoint.
 * As DynamoDB does, it answers only requests signed (Signature Version 4) by the one key pair it
 * accepts, with an allowed Host: dynalite itself checks that a signature is there, never that it
 * is right, so ../auth/aws-endpoint.ts checks it before dynalite sees the request.
 */

/** dynalite's own limit on a request body. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
type DynaliteFactory = (options: DynaliteOptions) => Server & { closeAllConnections?: () => void };

// dynalite is CommonJS without type declarations.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as DynaliteFactory;

interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
}
// The LevelDB class dynalite itself uses, resolved from dynalite so both always agree.
const { Level } = createRequire(require.resolve('dynalite'))('level') as {
  Level: new (path: string) => LevelDb;
};

/** The data folder is open in another process (LevelDB takes one writer per folder). */
export class DataFolderLockedError extends Error {
  override name = 'DataFolderLockedError';
  readonly hint =
    'stop the other fleetflow process, or point this one at its endpoint (<data-dir>/endpoints.json)';
  constructor(
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(`the DynamoDB data folder ${path} is in use by another process`, options);
  }
}

/**
 * dynalite opens LevelDB lazily and throws an uncatchable error from a callback when the folder
 * is locked, which would kill this process; opening it once here first turns that into an error.
 */
async function assertFolderFree(path: string): Promise<void> {
  const db = new Level(path);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') throw new DataFolderLockedError(path, { cause: error });
    throw error;
  }
  await db.close();
}

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  close(): Promise<void>;
}

export interface StartDynaliteOptions {
  /** Folder for the LevelDB files; in memory when absent. */
  path?: string;
  /** Port to listen on; 0 (default) lets the OS pick a free one. */
  port?: number;
  /** The one key pair accepted (`fleetflow start`: the data folder's); the tests' local/local pair when absent. */
  credentials?: AwsKeyPair;
  /** Host names answered besides loopback (`fleetflow start --allow-host`). */
  allowHosts?: readonly string[];
}

export async function startDynalite(options: StartDynaliteOptions = {}): Promise<LocalDynamo> {
  if (options.path) {
    mkdirSync(options.path, { recursive: true });
    await assertFolderFree(options.path);
  }
  const server = dynalite({
    ...(options.path ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  // dynalite's own handler now runs only behind the signature check.
  const [inner] = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on(
    'request',
    guardAwsEndpoint(inner!, {
      service: 'dynamodb',
      credentials: options.credentials ?? TEST_KEY_PAIR,
      ...(options.allowHosts && { allowHosts: options.allowHosts }),
      maxBodyBytes: MAX_REQUEST_BYTES,
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Idle keep-alive sockets from SDK clients would hold close() open.
        server.closeAllConnections?.();
      });
      return closed;
    },
  };
}
